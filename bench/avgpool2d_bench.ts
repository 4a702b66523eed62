/**
 * avgpool2d at the shapes of a small modern CNN (batch 500): the CPU reference (baseline), the
 * native backend's twin and the WebGPU kernels side by side, one `deno bench` group per op
 * and shape. Native and WebGPU entries are skipped, with a line on stderr saying why, where
 * no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/avgpool2d_bench.ts
 *
 * @module
 */
import { avgPool2dBackward, avgPool2dForward } from "../cpu/avgpool2d.ts";
import { AvgPoolStage } from "../src/backends/native/pool.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import {
  BATCH as N,
  benchCases,
  kernel,
  type OpCase,
  pooled,
  type PoolSize,
  rand,
} from "./_bench_util.ts";

/** Forward and backward at one shape; a global pooling's stage outputs `[C]`. */
function avgPool(name: string, size: PoolSize): OpCase[] {
  const { d, s, xs, ys, shape, geometry } = pooled(size), flops = ys * d.PH * d.PW;
  const global = d.PH === d.H && d.PW === d.W;
  const stage = () =>
    new AvgPoolStage({ ...geometry, outShape: global ? [d.C] : geometry.outShape }, N);
  return [{
    group: `avgpool2d forward ${name}`,
    shape,
    kernels: [kernel(specs.avgPool2dForward(d), flops)],
    cpu() {
      const [x, y] = [rand(xs), new Float32Array(ys)];
      return () => avgPool2dForward(y, x, s);
    },
    nativeNote: "AvgPoolStage",
    native() {
      const st = stage(), [x, y] = [rand(xs), new Float32Array(ys)];
      return () => st.forward(y, x, N);
    },
  }, {
    group: `avgpool2d backward ${name}`,
    shape,
    kernels: [kernel(specs.avgPool2dBackward(d), flops)],
    cpu() {
      const [dy, dx] = [rand(ys), new Float32Array(xs)];
      return () => avgPool2dBackward(dx, dy, s);
    },
    nativeNote: "AvgPoolStage",
    native() {
      const st = stage(), [dy, dx] = [rand(ys), new Float32Array(xs)];
      return () => st.backward(dx, dy, N);
    },
  }];
}

/** A small modern CNN's average poolings. */
export const MODERN: OpCase[] = [
  ...avgPool("2x2 on 32x28x28", { C: 32, H: 28, W: 28, PH: 2, PW: 2, ignoreBorder: true }),
  ...avgPool("global on 64x7x7", { C: 64, H: 7, W: 7, PH: 7, PW: 7, ignoreBorder: true }),
];

await benchCases(MODERN, 3);
