/**
 * The activations, batch 500: tanh at the tutorial's shapes, ReLU at a small modern CNN's,
 * sigmoid after a dense layer. The CPU reference (baseline), the native backend's twin (its
 * name says what it runs) and the WebGPU kernels side by side, one `deno bench` group per op
 * and layer. Native and WebGPU entries are skipped, with a line on stderr saying why, where
 * no CBLAS or no adapter is found.
 *
 *   deno bench -A bench/activations_bench.ts
 *
 * @module
 */
import { reluBackward, reluForward } from "../cpu/relu.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { activateInPlace, activationBackward } from "../src/backends/native/pointwise.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { BATCH, benchCases, kernel, type OpCase, rand } from "./_bench_util.ts";

type Kind = "tanh" | "relu" | "sigmoid";
type Loop = (out: Float32Array, a: Float32Array, b: Float32Array) => void;
const CPU: Record<Kind, [(y: Float32Array, x: Float32Array) => void, Loop]> = {
  tanh: [tanhForward, tanhBackward],
  relu: [reluForward, reluBackward],
  sigmoid: [sigmoidForward, sigmoidBackward],
};

/** Forward and backward (from the output) of `size` values per sample. */
function activation(kind: Kind, name: string, size: number): OpCase[] {
  const n = BATCH * size, shape = `${BATCH}x${size}`, [forward, backward] = CPU[kind];
  return [{
    group: `${kind} forward ${name}`,
    shape,
    kernels: [kernel(specs.activation(kind, "forward", size), n)],
    cpu() {
      const [x, y] = [rand(n), new Float32Array(n)];
      return () => forward(y, x);
    },
    nativeNote: `copy + ${kind} in place; in a network fused into the stage before`,
    native() {
      const [x, y] = [rand(n), new Float32Array(n)];
      return () => {
        y.set(x);
        activateInPlace(kind, y, n);
      };
    },
  }, {
    group: `${kind} backward ${name}`,
    shape,
    kernels: [kernel(specs.activation(kind, "backward", size), 3 * n)],
    cpu() {
      const [dy, y, dx] = [rand(n), rand(n), new Float32Array(n)];
      return () => backward(dx, dy, y);
    },
    nativeNote: "from the output; in a network fused into the stage before",
    native() {
      const [dy, y, dx] = [rand(n), rand(n), new Float32Array(n)];
      return () => activationBackward(kind, dx, dy, y, n);
    },
  }];
}

/** The tutorial LeNet's tanh layers. */
export const LENET: OpCase[] = [
  ...activation("tanh", "after conv0", 20 * 12 * 12),
  ...activation("tanh", "after dense0", 500),
];
/** A small modern CNN's ReLUs, and a sigmoid. */
export const MODERN: OpCase[] = [
  ...activation("relu", "after a 32x14x14 conv", 32 * 14 * 14),
  ...activation("relu", "after a dense 128", 128),
  ...activation("sigmoid", "after a dense 500", 500),
];

await benchCases(LENET, 10);
await benchCases(MODERN, 3);
