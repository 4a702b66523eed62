/**
 * Whole training steps on the native backend against the reference `cpu` backend: the same
 * model, initial weights and random batches, compared step by step.
 *
 * Tolerances: losses rtol 1e-5 (float32 GEMMs vs the reference's float64 sums, after 5 SGD
 * steps); parameters after the steps atol 1e-4 + rtol 1e-3; probabilities atol 1e-5.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
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
  type Layer,
  lenet5,
  MaxPool2D,
  RandomState,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
  type TrainOptions,
} from "../mod.ts";
import { tryLoadBlas } from "../src/backends/native/blas.ts";
import { assertAllClose } from "./_assert.ts";

const probe = tryLoadBlas();
const ignore = !("blas" in probe);
if ("error" in probe) console.log(`native training tests skipped, no BLAS: ${probe.error.message}`);

const lenet = (): Layer[] => lenet5();

/** Unfused orders, a standalone pooling with partial windows, sigmoids, non-square kernels. */
const odd = (): Layer[] => [
  new Conv2D({ filters: 4, kernelSize: [3, 2] }),
  new Tanh(),
  new MaxPool2D({ poolSize: [2, 3], ignoreBorder: false }),
  new Sigmoid(),
  new Conv2D({ filters: 5, kernelSize: 2 }),
  new Sigmoid(),
  new Dense({ units: 12 }),
  new Tanh(),
  new Tanh(),
  new Dense({ units: 7 }),
  new Softmax(),
];

/**
 * A small modern network: "same" 3x3 convolutions + batch norm + ReLU, overlapping max
 * pooling, a strided padded convolution, average pooling, dense + batch norm + dropout.
 */
const modern = (): Layer[] => [
  new Conv2D({ filters: 6, kernelSize: 3, padding: "same" }),
  new BatchNorm2D(),
  new ReLU(),
  new MaxPool2D({ poolSize: 3, strides: 2, ignoreBorder: false }),
  new Conv2D({ filters: 8, kernelSize: 3, stride: 2, padding: 1 }),
  new BatchNorm2D({ momentum: 0.2 }),
  new ReLU(),
  new AvgPool2D({ poolSize: 2, ignoreBorder: false }),
  new Dense({ units: 16 }),
  new BatchNorm1D(),
  new ReLU(),
  new Dropout({ rate: 0.3 }),
  new Dense({ units: 10 }),
  new Softmax(),
];

/** Dropout on the input and on conv maps, a lone ReLU, a global average pooling. */
const modern2 = (): Layer[] => [
  new Dropout({ rate: 0.2 }),
  new Conv2D({ filters: 5, kernelSize: [3, 2], padding: "same" }),
  new ReLU(),
  new Dropout({ rate: 0.5 }),
  new Conv2D({ filters: 7, kernelSize: 3, padding: "same" }),
  new BatchNorm2D(),
  new Tanh(),
  new GlobalAvgPool2D(),
  new Dense({ units: 4 }),
  new Softmax(),
];

