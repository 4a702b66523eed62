/** The Sequential model on the reference backend: planning, shape errors, init, API. */
import assert from "node:assert/strict";
import {
  Conv2D,
  Dense,
  initialParams,
  MaxPool2D,
  RandomState,
  Sequential,
  Softmax,
  Tanh,
} from "../mod.ts";
import { planNetwork } from "../src/layers.ts";
import { assertRejectsWith, assertThrowsWith } from "./_assert.ts";

const lenet = (k0 = 20, k1 = 50, hidden = 500) => [
  new Conv2D({ filters: k0, kernelSize: 5 }),
  new MaxPool2D({ poolSize: 2 }),
  new Tanh(),
  new Conv2D({ filters: k1, kernelSize: 5 }),
  new MaxPool2D({ poolSize: 2 }),
  new Tanh(),
  new Dense({ units: hidden }),
  new Tanh(),
  new Dense({ units: 10 }),
  new Softmax(),
];

Deno.test("plan: the tutorial's shapes and parameter names", () => {
  const plan = planNetwork([1, 28, 28], lenet(), 500);
  assert.deepEqual(plan.layers.map((l) => l.outShape), [
    [20, 24, 24],
    [20, 12, 12],
    [20, 12, 12],
    [50, 8, 8],
    [50, 4, 4],
    [50, 4, 4],
    [500],
    [500],
    [10],
    [10],
  ]);
  assert.deepEqual(plan.params.map((p) => `${p.name}${JSON.stringify(p.shape)}`), [
    "conv0.weight[20,1,5,5]",
    "conv0.bias[20]",
    "conv1.weight[50,20,5,5]",
    "conv1.bias[50]",
    "dense0.weight[800,500]",
    "dense0.bias[500]",
    "dense1.weight[500,10]",
    "dense1.bias[10]",
  ]);
});

Deno.test("plan: the tutorial's initialisation bounds", () => {
  const plan = planNetwork([1, 28, 28], lenet(), 500);
  const bound = (name: string) => {
    const p = plan.params.find((q) => q.name === name)!;
    return p.init.kind === "uniform" ? p.init.bound : 0;
  };
  // fan_in = 1*5*5, fan_out = 20*5*5/4
  assert.equal(bound("conv0.weight"), Math.sqrt(6 / (25 + 125)));
  // fan_in = 20*5*5, fan_out = 50*5*5/4 with the tutorial's (Python 2) integer division
  assert.equal(bound("conv1.weight"), Math.sqrt(6 / (500 + 312)));
  assert.equal(bound("dense0.weight"), Math.sqrt(6 / (800 + 500)));
  assert.equal(bound("dense1.weight"), 0); // LogisticRegression starts at zero
  for (const b of ["conv0.bias", "conv1.bias", "dense0.bias", "dense1.bias"]) {
    assert.equal(bound(b), 0);
  }
});

Deno.test("initialParams: RandomState(23455) draws in layer order, like the tutorial", () => {
  const plan = planNetwork([1, 28, 28], lenet(), 500);
  const params = initialParams(plan, 23455);
  const rng = new RandomState(23455);
  const b0 = Math.sqrt(6 / (25 + 125)), b1 = Math.sqrt(6 / (500 + 312));
  const same = (a: Float32Array, b: Float64Array) =>
    a.length === b.length && a.every((v, i) => v === Math.fround(b[i]));
  assert.ok(same(params.get("conv0.weight")!, rng.uniform(-b0, b0, 500)));
  assert.ok(same(params.get("conv1.weight")!, rng.uniform(-b1, b1, 25000)));
  assert.ok(params.get("dense1.weight")!.every((v) => v === 0));
});

Deno.test("plan errors name the layer and the shapes", () => {
  assertThrowsWith(
    () => planNetwork([1, 4, 4], [new Conv2D({ filters: 2, kernelSize: 5 }), new Softmax()], 1),
    RangeError,
    'layer 0 "conv0" (Conv2D): kernel 5x5 does not fit input [1, 4, 4]',
  );
  assertThrowsWith(
    () => planNetwork([10], [new Conv2D({ filters: 2, kernelSize: 3 }), new Softmax()], 1),
    RangeError,
    "expects input [channels, height, width], got [10]",
  );
  assertThrowsWith(
    () => planNetwork([1, 8, 8], [new Dense({ units: 3 })], 1),
    RangeError,
    "the last layer must be a Softmax",
  );
  assertThrowsWith(
    () => planNetwork([1, 8, 8], [new Softmax(), new Dense({ units: 3 }), new Softmax()], 1),
    RangeError,
    'layer 0 "softmax0" (Softmax): Softmax must be the last layer',
  );
  assertThrowsWith(
    () => planNetwork([3, 8, 8], [new Conv2D({ filters: 2, kernelSize: 3 }), new Softmax()], 1),
    RangeError,
    "expects a vector of class scores (put a Dense before it), got [2, 6, 6]",
  );
  assertThrowsWith(
    () => new MaxPool2D({ poolSize: 0 }),
    RangeError,
    "MaxPool2D: poolSize must be a positive integer",
  );
});

