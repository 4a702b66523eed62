// Tests of cpu/sgd.ts: the tutorial's update rule and classical momentum.
import assert from "node:assert";
import { sgdMomentumUpdate, sgdUpdate } from "../cpu/sgd.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";

Deno.test("sgdUpdate: param - learningRate * grad, in place", () => {
  const p = Float64Array.of(1, -2, 0.5);
  sgdUpdate(p, Float64Array.of(2, 4, -1), 0.1);
  assertAllClose(p, [0.8, -2.4, 0.6], { rtol: 1e-15, atol: 0 });
  const p32 = Float32Array.of(1);
  sgdUpdate(p32, Float32Array.of(1), 0.1);
  assert.strictEqual(p32[0], Math.fround(1 - 0.1));
});

Deno.test("sgdMomentumUpdate: v = momentum*v - lr*g; p += v, over three steps", () => {
  const p = Float64Array.of(1, 1), v = new Float64Array(2);
  const g = Float64Array.of(1, -2);
  const lr = 0.1, mu = 0.9;
  // by hand, component 0: v1 = -0.1, p1 = 0.9; v2 = -0.19, p2 = 0.71; v3 = -0.271, p3 = 0.439
  //          component 1: v1 = 0.2, p1 = 1.2; v2 = 0.38, p2 = 1.58; v3 = 0.542, p3 = 2.122
  for (let step = 0; step < 3; step++) sgdMomentumUpdate(p, g, v, lr, mu);
  assertAllClose(v, [-0.271, 0.542], { rtol: 1e-14, atol: 0 });
  assertAllClose(p, [0.439, 2.122], { rtol: 1e-14, atol: 0 });
  // momentum 0 is plain SGD
  const a = Float64Array.of(3), b = Float64Array.of(3);
  sgdMomentumUpdate(a, Float64Array.of(2), new Float64Array(1), 0.25, 0);
  sgdUpdate(b, Float64Array.of(2), 0.25);
  assert.deepStrictEqual(a, b);
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
    "sgdMomentumUpdate: velocity must have length 3, received 4",
  );
});
