/**
 * The planner of the new layers (shapes, parameters, initialisation rules, errors naming the
 * layer) and the model's handling of them: optimiser options, the step counter in the
 * optimiser state, batch norm's running averages in the weights, training vs evaluation mode.
 */
import assert from "node:assert/strict";
import {
  AvgPool2D,
  BatchNorm1D,
  BatchNorm2D,
  Conv2D,
  Dense,
  Dropout,
  GlobalAvgPool2D,
  MaxPool2D,
  ReLU,
  Sequential,
  Softmax,
} from "../mod.ts";
import { planNetwork } from "../src/layers.ts";

Deno.test("planner: same, strided and padded convolutions, overlapping and global pooling", () => {
  const plan = planNetwork([1, 28, 28], [
    new Conv2D({ filters: 8, kernelSize: 3, padding: "same" }),
    new BatchNorm2D(),
    new ReLU(),
    new MaxPool2D({ poolSize: 3, strides: 2 }),
    new Conv2D({ filters: 4, kernelSize: 3, stride: 2, padding: 1 }),
    new AvgPool2D({ poolSize: 2, ignoreBorder: false }),
    new GlobalAvgPool2D(),
    new Dense({ units: 6 }),
    new BatchNorm1D(),
    new ReLU(),
    new Dropout({ rate: 0.5 }),
    new Dense({ units: 10 }),
    new Softmax(),
  ], 4);
  assert.deepEqual(plan.layers.map((l) => l.outShape), [
    [8, 28, 28],
    [8, 28, 28],
    [8, 28, 28],
    [8, 13, 13], // floor((28 - 3) / 2) + 1
    [4, 7, 7], // floor((13 + 2 - 3) / 2) + 1
    [4, 4, 4], // ceil mode: partial windows kept
    [4],
    [6],
    [6],
    [6],
    [6],
    [10],
    [10],
  ]);
  assert.deepEqual(plan.layers.map((l) => l.name), [
    "conv0",
    "bn0",
    "relu0",
    "pool0",
    "conv1",
    "pool1",
    "pool2",
    "dense0",
    "bn1",
    "relu1",
    "dropout0",
    "dense1",
    "softmax0",
  ]);
  assert.deepEqual(plan.state.map((p) => p.name), [
    "bn0.running_mean",
    "bn0.running_var",
    "bn1.running_mean",
    "bn1.running_var",
  ]);
  assert.ok(plan.params.some((p) => p.name === "bn0.weight" && p.init.kind === "ones"));
  const conv0 = plan.layers[0];
  assert.ok(conv0.kind === "conv2d");
  assert.deepEqual(
    [conv0.padTop, conv0.padLeft, conv0.padBottom, conv0.padRight],
    [1, 1, 1, 1],
  );
  // He uniform before a ReLU (past the batch norm): sqrt(6 / fan_in), fan_in = 1 * 3 * 3.
  assert.deepEqual(conv0.weight.init, { kind: "uniform", bound: Math.sqrt(6 / 9) });
  const dense0 = plan.layers[7];
  assert.ok(dense0.kind === "dense");
  assert.deepEqual(dense0.weight.init, { kind: "uniform", bound: Math.sqrt(6 / 4) });
  const dropout = plan.layers[10];
  assert.ok(dropout.kind === "dropout" && dropout.index === 10 && dropout.rate === 0.5);
});

Deno.test("planner: an even kernel's 'same' pads one more at the bottom and right (PyTorch)", () => {
  const plan = planNetwork([1, 5, 6], [
    new Conv2D({ filters: 1, kernelSize: [4, 2], padding: "same" }),
    new Dense({ units: 2 }),
    new Softmax(),
  ], 1);
  const conv = plan.layers[0];
  assert.ok(conv.kind === "conv2d");
  assert.deepEqual(conv.outShape, [1, 5, 6]);
  assert.deepEqual([conv.padTop, conv.padBottom, conv.padLeft, conv.padRight], [1, 2, 0, 1]);
});

