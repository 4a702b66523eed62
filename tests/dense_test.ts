/**
 * dense, every backend, in one file:
 * - cpu: `cpu/dense.ts` in float64: a hand example in the tutorial's (n_in, n_out) layout and
 *   finite-difference gradient checks;
 * - webgpu: the dense kernels against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter;
 * - native: the dense stage (+ fused activation) against `cpu/`; ignored where no CBLAS loads.
 */
import assert from "node:assert/strict";
import { denseBackward, denseForward, type DenseShape } from "../cpu/dense.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import { DenseStage } from "../src/backends/native/dense.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { act, actBack, blas, BWD, FWD, ignore, rand } from "./_native.ts";

// ---------------- cpu: cpu/dense.ts in float64

// Tests of cpu/dense.ts: a hand example in the tutorial's (n_in, n_out) layout, and float64
// finite-difference gradient checks.

Deno.test("denseForward: hand example, W is [inFeatures, outFeatures]", () => {
  // x = [[1, 2, 3], [-1, 0, 1]], W = [[1, 0], [0, 1], [1, 1]], b = [0.5, -0.5]
  // row 0: [1 + 3, 2 + 3] + b = [4.5, 4.5];  row 1: [-1 + 1, 0 + 1] + b = [0.5, 0.5]
  const out = new Float64Array(4);
  denseForward(
    out,
    Float64Array.of(1, 2, 3, -1, 0, 1),
    Float64Array.of(1, 0, 0, 1, 1, 1),
    Float64Array.of(0.5, -0.5),
    { batch: 2, inFeatures: 3, outFeatures: 2 },
  );
  assert.deepStrictEqual(Array.from(out), [4.5, 4.5, 0.5, 0.5]);
});

const SHAPES: DenseShape[] = [
  { batch: 3, inFeatures: 7, outFeatures: 4 },
  { batch: 5, inFeatures: 2, outFeatures: 9 },
  { batch: 1, inFeatures: 1, outFeatures: 1 },
];

Deno.test("denseBackward: dx, dw, db pass float64 finite-difference checks (max rel err < 1e-6)", () => {
  for (const [k, s] of SHAPES.entries()) {
    const rng = new RandomState(400 + k);
    const x = randomArray(rng, s.batch * s.inFeatures);
    const w = randomArray(rng, s.inFeatures * s.outFeatures);
    const b = randomArray(rng, s.outFeatures);
    const r = randomArray(rng, s.batch * s.outFeatures);
    const out = new Float64Array(r.length);
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => {
      denseForward(out, xx, ww, bb, s);
      return dot(out, r);
    };
    const dx = new Float64Array(x.length).fill(NaN);
    const dw = new Float64Array(w.length).fill(NaN);
    const db = new Float64Array(b.length).fill(NaN);
    denseBackward(dx, dw, db, r, x, w, s);
    for (
      const [name, res] of [
        ["dx", gradCheck((v) => loss(v, w, b), x, dx)],
        ["dw", gradCheck((v) => loss(x, v, b), w, dw)],
        ["db", gradCheck((v) => loss(x, w, v), b, db)],
      ] as const
    ) {
      assert.ok(res.maxRelError < 1e-6, `shape ${k} ${name}: max rel err ${res.maxRelError}`);
    }
    // dx = null gives the same parameter gradients
    const dw2 = new Float64Array(w.length), db2 = new Float64Array(b.length);
    denseBackward(null, dw2, db2, r, x, w, s);
    assert.deepStrictEqual(dw2, dw);
    assert.deepStrictEqual(db2, db);
  }
});

Deno.test("dense on Float32Array agrees with float64", () => {
  const s = SHAPES[0];
  const rng = new RandomState(11);
  const x = randomArray(rng, 21), w = randomArray(rng, 28), b = randomArray(rng, 4);
  const out64 = new Float64Array(12), out32 = new Float32Array(12);
  denseForward(out64, x, w, b, s);
  denseForward(out32, new Float32Array(x), new Float32Array(w), new Float32Array(b), s);
  assertAllClose(out32, out64, { rtol: 1e-5, atol: 1e-6 });
});

Deno.test("dense throws RangeError on bad lengths", () => {
  const s = { batch: 2, inFeatures: 3, outFeatures: 2 };
  const f = (n: number) => new Float64Array(n);
  assertThrowsWith(
    () => denseForward(f(4), f(6), f(5), f(2), s),
    RangeError,
    "denseForward: w must have length 6, received 5",
  );
  assertThrowsWith(
    () => denseForward(f(4), f(6), f(6), f(2), { ...s, batch: 0 }),
    RangeError,
    "batch",
  );
  assertThrowsWith(
    () => denseBackward(f(6), f(6), f(3), f(4), f(6), f(6), s),
    RangeError,
    "denseBackward: db must have length 2, received 3",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the dense kernels (forward, dInput, dWeight, dBias) with `cpu/dense.ts`, on random
 * shapes and at the tutorial's shapes. Tolerance: RTOL = 1e-4, atol = 1e-5 * max|cpu|.
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("dense")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: stages against cpu/

/**
 * The native dense stage (`src/backends/native/dense.ts`, with a fused activation) against
 * `cpu/dense.ts`, including a partial batch. Tolerances: forward and backward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */

Deno.test({
  name: "native dense (+ activation) against cpu/dense",
  ignore,
  fn() {
    const rng = new RandomState(30);
    for (
      const [B, I, J, kind, n] of [
        [5, 800, 500, "tanh", 5],
        [7, 500, 10, null, 7],
        [6, 13, 9, "sigmoid", 4],
        [1, 1, 1, null, 1],
      ] as [number, number, number, Activation, number][]
    ) {
      const label = `dense ${B}x${I}x${J} ${kind} n=${n}`;
      const x = rand(rng, B * I), w = rand(rng, I * J, -0.2, 0.2), b = rand(rng, J);
      const pre = new Float32Array(n * J), expected = new Float32Array(n * J);
      denseForward(pre, x.subarray(0, n * I), w, b, { batch: n, inFeatures: I, outFeatures: J });
      act(kind, expected, pre);
      const stage = new DenseStage(blas!, I, J, kind, B);
      const out = new Float32Array(B * J).fill(NaN);
      stage.forward(out, x, w, b, n);
      assertAllClose(out.subarray(0, n * J), expected, { ...FWD, msg: `${label} forward` });

      const dOut = rand(rng, B * J), dPre = new Float32Array(n * J);
      actBack(kind, dPre, dOut.subarray(0, n * J), expected);
      const eDx = new Float32Array(n * I), eDw = new Float32Array(I * J), eDb = new Float32Array(J);
      denseBackward(eDx, eDw, eDb, dPre, x.subarray(0, n * I), w, {
        batch: n,
        inFeatures: I,
        outFeatures: J,
      });
      const dx = new Float32Array(B * I).fill(NaN), dw = new Float32Array(I * J).fill(NaN);
      const db = new Float32Array(J).fill(NaN);
      stage.backward(dx, dw, db, dOut, out, x, w, n);
      assertAllClose(dx.subarray(0, n * I), eDx, { ...BWD, msg: `${label} dx` });
      assertAllClose(dw, eDw, { ...BWD, msg: `${label} dw` });
      assertAllClose(db, eDb, { ...BWD, msg: `${label} db` });
    }
  },
});
