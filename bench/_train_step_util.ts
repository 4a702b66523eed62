/** Helpers shared by the training-step benchmarks. */
import { lenet5, RandomState, Sequential } from "../mod.ts";
import type { BackendName } from "../src/backend.ts";

/** The tutorial's LeNet layers. */
export function lenetLayers() {
  return lenet5();
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