Deno.test("bad layer options and misplaced layers name the layer, expected and actual", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => new Conv2D({ filters: 2, kernelSize: 3, padding: "full" as "same" }), /padding must be/],
    [
      () => new Conv2D({ filters: 2, kernelSize: 3, padding: "same", stride: 2 }),
      /"same" needs stride 1.*\[2, 2\]/,
    ],
    [() => new Conv2D({ filters: 2, kernelSize: 3, stride: 0 }), /stride must be a positive/],
    [() => new Conv2D({ filters: 2, kernelSize: 3, padding: -1 }), /padding must be a non-neg/],
    [() => new MaxPool2D({ poolSize: 3, strides: [2, 0] }), /strides must be/],
    [() => new Dropout({ rate: 1 }), /rate must be a number in \[0, 1\), got 1/],
    [() => new BatchNorm2D({ momentum: 0 }), /momentum must be a number in \(0, 1\], got 0/],
    [() => new BatchNorm1D({ epsilon: -1 }), /epsilon must be a positive number, got -1/],
    [() => new Dense({ units: 3, init: "xavier" as "he" }), /init must be .*got "xavier"/],
    [
      () => planNetwork([4], [new BatchNorm2D(), new Dense({ units: 2 }), new Softmax()], 2),
      /layer 0 "bn0" \(BatchNorm2D\): expects input \[channels, height, width\], got \[4\]/,
    ],
    [
      () => planNetwork([1, 4, 4], [new BatchNorm1D(), new Dense({ units: 2 }), new Softmax()], 2),
      /layer 0 "bn0" \(BatchNorm1D\): expects features \[F\].*got \[1, 4, 4\]/,
    ],
    [
      () =>
        planNetwork([1, 4, 4], [
          new MaxPool2D({ poolSize: 5 }),
          new Dense({ units: 2 }),
          new Softmax(),
        ], 2),
      /layer 0 "pool0" \(MaxPool2D\): pool 5x5 .* empty output for input \[1, 4, 4\]/,
    ],
    [
      () =>
        planNetwork([1, 4, 4], [
          new Conv2D({ filters: 1, kernelSize: 7, padding: 1 }),
          new Dense({ units: 2 }),
          new Softmax(),
        ], 2),
      /layer 0 "conv0" \(Conv2D\): kernel 7x7 does not fit input \[1, 4, 4\] with its padding/,
    ],
    [
      () => planNetwork([3], [{ kind: "conv2d" } as unknown as Conv2D, new Softmax()], 2),
      /layer 0 is not a layer of this library/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

async function tinyModel(backend: "cpu" = "cpu") {
  return await Sequential.create({
    inputShape: [1, 6, 6],
    backend,
    batchSize: 8,
    seed: 3,
    layers: [
      new Conv2D({ filters: 3, kernelSize: 3, padding: "same" }),
      new BatchNorm2D(),
      new ReLU(),
      new MaxPool2D({ poolSize: 2 }),
      new Dense({ units: 5 }),
      new BatchNorm1D(),
      new ReLU(),
      new Dropout({ rate: 0.5 }),
      new Dense({ units: 3 }),
      new Softmax(),
    ],
  });
}

function batch(n: number, seed: number) {
  const x = new Float32Array(n * 36).map((_, i) => Math.sin(i * 0.37 + seed));
  const labels = Int32Array.from({ length: n }, (_, i) => (i + seed) % 3);
  return { x, labels };
}

Deno.test("optimizer options are validated, naming the option and the value", async () => {
  const model = await tinyModel();
  const { x, labels } = batch(4, 0);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ optimizer: "rmsprop" }, /optimizer must be "sgd", "adam" or "adamw", got "rmsprop"/],
    [{ optimizer: "adam", momentum: 0.9 }, /momentum is an SGD option.*"adam"/],
    [{ beta1: 0.9 }, /beta1: Adam options, but the optimizer is "sgd"/],
    [{ optimizer: "adam", beta2: 1 }, /beta2 must be a number in \[0, 1\), got 1/],
    [{ optimizer: "adamw", weightDecay: -1 }, /weightDecay must be a non-negative number, got -1/],
    [{ optimizer: "adam", epsilon: 0 }, /epsilon must be a positive number, got 0/],
  ];
  for (const [o, re] of cases) {
    await assert.rejects(async () => await model.trainStep(x, labels, o), re);
  }
  model.dispose();
});

