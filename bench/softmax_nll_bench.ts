/**
 * softmax and the NLL loss at the tutorial's shapes (batch 500, 10 classes): the CPU reference
 * (baseline), the native backend's twin (the same `cpu/` loops, which it calls) and the WebGPU
 * kernels side by side, one `deno bench` group per op. WebGPU entries are skipped, with a line
 * on stderr saying why, where no adapter is found.
 *
 *   deno bench -A bench/softmax_nll_bench.ts
 *
 * @module
 */
import { softmaxForward } from "../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../cpu/nll.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { BATCH as N, benchCases, F, kernel, labels, type OpCase, rand } from "./_bench_util.ts";

const K = 10, n = N * K;

/** The tutorial LeNet's output layer. */
export const LENET: OpCase[] = [{
  group: "softmax forward",
  shape: `${N}x${K}`,
  kernels: [kernel(specs.softmaxForward(K), 4 * n, F * 2 * n)],
  cpu() {
    const [z, p] = [rand(n), new Float32Array(n)];
    return () => softmaxForward(p, z, N, K);
  },
  nativeNote: "the cpu/ loop, which the native backend calls",
}, {
  group: "nll loss + softmax backward",
  shape: `${N}x${K}`,
  kernels: [
    kernel(specs.nllLoss(K), 4 * n, F * (n + N)),
    kernel(specs.softmaxNllBackward(K), 5 * n, F * (2 * n + N)),
  ],
  cpu() {
    const [z, l, dz] = [rand(n), labels(N), new Float32Array(n)];
    return () => {
      nllLoss(z, l, N, K);
      errorCount(z, l, N, K);
      softmaxNllBackward(dz, z, l, N, K);
    };
  },
  nativeNote: "the cpu/ loops, which the native backend calls",
}];

await benchCases(LENET, 20);
