/**
 * dropout, every backend, in one file:
 * - cpu: `cpu/dropout.ts` in float64: golden hash values (the fixed target of the WGSL and
 *   native ports), mask statistics and determinism, rate 0, float32 rounding, and a
 *   finite-difference gradient check;
 * - webgpu: the dropout kernels against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter;
 * - native: the dropout stage's mask against `cpu/`, bit for bit; ignored where no CBLAS loads.
 */
import assert from "node:assert/strict";
import {
  dropoutBackward,
  dropoutForward,
  dropoutKeep,
  dropoutKey,
  dropoutScale,
  dropoutThreshold,
  hash32,
} from "../cpu/dropout.ts";
import { RandomState } from "../src/random.ts";
import { assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import type { DropoutPlan } from "../src/backend.ts";
import { STAGES } from "../src/backends/native/stages.ts";
import { blas, ignore, rand } from "./_native.ts";

// ---------------- cpu: cpu/dropout.ts in float64

// Tests of cpu/dropout.ts: golden hash values (the fixed target of the WGSL and native ports),
// mask statistics and determinism, rate 0, float32 rounding, and a float64 finite-difference
// gradient check.

// Computed independently in Python with & 0xffffffff arithmetic:
//   M = 0xffffffff
//   def h(x):
//     x &= M; x ^= x >> 16; x = (x * 0x7feb352d) & M; x ^= x >> 15
//     x = (x * 0x846ca68b) & M; x ^= x >> 16; return x
//   def key(seed, step, layer): return h(h(h(seed & M) ^ layer) ^ step)
Deno.test("hash32: golden values agree with an independent Python computation", () => {
  assert.deepStrictEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map(hash32),
    [0, 1753845952, 3507691905, 1408362973, 3648937681, 1548080446, 2816725947, 2492178918],
  );
  assert.strictEqual(hash32(0xffffffff), 1734902346);
  assert.strictEqual(hash32(123456789), 2834422664);
  assert.strictEqual(hash32(-1), hash32(0xffffffff), "only the low 32 bits count");
});

Deno.test("dropoutKey and dropoutKeep: golden values agree with Python", () => {
  assert.strictEqual(dropoutKey(0, 0, 0), 0);
  assert.strictEqual(dropoutKey(1, 1, 0), 3412962653);
  assert.strictEqual(dropoutKey(42, 1, 3), 2944564521);
  assert.strictEqual(dropoutKey(42, 2, 3), 439077379);
  assert.strictEqual(dropoutKey(2 ** 32 - 1, 100000, 7), 4021712548);
  assert.strictEqual(dropoutKey(-1, 5, 2), 463851728, "seed >>> 0");
  // key(42, 1, 3), rate 0.5: [int(h(h(i) ^ k) >= 2**31) for i in range(16)]
  const k = dropoutKey(42, 1, 3);
  const mask = Array.from({ length: 16 }, (_, i) => Number(dropoutKeep(k, 2 ** 31, i)));
  assert.deepStrictEqual(mask, [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0]);
});

Deno.test("dropoutThreshold and dropoutScale: the formulas, and rates outside [0, 1) refused", () => {
  assert.strictEqual(dropoutThreshold(0), 0);
  assert.strictEqual(dropoutThreshold(0.25), 1073741824);
  assert.strictEqual(dropoutThreshold(0.1), Math.round(0.1 * 4294967296));
  assert.strictEqual(dropoutThreshold(1 - 2 ** -40), 4294967295, "clamped to u32");
  assert.strictEqual(dropoutScale(0), 1);
  assert.strictEqual(dropoutScale(0.75), 4);
  assert.strictEqual(dropoutScale(0.3), Math.fround(1 / 0.7));
  for (const bad of [-0.1, 1, 1.5, NaN]) {
    assertThrowsWith(() => dropoutThreshold(bad), RangeError, "rate must be in [0, 1)");
    assertThrowsWith(() => dropoutScale(bad), RangeError, `received ${bad}`);
  }
});

Deno.test("dropout keeps a fraction ~ 1 - rate of 1e5 values, each kept one scaled", () => {
  const n = 100_000;
  const x = new Float32Array(n).fill(1), out = new Float32Array(n);
  for (const rate of [0.1, 0.5, 0.9]) {
    dropoutForward(out, x, rate, dropoutKey(2026, 17, 4));
    const scale = dropoutScale(rate);
    let kept = 0;
    for (const v of out) {
      if (v !== 0) {
        assert.strictEqual(v, scale);
        kept++;
      }
    }
    // binomial standard deviation <= sqrt(0.25 / 1e5) = 0.0016: 0.01 is over 6 sigma
    assert.ok(Math.abs(kept / n - (1 - rate)) < 0.01, `rate ${rate}: kept ${kept / n}`);
  }
});

Deno.test("dropout mask: same key same mask; other step, layer or seed another mask", () => {
  const n = 4096;
  const x = new Float64Array(n).fill(1);
  const mask = (key: number) => {
    const out = new Float64Array(n);
    dropoutForward(out, x, 0.5, key);
    return out;
  };
  const base = mask(dropoutKey(5, 10, 2));
  assert.deepStrictEqual(mask(dropoutKey(5, 10, 2)), base);
  for (const other of [dropoutKey(5, 11, 2), dropoutKey(5, 10, 3), dropoutKey(6, 10, 2)]) {
    const m = mask(other);
    let differ = 0;
    for (let i = 0; i < n; i++) if (m[i] !== base[i]) differ++;
    // independent masks at rate 0.5 differ in about half of the elements
    assert.ok(differ > 0.4 * n && differ < 0.6 * n, `differ ${differ}`);
  }
});

