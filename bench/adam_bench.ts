/**
 * Adam over 431080 parameters: the CPU reference (baseline), the native backend's twin (the
 * same `cpu/` loop, which it calls per parameter array) and the WebGPU kernel side by side in
 * one `deno bench` group. WebGPU entries are skipped, with a line on stderr saying why, where
 * no adapter is found.
 *
 *   deno bench -A bench/adam_bench.ts
 *
 * @module
 */
import { adamUpdate } from "../cpu/adam.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { benchCases, F, kernel, type OpCase, rand } from "./_bench_util.ts";

const P = 431080;
const OPTIONS = {
  learningRate: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
  decoupled: false,
  step: 3,
};

/** One Adam step of the parameters. */
export const MODERN: OpCase[] = [{
  group: "adam update",
  shape: `${P} parameters`,
  kernels: [kernel(specs.adamUpdate(P), 12 * P, F * 7 * P)],
  cpu() {
    const [p, g, m, v] = [rand(P), rand(P), rand(P), rand(P).map(Math.abs)];
    return () => adamUpdate(p, g, m, v, OPTIONS);
  },
  nativeNote: "cpu/ adamUpdate over one array, which the native backend calls per parameter",
}];

await benchCases(MODERN, 3);
