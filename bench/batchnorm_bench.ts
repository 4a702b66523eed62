/**
 * batchnorm at the shapes of a small modern CNN (batch 500): the CPU reference (baseline), the
 * native backend's twin (its name says what it runs) and the WebGPU kernels side by side, one
 * `deno bench` group per op and shape. Native and WebGPU entries are skipped, with a line on
 * stderr saying why, where no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/batchnorm_bench.ts
 *
 * @module
 */
import { benchCases, MODERN } from "./_bench_util.ts";

await benchCases(MODERN.batchnorm, 3);
