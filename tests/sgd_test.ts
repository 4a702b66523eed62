/**
 * sgd, every backend, in one file:
 * - cpu: `cpu/sgd.ts`: the tutorial's update rule and PyTorch's SGD momentum;
 * - webgpu: sgd_update against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter.
 * native: no stage of its own; the native executor runs the `cpu/` loop (src/optimizers.ts).
 * SGD momentum through whole executors on every backend: tests/sgd_momentum_test.ts.
 */
import assert from "node:assert/strict";
import { sgdMomentumUpdate, sgdUpdate } from "../cpu/sgd.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// ---------------- cpu: cpu/sgd.ts

// Tests of cpu/sgd.ts: the tutorial's update rule and PyTorch's SGD momentum.

Deno.test("sgdUpdate: param - learningRate * grad, in place", () => {
  const p = Float64Array.of(1, -2, 0.5);
  sgdUpdate(p, Float64Array.of(2, 4, -1), 0.1);
  assertAllClose(p, [0.8, -2.4, 0.6], { rtol: 1e-15, atol: 0 });
  const p32 = Float32Array.of(1);
  sgdUpdate(p32, Float32Array.of(1), 0.1);
  assert.strictEqual(p32[0], Math.fround(1 - 0.1));
});

Deno.test("sgdMomentumUpdate: PyTorch's buf = momentum*buf + g; p -= lr*buf, lr changing", () => {
  const p = Float64Array.of(1, 1), buf = new Float64Array(2);
  const g = Float64Array.of(1, -2);
  const mu = 0.9, lrs = [0.1, 0.2, 0.05];
  // by hand, component 0: buf1 = 1, p1 = 0.9; buf2 = 1.9, p2 = 0.52; buf3 = 2.71, p3 = 0.3845
  //          component 1: buf1 = -2, p1 = 1.2; buf2 = -3.8, p2 = 1.96; buf3 = -5.42, p3 = 2.231
  // (the old rule v = mu*v - lr*g; p += v would give p3 = 0.299, 2.402)
  for (const lr of lrs) sgdMomentumUpdate(p, g, buf, lr, mu);
  assertAllClose(buf, [2.71, -5.42], { rtol: 1e-14, atol: 0 });
  assertAllClose(p, [0.3845, 2.231], { rtol: 1e-14, atol: 0 });
  // momentum 0 is plain SGD
  const a = Float64Array.of(3), b = Float64Array.of(3);
  sgdMomentumUpdate(a, Float64Array.of(2), new Float64Array(1), 0.25, 0);
  sgdUpdate(b, Float64Array.of(2), 0.25);
  assert.deepStrictEqual(a, b);
});

Deno.test("sgdMomentumUpdate: with a constant lr, the old rule's velocity is -lr*buf", () => {
  const lr = 0.05, mu = 0.8;
  const p = Float64Array.of(0.5, -1), buf = new Float64Array(2);
  const q = p.slice(), v = new Float64Array(2);
  for (const g of [[1, 2], [-3, 0.5], [0.25, -1]]) {
    sgdMomentumUpdate(p, Float64Array.from(g), buf, lr, mu);
    for (let k = 0; k < 2; k++) q[k] += v[k] = mu * v[k] - lr * g[k];
  }
  assertAllClose(p, q, { rtol: 1e-14, atol: 1e-16 });
  assertAllClose(v, buf.map((b) => -lr * b), { rtol: 1e-14, atol: 1e-16 });
});

Deno.test("sgd throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => sgdUpdate(new Float64Array(3), new Float64Array(2), 0.1),
    RangeError,
    "sgdUpdate: grad must have length 3, received 2",
  );
  assertThrowsWith(
    () =>
      sgdMomentumUpdate(new Float64Array(3), new Float64Array(3), new Float64Array(4), 0.1, 0.9),
    RangeError,
    "sgdMomentumUpdate: buffer must have length 3, received 4",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of sgd_update with `cpu/sgd.ts`, plain and with momentum over several steps.
 * Tolerance: rtol 1e-6, atol 1e-7 (two float32 operations per step). Also the non-finite flag
 * the update sets (bit 1: loss, bit 2: a parameter), tested on the exponent bits.
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("sgd")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
