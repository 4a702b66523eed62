/**
 * The whole-network parity helpers, shared by tests/train_webgpu_test.ts (Deno) and
 * tests/train_browser_test.ts (the same steps in a Chromium page, through tests/_page.ts):
 * the tutorial's LeNet trained by `Sequential` on backend "webgpu" and on backend "cpu" from
 * the same initial weights and the same random data.
 * Tolerances: losses rtol 1e-4; weights after the steps atol 1e-4 * max|w| + rtol 1e-3 (float32
 * sums on the GPU, float64 sums in the CPU reference; the difference grows a little per step).
 *
 * @module
 */
import { type Layer, lenet5, Sequential } from "../mod.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { atolFor, device } from "./_webgpu.ts";

export const lenet = (): Layer[] => lenet5();

export function data(seed: number, count: number, sample: number, classes = 10) {
  const rng = new RandomState(seed);
  const x = Float32Array.from(rng.uniform(0, 1, count * sample));
  const labels = Int32Array.from(
    { length: count },
    () => Math.floor(rng.uniform(0, classes, 1)[0]),
  );
  return { x, labels };
}

export async function pair(layers: () => Layer[], inputShape: number[], batchSize: number) {
  const make = (backend: "cpu" | "webgpu") =>
    Sequential.create({ inputShape, layers: layers(), batchSize, backend, device: device! });
  return [await make("cpu"), await make("webgpu")] as const;
}

export async function assertSameWeights(cpu: Sequential, gpu: Sequential, msg: string) {
  const [a, b] = [await cpu.getWeights(), await gpu.getWeights()];
  for (const name of Object.keys(a)) {
    assertAllClose(b[name].data, a[name].data, {
      rtol: 1e-3,
      atol: atolFor(a[name].data, 1e-4),
      msg: `${msg}: ${name}`,
    });
  }
}

export async function trainBoth(
  cpu: Sequential,
  gpu: Sequential,
  steps: { count: number; momentum?: number }[],
  seed: number,
) {
  const sample = cpu.plan.inputShape.reduce((a, b) => a * b, 1);
  const losses: [number, number][] = [];
  for (const [k, s] of steps.entries()) {
    const { x, labels } = data(seed + k, s.count, sample, cpu.plan.classes);
    const opts = { learningRate: 0.1, momentum: s.momentum ?? 0 };
    losses.push([await cpu.trainStep(x, labels, opts), await gpu.trainStep(x, labels, opts)]);
  }
  assertAllClose(losses.map((l) => l[1]), losses.map((l) => l[0]), { rtol: 1e-4, msg: "losses" });
  return losses;
}

/**
 * Five SGD steps of the tutorial's LeNet at batch 16 on both backends, then evaluate and
 * predict on fresh data: everything must agree within the tolerances above.
 *
 * @returns The losses of each step, `[cpu, webgpu]`.
 */
export async function lenetFiveSteps(): Promise<[number, number][]> {
  const [cpu, gpu] = await pair(lenet, [1, 28, 28], 16);
  await assertSameWeights(cpu, gpu, "initial weights");
  const steps = Array.from({ length: 5 }, () => ({ count: 16 }));
  const losses = await trainBoth(cpu, gpu, steps, 100);
  await assertSameWeights(cpu, gpu, "after 5 steps");
  // evaluate and predict on fresh data
  const { x, labels } = data(7, 16, 784);
  const [ec, eg] = [await cpu.evaluate(x, labels), await gpu.evaluate(x, labels)];
  assertAllClose([eg.loss], [ec.loss], { rtol: 1e-4, msg: "evaluate loss" });
  if (eg.errors !== ec.errors) {
    throw new Error(`evaluate errors: webgpu ${eg.errors}, cpu ${ec.errors}`);
  }
  const [pc, pg] = [await cpu.predict(x), await gpu.predict(x)];
  assertAllClose(pg, pc, { rtol: 1e-3, atol: 1e-5, msg: "predict" });
  cpu.dispose();
  gpu.dispose();
  return losses;
}