async function compare(
  name: string,
  layers: () => Layer[],
  inputShape: number[],
  classes: number,
  batch: number,
  momentum: number,
  options?: TrainOptions,
  beforeBatchNorm: [string, string][] = [],
): Promise<void> {
  const rng = new RandomState(7);
  const size = inputShape.reduce((a, b) => a * b, 1);
  const opts = { inputShape, batchSize: batch, seed: 1234 };
  const cpu = await Sequential.create({ ...opts, layers: layers(), backend: "cpu" });
  const nat = await Sequential.create({ ...opts, layers: layers(), backend: "native" });
  try {
    for (let step = 0; step < 5; step++) {
      // the last step uses a partial batch
      const n = step === 4 ? batch - 3 : batch;
      const x = Float32Array.from(rng.uniform(0, 1, n * size));
      const y = rng.randint(0, classes, n);
      const train = options ?? { learningRate: 0.1, momentum };
      const expected = await cpu.trainStep(x, y, train);
      const actual = await nat.trainStep(x, y, train);
      assert.ok(
        Math.abs(actual - expected) <= 1e-5 * Math.abs(expected),
        `${name} step ${step}: loss ${actual} vs cpu ${expected}`,
      );
    }
    const pc = await cpu.getWeights(), pn = await nat.getWeights();
    const oc = await cpu.getOptimizerState(), on = await nat.getOptimizerState();
    assert.deepEqual(Object.keys(pn), Object.keys(pc));
    assert.deepEqual(Object.keys(on), Object.keys(oc));
    // Adam divides by sqrt(v): where a gradient is rounding noise on both backends (a bias
    // whose output a batch norm normalises has a gradient of exactly zero in exact arithmetic;
    // a channel that ReLU nearly silences, almost zero), each backend takes steps of up to
    // ~lr in its own random direction. Such elements (first moment below 1e-6 on both) are
    // checked against Adam's step bound, lr·(1-β1)/sqrt(1-β2) ≈ 3.2·lr per step, instead;
    // the running means of the batch norms right after such biases (`beforeBatchNorm`)
    // follow them and are left out, with evaluation mode.
    const adam = options?.optimizer === "adam" || options?.optimizer === "adamw";
    const bound = 2 * 5 * 3.2 * (options?.learningRate ?? 0);
    const skip = new Set(beforeBatchNorm.map(([, bn]) => `${bn}.running_mean`));
    for (const [k, v] of Object.entries(pc)) {
      if (skip.has(k)) continue;
      const a = pn[k].data.slice(), e = v.data.slice();
      const mc = oc[`${k}.m`]?.data, mn = on[`${k}.m`]?.data;
      for (let i = 0; adam && mc && i < e.length; i++) {
        if (Math.abs(mc[i]) >= 1e-6 || Math.abs(mn[i]) >= 1e-6) continue;
        assert.ok(Math.abs(a[i] - e[i]) <= bound, `${name} ${k}[${i}]: ${a[i]} vs ${e[i]}`);
        for (const t of [a, e, oc[`${k}.v`].data, on[`${k}.v`].data]) t[i] = 0;
      }
      assertAllClose(a, e, { rtol: 1e-3, atol: 1e-4, msg: `${name} ${k}` });
    }
    for (const [k, v] of Object.entries(oc)) {
      assertAllClose(on[k].data, v.data, { rtol: 1e-3, atol: 1e-4, msg: `${name} state ${k}` });
    }
    // evaluation mode reads the running means, which follow the noise-driven biases
    if (beforeBatchNorm.length) return;
    const x = Float32Array.from(rng.uniform(0, 1, batch * size));
    const y = rng.randint(0, classes, batch);
    const ec = await cpu.evaluate(x, y), en = await nat.evaluate(x, y);
    assert.ok(Math.abs(ec.loss - en.loss) <= 1e-5 * ec.loss, `${name} evaluate loss`);
    assert.ok(Math.abs(ec.errors - en.errors) <= 1, `${name} errors ${en.errors} vs ${ec.errors}`);
    assertAllClose(await nat.predict(x), await cpu.predict(x), {
      rtol: 0,
      atol: 1e-5,
      msg: `${name} predict`,
    });
  } finally {
    cpu.dispose();
    nat.dispose();
  }
}

Deno.test({
  name: "native training: the tutorial's LeNet, 5 SGD steps, same losses as cpu",
  ignore,
  fn: () => compare("lenet sgd", lenet, [1, 28, 28], 10, 24, 0),
});

Deno.test({
  name: "native training: the tutorial's LeNet, 5 momentum steps, same losses as cpu",
  ignore,
  fn: () => compare("lenet momentum", lenet, [1, 28, 28], 10, 16, 0.9),
});

Deno.test({
  name: "native training: unfused layer orders, partial pooling, sigmoid, 2 channels in",
  ignore,
  fn: () => compare("odd", odd, [2, 11, 10], 7, 9, 0.5),
});

Deno.test({
  name:
    "native training: a modern network (same conv, batch norm, ReLU, overlapping pool, strided conv, avg pool, dropout), 5 Adam steps, same as cpu",
  ignore,
  fn: () =>
    compare("modern adam", modern, [1, 14, 13], 10, 12, 0, {
      optimizer: "adam",
      learningRate: 0.01,
    }, [["conv0", "bn0"], ["conv1", "bn1"], ["dense0", "bn2"]]),
});

Deno.test({
  name: "native training: dropout on input and conv maps, global average pooling, AdamW",
  ignore,
  fn: () =>
    compare("modern2 adamw", modern2, [2, 9, 8], 4, 10, 0, {
      optimizer: "adamw",
      learningRate: 0.005,
      weightDecay: 0.1,
    }, [["conv1", "bn0"]]),
});

Deno.test({
  name: "native training: a modern network with SGD momentum, same as cpu",
  ignore,
  fn: () => compare("modern momentum", modern, [1, 14, 13], 10, 12, 0.9),
});

