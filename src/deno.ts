/**
 * The parts that need Deno's file system and network: MNIST / Fashion-MNIST loading
 * (a local folder, or a verified, cached download) and atomic safetensors
 * checkpoints. Everything else of the library runs in any WebGPU runtime.
 *
 * @example Load MNIST and save a checkpoint
 * ```ts ignore
 * import { loadMnist, saveCheckpoint } from "@lenet/webgpu-cnn/deno";
 * const { train, valid, test } = await loadMnist({ dataDir: "./mnist" });
 * console.log(train.count, valid.count, test.count); // 50000 10000 10000
 * await saveCheckpoint("model.safetensors", await model.getWeights(), { epoch: "3" });
 * ```
 *
 * @module
 */
export { defaultCacheDir, loadMnist, MNIST_MIRRORS } from "./data/mnist_deno.ts";
export type { LoadMnistOptions, MnistDataset } from "./data/mnist_deno.ts";
export { loadCheckpoint, saveCheckpoint, writeFileAtomic } from "./checkpoint_deno.ts";
