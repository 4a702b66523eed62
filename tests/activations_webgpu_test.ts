/**
 * Parity of the tanh and sigmoid kernels with `cpu/tanh.ts` and `cpu/sigmoid.ts`, including
 * large inputs (no overflow to NaN). Tolerance: rtol 1e-5, atol 1e-6 (one float32 op each).
 */
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { hasAdapter, randomArray, runKernel } from "./_webgpu.ts";

const FORWARD = { tanh: tanhForward, sigmoid: sigmoidForward };
const BACKWARD = { tanh: tanhBackward, sigmoid: sigmoidBackward };

async function check(kind: "tanh" | "sigmoid", count: number, size: number, allocated = count) {
  const rng = new RandomState(kind === "tanh" ? 1 : 2);
  const x = randomArray(rng, allocated * size, -6, 6);
  x.set([0, -0, 1e-4, -1e-4, 30, -30, 100, -100, 1e5, -1e5].slice(0, x.length));
  const dOut = randomArray(rng, allocated * size);
  const n = count * size;
  const y = new Float32Array(n);
  FORWARD[kind](y, x.subarray(0, n));
  const dx = new Float32Array(n);
  BACKWARD[kind](dx, dOut.subarray(0, n), y);
  const tag = `${kind} N${count}/${allocated} size ${size}`;
  const [, gy] = await runKernel(specs.activation(kind, "forward", size), count, [
    x,
    allocated * size,
  ]);
  assertAllClose(gy.subarray(0, n), y, { rtol: 1e-5, atol: 1e-6, msg: `${kind}_forward ${tag}` });
  const [, , gdx] = await runKernel(specs.activation(kind, "backward", size), count, [
    dOut,
    gy,
    allocated * size,
  ]);
  assertAllClose(gdx.subarray(0, n), dx, {
    rtol: 1e-5,
    atol: 1e-6,
    msg: `${kind}_backward ${tag}`,
  });
  if (allocated > count && !gy.subarray(n).every(Number.isNaN)) {
    throw new Error(`${tag}: wrote past count`);
  }
}

for (const kind of ["tanh", "sigmoid"] as const) {
  Deno.test({
    name: `${kind} webgpu: forward and backward match cpu/${kind}.ts`,
    ignore: !hasAdapter,
    async fn() {
      await check(kind, 3, 37);
      await check(kind, 4, 5, 9); // count < batchSize
      await check(kind, 500, 800); // the tutorial's hidden layer
      await check(kind, 500, 20 * 12 * 12); // the tutorial's first pooled maps
    },
  });
}
