/**
 * One whole training step (forward, NLL, backward, SGD) of the tutorial's LeNet at
 * batch 500, on every backend available here, side by side. Images/s = 500 / time.
 *
 *   deno bench -A bench/train_step_bench.ts
 *
 * `bench/train_step.ts` prints the same as a table of images per second.
 */
import { benchModel, lenetBenchData } from "./_train_step_util.ts";

const BATCH = 500;
const { x, labels } = lenetBenchData(BATCH);

for (const backend of ["cpu", "native", "webgpu"] as const) {
  const model = await benchModel(backend, BATCH);
  Deno.bench({
    name: `train step ${backend}`,
    group: "LeNet train step, batch 500",
    baseline: backend === "cpu",
    ignore: model === null,
    // The CPU reference takes seconds per step: keep its sample small.
    n: backend === "cpu" ? 2 : 10,
    warmup: backend === "cpu" ? 1 : 2,
    async fn() {
      await model!.trainStep(x, labels, { learningRate: 0.1 });
    },
  });
}
