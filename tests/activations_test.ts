/**
 * The activations tanh, sigmoid and relu, every backend, in one file:
 * - cpu: `cpu/tanh.ts`, `cpu/sigmoid.ts`, `cpu/relu.ts` in float64: values, saturation and
 *   stability for large |x|, PyTorch's NaN and zero conventions, finite-difference gradient
 *   checks;
 * - webgpu: the activation kernels against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter;
 * - native: the pointwise activations (needs no BLAS); tanh, sigmoid and relu fused into the
 *   native stages are checked in conv2d_test.ts, dense_test.ts, maxpool2d_test.ts and
 *   batchnorm_test.ts.
 */
import assert from "node:assert/strict";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { reluBackward, reluForward } from "../cpu/relu.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import { activateInPlace, activationBackward } from "../src/backends/native/pointwise.ts";

// ---------------- cpu: cpu/tanh.ts in float64

// Tests of cpu/tanh.ts: values, saturation, and a float64 finite-difference gradient check.

Deno.test("tanhForward: values and saturation for large |x|", () => {
  const out = new Float64Array(5);
  tanhForward(out, Float64Array.of(0, 0.5, -2, 1e4, -1e4));
  assertAllClose(out, [0, 0.46211715726000974, -0.9640275800758169, 1, -1], {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("tanhBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(500);
  const x = randomArray(rng, 60, -3, 3);
  const r = randomArray(rng, 60);
  const y = new Float64Array(60), dx = new Float64Array(60).fill(NaN);
  tanhForward(y, x);
  tanhBackward(dx, r, y);
  const out = new Float64Array(60);
  const res = gradCheck(
    (v) => {
      tanhForward(out, v);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
});

Deno.test("tanh works in place and on Float32Array", () => {
  const a = Float32Array.of(0.25, -1);
  tanhForward(a, a);
  assert.deepStrictEqual(Array.from(a), [Math.fround(Math.tanh(0.25)), Math.fround(Math.tanh(-1))]);
  const d = Float32Array.of(2, 2);
  tanhBackward(d, d, Float32Array.of(0, 0.5));
  assert.deepStrictEqual(Array.from(d), [2, 1.5]);
});

Deno.test("tanh throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => tanhForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "tanhForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => tanhBackward(new Float64Array(3), new Float64Array(2), new Float64Array(3)),
    RangeError,
    "tanhBackward: dOut must have length 3",
  );
});

// ---------------- cpu: cpu/sigmoid.ts in float64

// Tests of cpu/sigmoid.ts: values, stability for large |x|, and a float64 finite-difference check.

Deno.test("sigmoidForward: values, symmetry and no overflow for large |x|", () => {
  const x = Float64Array.of(0, 2, -2, 40, -40, 800, -800, 1e308, -1e308);
  const out = new Float64Array(x.length);
  sigmoidForward(out, x);
  const expected = [
    0.5,
    1 / (1 + Math.exp(-2)),
    Math.exp(-2) / (1 + Math.exp(-2)),
    1,
    4.248354255291589e-18,
    1,
    0,
    1,
    0,
  ];
  assertAllClose(out, expected, { rtol: 1e-15, atol: 0 });
  for (const v of out) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1);
  assertAllClose([out[1] + out[2]], [1], { rtol: 1e-15 }); // sigmoid(-x) = 1 - sigmoid(x)
  const f32 = new Float32Array(2);
  sigmoidForward(f32, Float32Array.of(-100, 100));
  assert.deepStrictEqual(Array.from(f32), [Math.fround(Math.exp(-100)), 1]);
});

Deno.test("sigmoidBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(600);
  const x = randomArray(rng, 60, -6, 6);
  const r = randomArray(rng, 60);
  const y = new Float64Array(60), dx = new Float64Array(60).fill(NaN);
  sigmoidForward(y, x);
  sigmoidBackward(dx, r, y);
  const out = new Float64Array(60);
  const res = gradCheck(
    (v) => {
      sigmoidForward(out, v);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
});

Deno.test("sigmoid throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => sigmoidForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "sigmoidForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => sigmoidBackward(new Float64Array(2), new Float64Array(3), new Float64Array(3)),
    RangeError,
    "sigmoidBackward: dx must have length 3",
  );
});

// ---------------- cpu: cpu/relu.ts in float64

// Tests of cpu/relu.ts: values (PyTorch's NaN and zero conventions), and a float64
// finite-difference gradient check.

Deno.test("reluForward: negatives to 0, positives kept, NaN propagates, -0 kept", () => {
  const out = new Float64Array(6);
  reluForward(out, Float64Array.of(-1e30, -0.5, 0, 0.25, 1e30, NaN));
  assert.deepStrictEqual(Array.from(out), [0, 0, 0, 0.25, 1e30, NaN]);
  // the formula x < 0 ? 0 : x keeps the sign of a zero input (-0 < 0 is false)
  reluForward(out.subarray(0, 1), Float64Array.of(-0));
  assert.ok(Object.is(out[0], -0));
  reluForward(out.subarray(0, 1), Float64Array.of(-Infinity));
  assert.strictEqual(out[0], 0);
});

Deno.test("reluBackward: gradient only where the output is positive (0 at y = 0)", () => {
  const dx = new Float64Array(4).fill(NaN);
  reluBackward(dx, Float64Array.of(1, 2, 3, 4), Float64Array.of(0, 0.5, 0, 7));
  assert.deepStrictEqual(Array.from(dx), [0, 2, 0, 4]);
});

Deno.test("reluBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(510);
  const n = 80;
  const x = randomArray(rng, n, -2, 2);
  // keep every |x| > 1e-3 so that x +- h never crosses the kink at 0
  for (let k = 0; k < n; k++) if (Math.abs(x[k]) < 1e-3) x[k] += 0.01;
  const r = randomArray(rng, n);
  const y = new Float64Array(n), dx = new Float64Array(n).fill(NaN);
  reluForward(y, x);
  reluBackward(dx, r, y);
  const out = new Float64Array(n);
  const res = gradCheck(
    (v) => {
      reluForward(out, v);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
  assert.ok(dx.some((v) => v === 0) && dx.some((v) => v !== 0), "both branches exercised");
});

Deno.test("relu works in place and on Float32Array", () => {
  const a = Float32Array.of(-1, 0.1);
  reluForward(a, a);
  assert.deepStrictEqual(Array.from(a), [0, Math.fround(0.1)]);
  const d = Float32Array.of(3, 3);
  reluBackward(d, d, a);
  assert.deepStrictEqual(Array.from(d), [0, 3]);
});

Deno.test("relu throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => reluForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "reluForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => reluBackward(new Float64Array(3), new Float64Array(2), new Float64Array(3)),
    RangeError,
    "reluBackward: dOut must have length 3, received 2",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the tanh and sigmoid kernels with `cpu/tanh.ts` and `cpu/sigmoid.ts`, including
 * large inputs (no overflow to NaN). Tolerance: rtol 1e-5, atol 1e-6 (one float32 op each).
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("activations")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: pointwise activations

/**
 * The native pointwise activations (`src/backends/native/pointwise.ts`): relu's forward on
 * the float bits, on edge values and a subarray. tanh and sigmoid are checked fused into the
 * conv2d, dense, maxpool2d and batchnorm stages, in those tests. Needs no BLAS.
 */

Deno.test("native relu: the bit trick is x < 0 ? 0 : x (NaN stays, -Inf gives 0), on a subarray", () => {
  const buf = Float32Array.of(-3, -1, NaN, -Infinity, Infinity, -0, 2, 1e-45, -1e-45, -5);
  const y = buf.subarray(1, 9);
  activateInPlace("relu", y, y.length);
  assert.deepEqual([...buf], [-3, 0, NaN, 0, Infinity, 0, 2, Math.fround(1e-45), 0, -5]);
  const dx = new Float32Array(3);
  activationBackward("relu", dx, Float32Array.of(5, 6, 7), Float32Array.of(0, 2, 1e-45), 3);
  assert.deepEqual([...dx], [0, 6, 7]);
});
