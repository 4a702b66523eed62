// Tests of cpu/softmax.ts: values, row sums, stability for huge logits, shift invariance.
import assert from "node:assert";
import { softmaxForward } from "../cpu/softmax.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { randomArray } from "./_gradcheck.ts";

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
