/** Helpers shared by the training-step benchmarks. */
import { Conv2D, Dense, MaxPool2D, RandomState, Sequential, Softmax, Tanh } from "../mod.ts";
import type { BackendName } from "../src/backend.ts";

/** The tutorial's LeNet layers. */
export function lenetLayers() {
  return [
    new Conv2D({ filters: 20, kernelSize: 5 }),
    new MaxPool2D({ poolSize: 2 }),
    new Tanh(),
    new Conv2D({ filters: 50, kernelSize: 5 }),
    new MaxPool2D({ poolSize: 2 }),
    new Tanh(),
    new Dense({ units: 500 }),
    new Tanh(),
    new Dense({ units: 10 }),
    new Softmax(),
  ];
}

/** Random inputs in [0, 1) and labels, from fixed seeds (like the peers' scripts). */
export function lenetBenchData(batch: number): { x: Float32Array; labels: Int32Array } {
  const rng = new RandomState(1234);
  return {
    x: Float32Array.from(rng.rand(batch, 1, 28, 28)),
    labels: rng.randint(0, 10, batch),
  };
}

/**
 * The LeNet on a backend, or null (with a line on stderr saying why) when that
 * backend is unavailable here.
 */
export async function benchModel(backend: BackendName, batch: number): Promise<Sequential | null> {
  try {
    return await Sequential.create({
      inputShape: [1, 28, 28],
      layers: lenetLayers(),
      batchSize: batch,
      backend,
    });
  } catch (e) {
    console.error(`skipping ${backend}: ${(e as Error).message.split("\n")[0]}`);
    return null;
  }
}
