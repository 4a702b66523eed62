/**
 * SGD, plain and with momentum, over the tutorial LeNet's 431080 parameters: the CPU reference
 * (baseline), the native backend's twin (the `cpu/` loop per parameter array, as it calls it)
 * and the WebGPU kernel side by side, one `deno bench` group each. WebGPU entries are skipped,
 * with a line on stderr saying why, where no adapter is found.
 *
 *   deno bench -A bench/sgd_bench.ts
 *
 * @module
 */
import { sgdMomentumUpdate, sgdUpdate } from "../cpu/sgd.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { benchCases, F, kernel, type OpCase, rand } from "./_bench_util.ts";

/** The LeNet's 8 parameter arrays, updated one by one as the native executor does. */
const SIZES = [500, 20, 25000, 50, 400000, 500, 5000, 10], P = 431080;

/** One update of the LeNet's parameters; momentum 0 is plain SGD. */
function sgd(momentum: number): OpCase {
  const step = (p: Float32Array, g: Float32Array, v: Float32Array) =>
    momentum > 0 ? sgdMomentumUpdate(p, g, v, 0.01, momentum) : sgdUpdate(p, g, 0.01);
  return {
    group: momentum > 0 ? "sgd momentum update" : "sgd update",
    shape: `${P} parameters`,
    kernels: [
      kernel(specs.sgdUpdate(P), (momentum > 0 ? 4 : 2) * P, F * (momentum > 0 ? 5 : 4) * P),
    ],
    params: { momentum },
    cpu() {
      const [p, g, v] = [rand(P), rand(P), rand(P)];
      return () => step(p, g, v);
    },
    nativeNote: `cpu/ ${
      momentum > 0 ? "sgdMomentumUpdate" : "sgdUpdate"
    } per parameter array, as the native executor calls it`,
    native() {
      const [ps, gs, vs] = [SIZES.map(rand), SIZES.map(rand), SIZES.map(rand)];
      return () => ps.forEach((p, i) => step(p, gs[i], vs[i]));
    },
  };
}

/** The tutorial LeNet's update (plain SGD). */
export const LENET: OpCase[] = [sgd(0)];
/** The same with momentum 0.9. */
export const MOMENTUM: OpCase[] = [sgd(0.9)];

await benchCases([...LENET, ...MOMENTUM], 20);
