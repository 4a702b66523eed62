/**
 * softmax and the NLL loss (with the fused softmax + NLL backward), every backend, in one file:
 * - cpu: `cpu/softmax.ts` and `cpu/nll.ts` in float64: values, row sums, stability for huge
 *   logits, shift invariance, the tutorial's negative_log_likelihood and errors, a
 *   finite-difference check of the fused backward;
 * - webgpu: softmax_forward, softmax_nll_backward and nll_loss against `cpu/` (the case table
 *   tests/_kernel_cases.ts, which tests/kernels_browser_test.ts also runs in Chromium); ignored
 *   where there is no adapter.
 * native: no stage of its own; the native executor runs the `cpu/` loops.
 */
import assert from "node:assert/strict";
import { softmaxForward } from "../cpu/softmax.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { gradCheck, randomArray } from "./_gradcheck.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../cpu/nll.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// ---------------- cpu: cpu/softmax.ts in float64

// Tests of cpu/softmax.ts: values, row sums, stability for huge logits, shift invariance.

Deno.test("softmaxForward: matches exp(z)/sum(exp(z)) on small logits, rows sum to 1", () => {
  const B = 4, K = 10;
  const z = randomArray(new RandomState(700), B * K, -3, 3);
  const p = new Float64Array(B * K);
  softmaxForward(p, z, B, K);
  const naive: number[] = [];
  for (let n = 0; n < B; n++) {
    const e = Array.from(z.subarray(n * K, (n + 1) * K), Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    naive.push(...e.map((v) => v / s));
    assertAllClose([p.subarray(n * K, (n + 1) * K).reduce((a, b) => a + b, 0)], [1], {
      rtol: 1e-15,
      atol: 0,
    });
  }
  assertAllClose(p, naive, { rtol: 1e-13, atol: 0 });
});

Deno.test("softmaxForward: logits 1e4, 0, -1e4 give finite probabilities (no NaN/Inf)", () => {
  const p = new Float64Array(6);
  softmaxForward(p, Float64Array.of(1e4, 0, -1e4, -1e4, -1e4, 1e4 - 1), 2, 3);
  for (const v of p) assert.ok(Number.isFinite(v), `got ${v}`);
  assertAllClose(p, [1, 0, 0, Math.exp(-(1e4 - 1)), Math.exp(-(1e4 - 1)), 1], {
    rtol: 1e-15,
    atol: 1e-300,
  });
  const p32 = new Float32Array(3);
  softmaxForward(p32, Float32Array.of(1e4, 0, -1e4), 1, 3);
  assert.deepStrictEqual(Array.from(p32), [1, 0, 0]);
});

Deno.test("softmaxForward: invariant to adding a constant to a row, works in place", () => {
  const z = Float64Array.of(0.1, -0.7, 2.3, 1.1);
  const p1 = new Float64Array(4), p2 = new Float64Array(4);
  softmaxForward(p1, z, 1, 4);
  softmaxForward(p2, z.map((v) => v + 500), 1, 4);
  assertAllClose(p2, p1, { rtol: 1e-13, atol: 0 });
  softmaxForward(z, z, 1, 4);
  assert.deepStrictEqual(z, p1);
});

Deno.test("softmaxForward throws RangeError on bad sizes", () => {
  assertThrowsWith(
    () => softmaxForward(new Float64Array(6), new Float64Array(5), 2, 3),
    RangeError,
    "softmaxForward: logits must have length 6, received 5",
  );
  assertThrowsWith(
    () => softmaxForward(new Float64Array(0), new Float64Array(0), 0, 3),
    RangeError,
    "batch and classes",
  );
});

// ---------------- cpu: cpu/nll.ts in float64

// Tests of cpu/nll.ts: the tutorial's negative_log_likelihood and errors from logits, stability
// for huge logits, and a float64 finite-difference check of the fused softmax+NLL backward.

Deno.test("nllLoss equals -mean(log(softmax(z))[n, y[n]])", () => {
  const B = 5, K = 10;
  const rng = new RandomState(800);
  const z = randomArray(rng, B * K, -4, 4);
  const y = rng.randint(0, K, B);
  const p = new Float64Array(B * K);
  softmaxForward(p, z, B, K);
  let expected = 0;
  for (let n = 0; n < B; n++) expected -= Math.log(p[n * K + y[n]]) / B;
  assertAllClose([nllLoss(z, y, B, K)], [expected], { rtol: 1e-13, atol: 0 });
  // uniform logits: log(K)
  assertAllClose([nllLoss(new Float32Array(B * K), y, B, K)], [Math.log(K)], { rtol: 1e-15 });
});

Deno.test("nllLoss is finite and exact for huge logits", () => {
  const z = Float64Array.of(1e4, 0, -1e4, 1e4, 0, -1e4);
  // row 0 right with certainty: loss 0; row 1 label 2: loss 2e4
  assert.strictEqual(nllLoss(z, [0, 2], 2, 3), 1e4);
  const big = Math.fround(3e38); // float32 logits near the float32 maximum
  assert.strictEqual(nllLoss(Float32Array.of(big, -big), [1], 1, 2), 2 * big);
});

Deno.test("softmaxNllBackward passes a float64 finite-difference check w.r.t. logits (max rel err < 1e-6)", () => {
  for (const [B, K, seed] of [[4, 10, 1], [3, 2, 2], [1, 7, 3]]) {
    const rng = new RandomState(900 + seed);
    const z = randomArray(rng, B * K, -3, 3);
    const y = rng.randint(0, K, B);
    const d = new Float64Array(B * K).fill(NaN);
    softmaxNllBackward(d, z, y, B, K);
    const res = gradCheck((v) => nllLoss(v, y, B, K), z, d);
    assert.ok(res.maxRelError < 1e-6, `B=${B} K=${K}: max rel err ${res.maxRelError}`);
    // each row of (softmax - onehot) sums to 0
    for (let n = 0; n < B; n++) {
      assert.ok(Math.abs(d.subarray(n * K, (n + 1) * K).reduce((a, b) => a + b, 0)) < 1e-15);
    }
  }
});

Deno.test("softmaxNllBackward: (softmax - onehot) / batch, finite for huge logits", () => {
  const d = new Float64Array(6);
  softmaxNllBackward(d, Float64Array.of(1e4, 0, -1e4, 1e4, 0, -1e4), [0, 2], 2, 3);
  assert.deepStrictEqual(Array.from(d), [0, 0, 0, 0.5, 0, -0.5]);
  const d32 = new Float32Array(2);
  softmaxNllBackward(d32, Float32Array.of(0, 0), [1], 1, 2);
  assert.deepStrictEqual(Array.from(d32), [0.5, -0.5]);
});

Deno.test("errorCount: argmax with the first maximum winning", () => {
  // rows: argmax 2 (label 2, right), argmax 0 (label 1, wrong), tie 0/1 -> 0 (label 1, wrong),
  //       tie 1/2 -> 1 (label 1, right)
  const z = Float64Array.of(0, 1, 5, 3, 2, 1, 4, 4, 0, -1, 2, 2);
  assert.strictEqual(errorCount(z, [2, 1, 1, 1], 4, 3), 2);
  assert.strictEqual(errorCount(z, Int32Array.of(2, 0, 0, 1), 4, 3), 0);
});

Deno.test("nll functions throw RangeError for labels outside [0, classes) and bad lengths", () => {
  const z = new Float64Array(6);
  for (const fn of [nllLoss, errorCount]) {
    assertThrowsWith(
      () => fn(z, [0, 3], 2, 3),
      RangeError,
      "labels[1] must be an integer in [0, 3), received 3",
    );
    assertThrowsWith(() => fn(z, [-1, 0], 2, 3), RangeError, "labels[0]");
    assertThrowsWith(() => fn(z, [0.5, 0], 2, 3), RangeError, "received 0.5");
    assertThrowsWith(() => fn(z, [0], 2, 3), RangeError, "labels must have length 2, received 1");
    assertThrowsWith(
      () => fn(z, [0, 0, 0], 3, 3),
      RangeError,
      "logits must have length 9, received 6",
    );
  }
  assertThrowsWith(
    () => softmaxNllBackward(new Float64Array(6), z, [0, 3], 2, 3),
    RangeError,
    "softmaxNllBackward: labels[1]",
  );
  assertThrowsWith(
    () => softmaxNllBackward(new Float64Array(5), z, [0, 1], 2, 3),
    RangeError,
    "dLogits must have length 6, received 5",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of softmax_forward, softmax_nll_backward and nll_loss with `cpu/softmax.ts` and
 * `cpu/nll.ts`. Tolerances: probabilities and gradients rtol 1e-5 / atol 1e-7, mean loss
 * rtol 1e-5; the error count is exact (ties: the first maximum wins).
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("softmax_nll")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
