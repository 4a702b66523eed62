/**
 * Whole-network parity: the tutorial's LeNet trained by `Sequential` on backend "webgpu" and
 * on backend "cpu" from the same initial weights and the same random data.
 * Tolerances: losses rtol 1e-4; weights after the steps atol 1e-4 * max|w| + rtol 1e-3 (float32
 * sums on the GPU, float64 sums in the CPU reference; the difference grows a little per step).
 */
import {
  Conv2D,
  Dense,
  type Layer,
  MaxPool2D,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
} from "../mod.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { device, hasAdapter } from "./_webgpu.ts";
import { assertSameWeights, data, lenet, lenetFiveSteps, pair, trainBoth } from "./_train_cases.ts";

Deno.test({
  name: "train webgpu: 5 SGD steps of the tutorial's LeNet (batch 16) match the cpu backend",
  ignore: !hasAdapter,
  async fn() {
    const losses = await lenetFiveSteps();
    console.log(
      "losses cpu / webgpu:",
      losses.map(([a, b]) => `${a.toFixed(6)} / ${b.toFixed(6)}`).join(", "),
    );
  },
});

Deno.test({
  name:
    "train webgpu: momentum, sigmoid, ignoreBorder=false and count < batchSize match the cpu backend",
  ignore: !hasAdapter,
  async fn() {
    const layers = (): Layer[] => [
      new Conv2D({ filters: 4, kernelSize: [3, 2] }),
      new MaxPool2D({ poolSize: [2, 3], ignoreBorder: false }),
      new Sigmoid(),
      new Dense({ units: 13 }),
      new Tanh(),
      new Dense({ units: 5 }),
      new Softmax(),
    ];
    const [cpu, gpu] = await pair(layers, [2, 11, 9], 12);
    await trainBoth(cpu, gpu, [
      { count: 12, momentum: 0.9 },
      { count: 7, momentum: 0.9 },
      { count: 12 },
      { count: 1, momentum: 0.5 },
      { count: 5, momentum: 0.9 },
    ], 200);
    await assertSameWeights(cpu, gpu, "after 5 steps");
    cpu.dispose();
    gpu.dispose();
  },
});

Deno.test({
  name: "train webgpu: a byte dataset on the GPU trains like host batches on the cpu backend",
  ignore: !hasAdapter,
  async fn() {
    const [cpu, gpu] = await pair(lenet, [1, 28, 28], 10);
    const rng = new RandomState(5);
    const count = 33; // 33 * 784 bytes: batches start at byte offsets that are not multiples of 4
    const bytes = Uint8Array.from(rng.uniform(0, 256, count * 784), Math.floor);
    const labels = Uint8Array.from(rng.uniform(0, 10, count), Math.floor);
    const dc = cpu.createDataset(bytes, labels), dg = gpu.createDataset(bytes, labels);
    const losses: [number, number][] = [];
    for (const [start, n] of [[0, 10], [10, 10], [21, 10], [31, 2], [3, 7]]) {
      losses.push([await cpu.trainBatch(dc, start, n), await gpu.trainBatch(dg, start, n)]);
    }
    assertAllClose(losses.map((l) => l[1]), losses.map((l) => l[0]), {
      rtol: 1e-4,
      msg: "dataset losses",
    });
    const [ec, eg] = [await cpu.evaluateDataset(dc), await gpu.evaluateDataset(dg)];
    assertAllClose([eg.loss], [ec.loss], { rtol: 1e-4, msg: "evaluateDataset loss" });
    if (eg.errors !== ec.errors) {
      throw new Error(`evaluateDataset errors: webgpu ${eg.errors}, cpu ${ec.errors}`);
    }
    // readLoss false returns NaN without reading; the step still happens
    const skipped = await gpu.trainBatch(dg, 0, 10, { readLoss: false });
    if (!Number.isNaN(skipped)) throw new Error(`readLoss false should give NaN, got ${skipped}`);
    await cpu.trainBatch(dc, 0, 10);
    await assertSameWeights(cpu, gpu, "after the dataset steps");
    dg.dispose();
    cpu.dispose();
    gpu.dispose();
  },
});

Deno.test({
  name: "train webgpu: one SGD step of the tutorial's LeNet at its full shapes (batch 500)",
  ignore: !hasAdapter,
  async fn() {
    const [cpu, gpu] = await pair(lenet, [1, 28, 28], 500);
    const { x, labels } = data(500, 500, 784);
    await trainBoth(cpu, gpu, [{ count: 500 }], 500);
    await assertSameWeights(cpu, gpu, "after a step at batch 500");
    const [ec, eg] = [await cpu.evaluate(x, labels), await gpu.evaluate(x, labels)];
    assertAllClose([eg.loss], [ec.loss], { rtol: 1e-4, msg: "evaluate loss at batch 500" });
    if (eg.errors !== ec.errors) throw new Error(`errors: webgpu ${eg.errors}, cpu ${ec.errors}`);
    cpu.dispose();
    gpu.dispose();
  },
});

Deno.test({
  name: "train webgpu: steps create no buffer, bind group or pipeline (memory stays flat)",
  ignore: !hasAdapter,
  async fn() {
    const dev = device!;
    const gpu = await Sequential.create({
      inputShape: [1, 28, 28],
      layers: lenet(),
      batchSize: 8,
      backend: "webgpu",
      device: dev,
    });
    const { x, labels } = data(3, 8, 784);
    const ds = gpu.createDataset(Uint8Array.from(x, (v) => v * 255), labels);
    await gpu.trainStep(x, labels);
    const counts: Record<string, number> = {};
    const methods = [
      "createBuffer",
      "createBindGroup",
      "createComputePipeline",
      "createComputePipelineAsync",
    ] as const;
    const originals = methods.map((m) => dev[m]);
    methods.forEach((m, i) => {
      // deno-lint-ignore no-explicit-any
      (dev as any)[m] = (...args: unknown[]) => {
        counts[m] = (counts[m] ?? 0) + 1;
        // deno-lint-ignore no-explicit-any
        return (originals[i] as any).apply(dev, args);
      };
    });
    try {
      for (let k = 0; k < 10; k++) {
        await gpu.trainStep(x, labels, { momentum: 0.9, readLoss: k % 2 === 0 });
        await gpu.trainBatch(ds, 0, 5);
      }
      await gpu.evaluate(x, labels);
      await gpu.predict(x);
      await gpu.getWeights();
    } finally {
      // deno-lint-ignore no-explicit-any
      methods.forEach((m, i) => (dev as any)[m] = originals[i]);
    }
    if (Object.keys(counts).length) {
      throw new Error(`created during steps: ${JSON.stringify(counts)}`);
    }
    gpu.dispose();
  },
});