Deno.test("batch norm refuses a training batch of one sample, naming the layer", async () => {
  const model = await tinyModel();
  const { x, labels } = batch(1, 0);
  await assert.rejects(
    async () => await model.trainStep(x, labels, { optimizer: "adam" }),
    /layer "bn1" \(batch norm\) needs more than 1 value per channel in training, got a batch of 1 sample/,
  );
  // Evaluation of one sample is fine (running averages).
  assert.equal((await model.evaluate(x, labels)).count, 1);
  model.dispose();
});

Deno.test("weights hold the running averages; the optimizer state holds .m, .v and the step", async () => {
  const model = await tinyModel();
  const w0 = await model.getWeights();
  assert.deepEqual(Array.from(w0["bn0.running_var"].data), [1, 1, 1]);
  assert.deepEqual(Array.from(w0["bn0.running_mean"].data), [0, 0, 0]);
  for (let s = 0; s < 3; s++) {
    const { x, labels } = batch(8, s);
    await model.trainStep(x, labels, { optimizer: "adamw", learningRate: 0.01 });
  }
  const w1 = await model.getWeights();
  assert.notDeepEqual(Array.from(w1["bn0.running_mean"].data), [0, 0, 0]);
  const st = await model.getOptimizerState();
  assert.deepEqual(Array.from(st.step.data), [3]);
  assert.ok(st["conv0.weight.v"].data.some((v) => v > 0));
  assert.equal(st["conv0.weight.m"].shape.join(), "3,1,3,3");
  model.dispose();
});

Deno.test("a resumed model (weights + optimizer state) continues bit-identically, dropout masks included", async () => {
  const a = await tinyModel(), b = await tinyModel();
  const opts = { optimizer: "adam" as const, learningRate: 0.02 };
  for (let s = 0; s < 2; s++) {
    const { x, labels } = batch(8, s);
    await a.trainStep(x, labels, opts);
  }
  await b.setWeights(await a.getWeights());
  await b.setOptimizerState(await a.getOptimizerState());
  for (let s = 2; s < 4; s++) {
    const { x, labels } = batch(8, s);
    assert.equal(await b.trainStep(x, labels, opts), await a.trainStep(x, labels, opts));
  }
  const [wa, wb] = [await a.getWeights(), await b.getWeights()];
  for (const k of Object.keys(wa)) assert.deepEqual(wb[k].data, wa[k].data, k);
  a.dispose();
  b.dispose();
});

Deno.test("evaluation uses the running averages and no dropout: deterministic, independent of the batch", async () => {
  const model = await tinyModel();
  for (let s = 0; s < 3; s++) {
    const { x, labels } = batch(8, s);
    await model.trainStep(x, labels, { optimizer: "adam", learningRate: 0.01 });
  }
  const { x } = batch(8, 7);
  const all = await model.predict(x);
  const first = await model.predict(x.subarray(0, 36));
  assert.deepEqual(first, all.subarray(0, 3));
  assert.deepEqual(await model.predict(x), all);
  model.dispose();
});

Deno.test("an optimizer state of version 0.1 (one velocity per parameter, no step) is refused: its velocities are the old SGD rule's", async () => {
  const model = await Sequential.create({
    inputShape: [4],
    backend: "cpu",
    batchSize: 2,
    layers: [new Dense({ units: 3 }), new Softmax()],
  });
  const velocity = (n: number, v: number) => ({ shape: [n], data: new Float32Array(n).fill(v) });
  await assert.rejects(
    () =>
      model.setOptimizerState({
        "dense0.weight": { shape: [4, 3], data: new Float32Array(12).fill(0.5) },
        "dense0.bias": velocity(3, 0.25),
      }),
    /setOptimizerState: "dense0\.weight" is a velocity of a version 0\.1 state .*"<param>\.m" = -v \/ lr/,
  );
  const st = await model.getOptimizerState();
  assert.deepEqual(Array.from(st["dense0.bias.m"].data), [0, 0, 0]);
  assert.deepEqual(Array.from(st.step.data), [0]);
  // The current format without its step is refused, naming it.
  const { step: _, ...noStep } = st;
  await assert.rejects(() => model.setOptimizerState(noStep), /missing tensor "step"/);
  model.dispose();
});