Deno.test({
  name: "native training: datasets fed by index give the same losses as host arrays",
  ignore,
  async fn() {
    const rng = new RandomState(3);
    const count = 40, batch = 20;
    const images = Uint8Array.from(rng.randint(0, 256, count * 784));
    const labels = Uint8Array.from(rng.randint(0, 10, count));
    const a = await Sequential.create({
      inputShape: [1, 28, 28],
      batchSize: batch,
      layers: lenet(),
      backend: "native",
    });
    const b = await Sequential.create({
      inputShape: [1, 28, 28],
      batchSize: batch,
      layers: lenet(),
      backend: "native",
    });
    const ds = a.createDataset(images, labels);
    for (let start = 0; start < count; start += batch) {
      const la = await a.trainBatch(ds, start, batch);
      const x = Float32Array.from(
        images.subarray(start * 784, (start + batch) * 784),
        (v) => v * (1 / 255),
      );
      const lb = await b.trainStep(x, labels.subarray(start, start + batch));
      assert.ok(Math.abs(la - lb) <= 1e-6 * lb, `batch at ${start}: ${la} vs ${lb}`);
    }
    ds.dispose();
    a.dispose();
    b.dispose();
  },
});

Deno.test({
  name: "native training: calls made without awaiting run one after another",
  ignore,
  async fn() {
    const rng = new RandomState(5);
    const opts = { inputShape: [1, 28, 28], batchSize: 20, backend: "native" as const };
    const a = await Sequential.create({ ...opts, layers: lenet() });
    const b = await Sequential.create({ ...opts, layers: lenet() });
    const xs = [0, 1, 2].map(() => Float32Array.from(rng.uniform(0, 1, 20 * 784)));
    const ys = [0, 1, 2].map(() => rng.randint(0, 10, 20));
    const sequential: number[] = [];
    for (let i = 0; i < 3; i++) sequential.push(await a.trainStep(xs[i], ys[i]));
    const together = await Promise.all([0, 1, 2].map((i) => b.trainStep(xs[i], ys[i])));
    assert.deepEqual(together, sequential);
    const pa = await a.predict(xs[0]);
    const pending = b.predict(xs[0]);
    b.dispose(); // while the prediction is still running
    assert.deepEqual(await pending, pa);
    a.dispose();
  },
});

Deno.test({
  name: "native executor: refuses work after dispose (its buffers are gone)",
  ignore,
  async fn() {
    const { createNativeExecutor } = await import("../src/backends/native/executor.ts");
    const { planNetwork } = await import("../src/layers.ts");
    const plan = planNetwork([1, 4, 4], [new Dense({ units: 3 }), new Softmax()], 2);
    const exec = await createNativeExecutor(plan, {});
    exec.dispose();
    exec.dispose(); // twice is fine
    await assert.rejects(
      async () => await exec.predict({ x: new Float32Array(16), count: 1 }),
      /used after dispose/,
    );
  },
});

Deno.test("native backend: the library imports without --allow-ffi; create says what to add", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const code = `import { Conv2D, Dense, Sequential, Softmax } from "${mod}";
try {
  await Sequential.create({ inputShape: [1, 4, 4], backend: "native",
    layers: [new Conv2D({ filters: 2, kernelSize: 3 }), new Dense({ units: 2 }), new Softmax()] });
  console.log("created");
} catch (e) { console.log(e.name, e.message); }`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-prompt",
      `--allow-read=${new URL("..", import.meta.url).pathname}`,
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(file);
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /^BlasNotFoundError no CBLAS library could be loaded/);
  assert.match(text, /--allow-ffi/);
});

Deno.test({
  name:
    "native training: weights (with running statistics) and Adam state copied to a new model continue bit-identically",
  ignore,
  async fn() {
    const rng = new RandomState(11);
    const opts = { inputShape: [1, 14, 13], batchSize: 8, seed: 99, backend: "native" as const };
    const a = await Sequential.create({ ...opts, layers: modern() });
    const b = await Sequential.create({ ...opts, layers: modern() });
    const batches = [0, 1, 2, 3].map(() => ({
      x: Float32Array.from(rng.uniform(0, 1, 8 * 182)),
      y: rng.randint(0, 10, 8),
    }));
    const train = { optimizer: "adam" as const, learningRate: 0.01 };
    for (const { x, y } of batches.slice(0, 2)) await a.trainStep(x, y, train);
    await b.setWeights(await a.getWeights());
    await b.setOptimizerState(await a.getOptimizerState());
    for (const { x, y } of batches.slice(2)) {
      assert.equal(await b.trainStep(x, y, train), await a.trainStep(x, y, train));
    }
    const { x, y } = batches[0];
    assert.deepEqual(await b.evaluate(x, y), await a.evaluate(x, y));
    assert.deepEqual(await b.predict(x), await a.predict(x));
    const wa = await a.getWeights(), wb = await b.getWeights();
    assert.ok(Object.keys(wa).some((k) => k.endsWith("running_var")));
    for (const k of Object.keys(wa)) assert.deepEqual(wb[k].data, wa[k].data, k);
    a.dispose();
    b.dispose();
  },
});
