// Tests of cpu/init.ts: the tutorial's bounds, and that LeNet's weights come from
// RandomState(23455) draw for draw, in the tutorial's order, with zero biases drawing nothing.
// Expected weights produced with numpy 1.24.2, mirroring convolutional_mlp.py:
//   rng = numpy.random.RandomState(23455)
//   for fs in [(20,1,5,5), (50,20,5,5)]:
//       fan_in = prod(fs[1:]); fan_out = fs[0]*prod(fs[2:]) // 4; b = sqrt(6./(fan_in+fan_out))
//       W = numpy.asarray(rng.uniform(-b, b, fs), dtype=numpy.float32)
//   hb = sqrt(6./(800+500)); W2 = numpy.asarray(rng.uniform(-hb, hb, (800,500)), dtype=numpy.float32)
//   print(repr(W.ravel()[:3].tolist()), repr(W.ravel()[-1].item()))
import assert from "node:assert";
import { convWeightBound, denseWeightBound, uniformInit } from "../cpu/init.ts";
import { RandomState } from "../src/random.ts";
import { assertThrowsWith } from "./_assert.ts";

Deno.test("convWeightBound: sqrt(6/(fan_in+fan_out)), fan_out floored like the tutorial code", () => {
  // numpy printed: 0.2 and 0.08596023825918792 (fan_out = 1250 // 4 = 312)
  assert.strictEqual(convWeightBound(20, 1, 5, 5, 4), 0.2);
  assert.strictEqual(convWeightBound(50, 20, 5, 5, 4), 0.08596023825918792);
  assert.strictEqual(convWeightBound(2, 3, 9, 9, 1), Math.sqrt(6 / (243 + 162)));
  assertThrowsWith(
    () => convWeightBound(20, 1, 5, 5, 0),
    RangeError,
    "poolArea must be a positive integer",
  );
});

Deno.test("denseWeightBound: sqrt(6/(in+out)), times 4 for sigmoid", () => {
  assert.strictEqual(denseWeightBound(800, 500), 0.06793662204867575); // numpy: sqrt(6./1300)
  assert.strictEqual(denseWeightBound(800, 500, { sigmoid: true }), 4 * 0.06793662204867575);
  assert.strictEqual(denseWeightBound(800, 500, { sigmoid: false }), 0.06793662204867575);
  assertThrowsWith(() => denseWeightBound(0, 500), RangeError, "inFeatures");
});

Deno.test("LeNet's initial weights come from RandomState(23455) in the tutorial's order", () => {
  const rng = new RandomState(23455);
  // layer0: W (20,1,5,5), b zeros (no draws)
  const w0 = uniformInit(
    rng,
    20 * 1 * 5 * 5,
    convWeightBound(20, 1, 5, 5, 4),
    new Float32Array(500),
  );
  const b0 = new Float32Array(20);
  // layer1: W (50,20,5,5), b zeros
  const w1 = uniformInit(
    rng,
    50 * 20 * 5 * 5,
    convWeightBound(50, 20, 5, 5, 4),
    new Float32Array(25000),
  );
  // layer2 (HiddenLayer, tanh): W (800,500), b zeros; layer3 (LogisticRegression): W, b zeros
  const w2 = uniformInit(rng, 800 * 500, denseWeightBound(800, 500), new Float32Array(400000));
  const tail = (a: Float32Array) => [...Array.from(a.subarray(0, 3)), a[a.length - 1]];
  assert.deepStrictEqual(tail(w0), [
    0.1339772790670395,
    -0.1540682017803192,
    0.06759900599718094,
    -0.06819407641887665,
  ]);
  assert.deepStrictEqual(tail(w1), [
    -0.003170984797179699,
    -0.06685057282447815,
    0.044483479112386703,
    -0.060036420822143555,
  ]);
  assert.deepStrictEqual(tail(w2), [
    0.01625422015786171,
    -0.06271775811910629,
    -0.05042145028710365,
    0.019199199974536896,
  ]);
  assert.ok(b0.every((v) => v === 0));
  for (
    const [w, b] of [[w0, 0.2], [w1, convWeightBound(50, 20, 5, 5, 4)], [
      w2,
      denseWeightBound(800, 500),
    ]] as const
  ) {
    assert.ok(w.every((v) => Math.abs(v) <= b), "all weights inside [-bound, bound]");
  }
});

Deno.test("uniformInit: float64 without `into`, the same doubles as rng.uniform(-b, b, size)", () => {
  // numpy: RandomState(23455).uniform(-0.2, 0.2, 3); then random_sample() = 0.46594987275864086
  const rng = new RandomState(23455);
  const w = uniformInit(rng, 3, 0.2);
  assert.ok(w instanceof Float64Array);
  assert.deepStrictEqual(Array.from(w), [
    0.13397727406718468,
    -0.154068194376194,
    0.06759900418404963,
  ]);
  assert.strictEqual(rng.nextDouble(), 0.46594987275864086);
  // sigmoid bound: 4x the tanh values exactly (scaling by 4 is exact in binary floating point)
  const w4 = uniformInit(new RandomState(23455), 3, 0.8);
  assert.deepStrictEqual(Array.from(w4), Array.from(w, (v) => 4 * v));
});

Deno.test("uniformInit throws RangeError if `into` has the wrong length", () => {
  assertThrowsWith(
    () => uniformInit(new RandomState(0), 4, 0.1, new Float32Array(3)),
    RangeError,
    "uniformInit: into must have length 4, received 3",
  );
});
