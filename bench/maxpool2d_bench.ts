/**
 * maxpool2d at the tutorial's shapes (batch 500): the CPU reference (baseline), the native
 * backend's twin (its name says what it runs) and the WebGPU kernels side by side, one
 * `deno bench` group per op and layer. Native and WebGPU entries are skipped, with a line on
 * stderr saying why, where no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/maxpool2d_bench.ts
 *
 * @module
 */
import { benchCases, LENET, MODERN } from "./_bench_util.ts";

await benchCases(LENET.maxpool2d, 5);
await benchCases(MODERN.maxpool2d, 5); // overlapping 3x3 stride 2
