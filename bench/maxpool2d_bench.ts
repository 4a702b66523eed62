/**
 * maxpool2d at the tutorial's shapes (batch 500): the CPU reference (baseline) and the WebGPU
 * kernels side by side, one `deno bench` group per op and layer.
 *
 *   deno bench -A bench/maxpool2d_bench.ts
 *
 * @module
 */
import { benchCases, LENET } from "./_bench_util.ts";

await benchCases(LENET.maxpool2d, 5);
