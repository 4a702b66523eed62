/**
 * The Bias layer at the tutorial convention's shapes (its bias added after each max pooling,
 * batch 500): the CPU reference (baseline), the native backend's `bias` stage and the WebGPU
 * kernels side by side, one `deno bench` group per op and layer. Backward computes db only
 * (dx is dOut, which every backend passes on as is). Native and WebGPU entries are skipped,
 * with a line on stderr saying why, where no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/bias_bench.ts
 *
 * @module
 */
import { biasBackward, biasForward } from "../cpu/bias.ts";
import { STAGES } from "../src/backends/native/stages.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { BATCH as N, benchCases, kernel, type OpCase, rand } from "./_bench_util.ts";

/** Forward and backward of C channels of P values. */
function bias(name: string, C: number, P: number): OpCase[] {
  const n = N * C * P, s = { batch: N, channels: C, positions: P }, shape = `${N}x${C}x${P}`;
  const stage = (blas: Parameters<NonNullable<OpCase["native"]>>[0]) => {
    const spec = { name: "b.bias", shape: [C], init: { kind: "zeros" as const } };
    const layer = { kind: "bias" as const, name: "b", inShape: [C, P], outShape: [C, P] };
    return STAGES.bias.make({ ...layer, channels: C, positions: P, bias: spec }, {
      pool: null,
      bias: null,
      act: null,
    }, {
      blas,
      batch: N,
      first: false,
      param: () => ({ value: rand(C), grad: new Float32Array(C) }),
      state: () => new Float32Array(C),
    });
  };
  const run = { training: true, seed: 1, step: 1 };
  const note = "the bias stage; in the tutorial's LeNet fused into the conv stage";
  return [{
    group: `bias forward ${name}`,
    shape,
    kernels: [kernel(specs.biasForward(C, P), n)],
    cpu() {
      const [x, b, y] = [rand(n), rand(C), new Float32Array(n)];
      return () => biasForward(y, x, b, s);
    },
    nativeNote: note,
    native(blas) {
      const st = stage(blas), [x, y] = [rand(n), new Float32Array(n)];
      return () => st.forward(x, y, N, run);
    },
  }, {
    group: `bias backward ${name}`,
    shape,
    kernels: [kernel(specs.biasBackward(C, P), n)],
    cpu() {
      const [dy, db] = [rand(n), new Float32Array(C)];
      return () => biasBackward(null, db, dy, s);
    },
    nativeNote: note,
    native(blas) {
      const st = stage(blas), [x, y, dy] = [rand(n), rand(n), rand(n)];
      return () => st.backward(null, dy, x, y, N);
    },
  }];
}

/** The tutorial convention's LeNet: a bias after each pooling. */
export const LENET: OpCase[] = [...bias("after pool0", 20, 144), ...bias("after pool1", 50, 16)];

await benchCases(LENET, 10);
