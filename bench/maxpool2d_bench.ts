/**
 * maxpool2d at the tutorial's shapes and a small modern CNN's overlapping 3x3 stride 2 (batch
 * 500): the CPU reference (baseline), the native backend's twin (its name says what it runs)
 * and the WebGPU kernels side by side, one `deno bench` group per op and layer. Native and
 * WebGPU entries are skipped, with a line on stderr saying why, where no CBLAS or no adapter
 * is found.
 *
 *   deno bench -A bench/maxpool2d_bench.ts
 *
 * @module
 */
import { maxPool2dBackward, maxPool2dForward } from "../cpu/maxpool2d.ts";
import { PoolStage } from "../src/backends/native/pool.ts";
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

/** Forward and backward at one shape. */
function pool(name: string, size: PoolSize): OpCase[] {
  const { d, s, xs, ys, shape, geometry } = pooled(size), flops = ys * d.PH * d.PW;
  return [{
    group: `maxpool2d forward ${name}`,
    shape,
    kernels: [kernel(specs.maxPool2dForward(d), flops)],
    cpu() {
      const [x, y] = [rand(xs), new Float32Array(ys)];
      return () => maxPool2dForward(y, x, s);
    },
    nativeNote: "PoolStage, records argmax; in LeNet fused into the conv stage",
    native() {
      const stage = new PoolStage(geometry, null, N), [x, y] = [rand(xs), new Float32Array(ys)];
      return () => stage.forward(y, x, N);
    },
  }, {
    group: `maxpool2d backward ${name}`,
    shape,
    kernels: [kernel(specs.maxPool2dBackward(d), flops)],
    cpu() {
      const [x, dy, dx] = [rand(xs), rand(ys), new Float32Array(xs)];
      return () => maxPool2dBackward(dx, dy, x, s);
    },
    nativeNote: "PoolStage, argmax scatter; in LeNet fused into the conv stage",
    native() {
      const stage = new PoolStage(geometry, null, N);
      const [x, y, dy, dx] = [rand(xs), new Float32Array(ys), rand(ys), new Float32Array(xs)];
      stage.forward(y, x, N); // records the argmax backward scatters through
      return () => stage.backward(dx, dy, y, N);
    },
  }];
}

/** The tutorial LeNet's poolings. */
export const LENET: OpCase[] = [
  ...pool("pool0", { C: 20, H: 24, W: 24, PH: 2, PW: 2, ignoreBorder: true }),
  ...pool("pool1", { C: 50, H: 8, W: 8, PH: 2, PW: 2, ignoreBorder: true }),
];
/** A small modern CNN's: overlapping 3x3 stride 2. */
export const MODERN: OpCase[] = pool("3x3 stride 2 on 32x28x28", {
  C: 32,
  H: 28,
  W: 28,
  PH: 3,
  PW: 3,
  SH: 2,
  SW: 2,
  ignoreBorder: false,
});

await benchCases(LENET, 5);
await benchCases(MODERN, 5);