Deno.test("dropout with rate 0 is the identity (forward and backward)", () => {
  const rng = new RandomState(520);
  const x = Float32Array.from(randomArray(rng, 100));
  const out = new Float32Array(100), dx = new Float32Array(100);
  dropoutForward(out, x, 0, dropoutKey(1, 2, 3));
  assert.deepStrictEqual(out, x);
  dropoutBackward(dx, x, 0, dropoutKey(1, 2, 3));
  assert.deepStrictEqual(dx, x);
});

Deno.test("dropout on Float32Array rounds x * scale once to float32", () => {
  const x = Float32Array.of(0.1, 0.2, 0.3, 0.7, 1.1, 1.3, 2.9, 3.3);
  const out = new Float32Array(8);
  const rate = 0.3, key = 77;
  dropoutForward(out, x, rate, key);
  const t = dropoutThreshold(rate), scale = dropoutScale(rate);
  for (let i = 0; i < 8; i++) {
    assert.strictEqual(out[i], dropoutKeep(key, t, i) ? Math.fround(x[i] * scale) : 0);
  }
});

Deno.test("dropoutBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(521);
  const n = 200, rate = 0.4, key = dropoutKey(3, 1, 0);
  const x = randomArray(rng, n, -2, 2);
  const r = randomArray(rng, n);
  const dx = new Float64Array(n).fill(NaN);
  dropoutBackward(dx, r, rate, key);
  const out = new Float64Array(n);
  const res = gradCheck(
    (v) => {
      dropoutForward(out, v, rate, key);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
  assert.ok(dx.some((v) => v === 0) && dx.some((v) => v !== 0), "both branches exercised");
});

Deno.test("dropout throws RangeError on bad lengths, rates and key arguments", () => {
  assertThrowsWith(
    () => dropoutForward(new Float64Array(2), new Float64Array(3), 0.5, 1),
    RangeError,
    "dropoutForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => dropoutBackward(new Float64Array(3), new Float64Array(2), 0.5, 1),
    RangeError,
    "dropoutBackward: dx must have length 2, received 3",
  );
  assertThrowsWith(
    () => dropoutForward(new Float64Array(2), new Float64Array(2), 1, 1),
    RangeError,
    "rate must be in [0, 1), received 1",
  );
  assertThrowsWith(() => dropoutKey(1.5, 0, 0), RangeError, "seed must be an integer");
  assertThrowsWith(() => dropoutKey(1, -1, 0), RangeError, "step must be an integer in [0, 2^32)");
  assertThrowsWith(() => dropoutKey(1, 0, 0.5), RangeError, "layerIndex");
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the dropout kernels with `cpu/dropout.ts` (the cases and their tolerances are in
 * tests/_kernel_cases.ts, which tests/kernels_browser_test.ts also runs in Chromium).
 */

for (const c of casesOf("dropout")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: stages against cpu/

/**
 * The native dropout stage (made through `src/backends/native/stages.ts`): the mask of
 * `cpu/dropout.ts`, bit for bit, and the identity in evaluation.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */

Deno.test({
  name: "native dropout: the mask of cpu/dropout (bit-identical), identity in evaluation",
  ignore,
  async fn() {
    const rng = new RandomState(80);
    const plan: DropoutPlan = {
      kind: "dropout",
      name: "drop3",
      inShape: [4, 5],
      outShape: [4, 5],
      rate: 0.4,
      index: 3,
    };
    const stage = STAGES.dropout.make(plan, { pool: null, bias: null, act: null }, {
      blas: blas!,
      batch: 6,
      first: false,
      param: () => {
        throw new Error("dropout has no parameters");
      },
      state: () => {
        throw new Error("dropout has no state");
      },
    });
    const n = 5, len = n * 20, x = rand(rng, 6 * 20), dOut = rand(rng, 6 * 20);
    const run = { training: true, seed: 1234, step: 7 };
    const key = dropoutKey(run.seed, run.step, plan.index);
    const expected = new Float32Array(len), eDx = new Float32Array(len);
    dropoutForward(expected, x.subarray(0, len), plan.rate, key);
    dropoutBackward(eDx, dOut.subarray(0, len), plan.rate, key);
    const out = new Float32Array(6 * 20).fill(NaN), dx = new Float32Array(6 * 20).fill(NaN);
    await stage.forward(x, out, n, run);
    assert.deepEqual(out.subarray(0, len), expected);
    await stage.backward(dx, dOut, x, out, n);
    assert.deepEqual(dx.subarray(0, len), eDx);
    const dropped = expected.filter((v) => v === 0).length;
    assert.ok(dropped > 20 && dropped < 60, `dropped ${dropped} of ${len}`);
    await stage.forward(x, out, n, { ...run, training: false });
    assert.deepEqual(out.subarray(0, len), x.subarray(0, len));
  },
});