async function smallModel(batchSize = 4) {
  return await Sequential.create({
    inputShape: [1, 12, 12],
    batchSize,
    layers: lenet(3, 4, 16).map((l) =>
      l instanceof Conv2D ? new Conv2D({ filters: l.filters, kernelSize: 3 }) : l
    ),
  });
}

Deno.test("feeding the wrong shape names the layer, expected and actual shape", async () => {
  const model = await smallModel();
  await assertRejectsWith(
    () => model.trainStep({ shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) }, [0, 1]),
    RangeError,
    'trainStep: layer 0 "conv0" (conv2d) expects input [n, 1, 12, 12], got [2, 1, 28, 28]',
  );
  await assertRejectsWith(
    () => model.trainStep(new Float32Array(2 * 100), [0, 1]),
    RangeError,
    "expects input [n, 1, 12, 12] (144 values per sample, 2 labels), got 200 values",
  );
  await assertRejectsWith(
    () => model.trainStep(new Float32Array(5 * 144), [0, 1, 2, 3, 4]),
    RangeError,
    "a batch of 5 samples exceeds the model's batchSize 4",
  );
  await assertRejectsWith(
    () => model.trainStep(new Float32Array(144), [10]),
    RangeError,
    "label 10 at index 0 is not an integer in [0, 10)",
  );
  model.dispose();
});

Deno.test("training lowers the loss; evaluate and predict batch any number of samples", async () => {
  const model = await smallModel(4);
  const rng = new RandomState(3);
  const x = Float32Array.from(rng.rand(10, 1, 12, 12));
  const labels = Int32Array.from({ length: 10 }, (_, i) => i % 3);
  const first = await model.trainStep(x.subarray(0, 4 * 144), labels.subarray(0, 4));
  assert.ok(Math.abs(first - Math.log(10)) < 1e-6, `first loss ${first} is ln(10)`);
  let last = first;
  for (let i = 0; i < 30; i++) {
    last = await model.trainStep(x.subarray(0, 4 * 144), labels.subarray(0, 4));
  }
  assert.ok(last < first - 0.5, `loss fell from ${first} to ${last}`);
  const ev = await model.evaluate(x, labels);
  assert.equal(ev.count, 10);
  assert.equal(ev.errorRate, ev.errors / 10);
  const probs = await model.predict(x);
  assert.equal(probs.length, 100);
  for (let i = 0; i < 10; i++) {
    const row = probs.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(row - 1) < 1e-5);
  }
  model.dispose();
});

Deno.test("getWeights/setWeights round-trip and reject wrong names or shapes", async () => {
  const model = await smallModel();
  const w = await model.getWeights();
  assert.deepEqual(w["conv0.weight"].shape, [3, 1, 3, 3]);
  w["dense1.bias"].data[0] = 0.25;
  await model.setWeights(w);
  assert.equal((await model.getWeights())["dense1.bias"].data[0], 0.25);
  const bad = { ...w, "conv0.weight": { shape: [3, 1, 5, 5], data: new Float32Array(75) } };
  await assertRejectsWith(
    () => model.setWeights(bad),
    RangeError,
    '"conv0.weight" expected shape [3, 1, 3, 3], got [3, 1, 5, 5]',
  );
  const { "conv1.bias": _, ...missing } = w;
  await assertRejectsWith(
    () => model.setWeights(missing),
    RangeError,
    'missing tensor "conv1.bias"',
  );
  await assertRejectsWith(
    () => model.setWeights({ ...w, extra: { shape: [1], data: new Float32Array(1) } }),
    RangeError,
    "unexpected tensors extra",
  );
  model.dispose();
});

Deno.test("datasets: train and evaluate by index; wrong sizes are refused", async () => {
  const model = await smallModel(4);
  const images = new Uint8Array(8 * 144).map((_, i) => (i * 37) % 256);
  const labels = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const ds = model.createDataset(images, labels);
  assert.equal(ds.count, 8);
  const loss = await model.trainBatch(ds, 4, 4);
  assert.ok(Number.isFinite(loss));
  const ev = await model.evaluateDataset(ds);
  assert.equal(ev.count, 8);
  // Same numbers as feeding the scaled floats directly.
  const direct = await model.evaluate(Float32Array.from(images, (v) => v / 255), labels);
  assert.ok(Math.abs(direct.loss - ev.loss) < 1e-6);
  assertThrowsWith(
    () => model.createDataset(new Uint8Array(10), labels),
    RangeError,
    "createDataset: 8 labels need 8 samples of [1, 12, 12] = 1152 values, got 10",
  );
  await assertRejectsWith(
    () => model.trainBatch(ds, 6, 4),
    RangeError,
    "samples [6, 10) are outside the dataset of 8",
  );
  ds.dispose();
  model.dispose();
  await assertRejectsWith(() => model.evaluate(new Float32Array(144), [0]), Error, "disposed");
});
