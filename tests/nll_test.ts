// Tests of cpu/nll.ts: the tutorial's negative_log_likelihood and errors from logits, stability
// for huge logits, and a float64 finite-difference check of the fused softmax+NLL backward.
import assert from "node:assert";
import { errorCount, nllLoss, softmaxNllBackward } from "../cpu/nll.ts";
import { softmaxForward } from "../cpu/softmax.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { gradCheck, randomArray } from "./_gradcheck.ts";

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