// Issue 18.1: option types. Before, `{ rate: null }` trained as rate 0, `{ rate: "0.5" }` as 0.5
// and `ignoreBorder: "false"` as true: each option is now checked for its type, null included.
Deno.test("layer options are type-checked: the message quotes what was given and names its type", () => {
  const any = (o: unknown) => o as never;
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [
      () => new Dropout(any({ rate: null })),
      TypeError,
      "Dropout: rate must be a number in [0, 1), got null",
    ],
    [
      () => new Dropout(any({ rate: "0.5" })),
      TypeError,
      'Dropout: rate must be a number in [0, 1), got "0.5" (a string)',
    ],
    [
      () => new Dropout({ rate: NaN }),
      RangeError,
      "Dropout: rate must be a number in [0, 1), got NaN",
    ],
    [() => new Dropout(any(0.5)), TypeError, "Dropout: options must be an object, got 0.5"],
    [
      () => new MaxPool2D(any({ poolSize: 2, ignoreBorder: "false" })),
      TypeError,
      'MaxPool2D: ignoreBorder must be true or false, got "false" (a string)',
    ],
    [
      () => new AvgPool2D(any({ poolSize: 2, ignoreBorder: 0 })),
      TypeError,
      "AvgPool2D: ignoreBorder must be true or false, got 0",
    ],
    [
      () => new MaxPool2D(any({ poolSize: 2, ties: null })),
      TypeError,
      'MaxPool2D: ties must be "first" or "all", got null',
    ],
    [
      () => new MaxPool2D(any({ poolSize: 2, strides: null })),
      TypeError,
      "MaxPool2D: strides must be a positive integer or a pair of them, got null",
    ],
    [
      () => new AvgPool2D(any({ poolSize: "2" })),
      TypeError,
      'AvgPool2D: poolSize must be a positive integer or a pair of them, got "2" (a string)',
    ],
    [
      () => new Conv2D(any({ filters: "8", kernelSize: 3 })),
      TypeError,
      'Conv2D: filters must be a positive integer, got "8" (a string)',
    ],
    [
      () => new Conv2D(any({ filters: 8, kernelSize: ["3", 3] })),
      TypeError,
      'Conv2D: kernelSize must be a positive integer or a pair of them, got ["3", 3]',
    ],
    [
      () => new Conv2D(any({ filters: 8, kernelSize: 3, stride: null })),
      TypeError,
      "Conv2D: stride must be a positive integer or a pair of them, got null",
    ],
    [
      () => new Conv2D(any({ filters: 8, kernelSize: 3, padding: null })),
      TypeError,
      'Conv2D: padding must be "valid", "same", a number or [rows, columns], got null',
    ],
    [
      () => new Conv2D(any({ filters: 8, kernelSize: 3, init: null })),
      TypeError,
      'Conv2D: init must be "auto", "tutorial" or "he", got null',
    ],
    [
      () => new Conv2D(any({ filters: 8, kernelSize: 3, name: 5 })),
      TypeError,
      "Conv2D: name must be a non-empty string, got 5",
    ],
    [
      () => new Dense(any({ units: "10" })),
      TypeError,
      'Dense: units must be a positive integer, got "10" (a string)',
    ],
    [
      () => new Dense(any({ units: 10, init: null })),
      TypeError,
      'Dense: init must be "auto", "uniform", "he" or "zeros", got null',
    ],
    [
      () => new BatchNorm2D(any({ epsilon: null })),
      TypeError,
      "BatchNorm2D: epsilon must be a positive number, got null",
    ],
    [
      () => new BatchNorm1D(any({ momentum: "0.1" })),
      TypeError,
      'BatchNorm1D: momentum must be a number in (0, 1], got "0.1" (a string)',
    ],
    [
      () => new BatchNorm2D(any(null)),
      TypeError,
      "BatchNorm2D: options must be an object, got null",
    ],
    [() => new ReLU(any(7)), TypeError, "ReLU: name must be a non-empty string, got 7"],
    [
      () => new Softmax(""),
      TypeError,
      'Softmax: name must be a non-empty string, got "" (a string)',
    ],
    [
      () => new GlobalAvgPool2D(any(null)),
      TypeError,
      "GlobalAvgPool2D: name must be a non-empty string, got null",
    ],
    [
      () => planNetwork([4], [new Dense({ units: 2 }), new Softmax()], any("2")),
      TypeError,
      'batchSize must be a positive integer, got "2" (a string)',
    ],
    [
      () => planNetwork(any(["1", 4]), [new Dense({ units: 2 }), new Softmax()], 2),
      TypeError,
      'inputShape must be positive integers like [1, 28, 28], got ["1", 4]',
    ],
    [
      () => planNetwork([4], any([{}, new Softmax()]), 2),
      TypeError,
      "layer 0 is not a layer of this library, got an object",
    ],
  ];
  for (const [f, ErrorClass, message] of cases) {
    assert.throws(f, (e) => e instanceof ErrorClass && e.message === message, message);
  }
});

// Issue 18.1: the training and model options, same rule.
Deno.test("training and model options are type-checked, null included, quoting what was given", async () => {
  const model = await tinyModel();
  const { x, labels } = batch(4, 0);
  const cases: [unknown, ErrorConstructor, string][] = [
    [0.1, TypeError, "trainStep: options must be an object, got 0.1"],
    [
      { learningRate: null },
      TypeError,
      "trainStep: learningRate must be a positive number, got null",
    ],
    [
      { learningRate: "0.1" },
      TypeError,
      'trainStep: learningRate must be a positive number, got "0.1" (a string)',
    ],
    [
      { momentum: "0.9" },
      TypeError,
      'trainStep: momentum must be a number in [0, 1), got "0.9" (a string)',
    ],
    [{ momentum: null }, TypeError, "trainStep: momentum must be a number in [0, 1), got null"],
    [
      { optimizer: null },
      TypeError,
      'trainStep: optimizer must be "sgd", "adam" or "adamw", got null',
    ],
    [
      { optimizer: "adam", beta1: "0.9" },
      TypeError,
      'trainStep: beta1 must be a number in [0, 1), got "0.9" (a string)',
    ],
    [
      { optimizer: "adam", epsilon: null },
      TypeError,
      "trainStep: epsilon must be a positive number, got null",
    ],
    [
      { optimizer: "adamw", weightDecay: "0" },
      TypeError,
      'trainStep: weightDecay must be a non-negative number, got "0" (a string)',
    ],
    [
      { readLoss: "false" },
      TypeError,
      'trainStep: readLoss must be true or false, got "false" (a string)',
    ],
  ];
  for (const [o, ErrorClass, message] of cases) {
    await assert.rejects(
      async () => await model.trainStep(x, labels, o as never),
      (e) => e instanceof ErrorClass && e.message === message,
      message,
    );
  }
  assert.deepEqual(await model.getOptimizerState().then((s) => Array.from(s.step.data)), [0]);
  model.dispose();

  const create = (o: Record<string, unknown>) => () =>
    Sequential.create({
      inputShape: [4],
      backend: "cpu",
      batchSize: 2,
      layers: [new Dense({ units: 3 }), new Softmax()],
      ...o,
    } as never);
  const bad: [Record<string, unknown>, ErrorConstructor, string][] = [
    [{ batchSize: null }, TypeError, "batchSize must be a positive integer, got null"],
    [{ batchSize: "8" }, TypeError, 'batchSize must be a positive integer, got "8" (a string)'],
    [{ seed: null }, TypeError, "seed must be an integer in [0, 4294967295], got null"],
    [{ seed: "3" }, TypeError, 'seed must be an integer in [0, 4294967295], got "3" (a string)'],
    [{ seed: -1 }, RangeError, "seed must be an integer in [0, 4294967295], got -1"],
    [{ backend: null }, TypeError, 'backend must be "cpu", "webgpu", "native" or "auto", got null'],
    [
      { backend: "gpu" },
      RangeError,
      'backend must be "cpu", "webgpu", "native" or "auto", got "gpu"',
    ],
    [
      { theanoKernels: "false" },
      TypeError,
      'theanoKernels must be true or false, got "false" (a string)',
    ],
    [{ blasPath: 5 }, TypeError, "blasPath must be a non-empty string, got 5"],
  ];
  for (const [o, ErrorClass, message] of bad) {
    await assert.rejects(
      create(o),
      (e) => e instanceof ErrorClass && e.message === message,
      message,
    );
  }
  await assert.rejects(
    () => Sequential.create(null as never),
    (e) =>
      e instanceof TypeError &&
      e.message === "Sequential.create: options must be an object, got null",
  );
});
