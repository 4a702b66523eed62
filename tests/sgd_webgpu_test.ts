/**
 * Parity of sgd_update with `cpu/sgd.ts`, plain and with momentum over several steps.
 * Tolerance: rtol 1e-6, atol 1e-7 (two float32 operations per step).
 */
import { sgdMomentumUpdate, sgdUpdate } from "../cpu/sgd.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { hasAdapter, randomArray, runKernel } from "./_webgpu.ts";

async function check(size: number, momentum: number, steps: number): Promise<void> {
  const rng = new RandomState(size);
  let p: Float32Array = randomArray(rng, size), v: Float32Array = new Float32Array(size);
  const p0 = p.slice(), v0 = v.slice();
  const lr = 0.1;
  for (let s = 0; s < steps; s++) {
    const g = randomArray(rng, size);
    if (momentum > 0) sgdMomentumUpdate(p0, g, v0, lr, momentum);
    else sgdUpdate(p0, g, lr);
    [, p, v] = await runKernel(specs.sgdUpdate(size), 1, [g, p, v], { lr, momentum });
  }
  assertAllClose(p, p0, {
    rtol: 1e-6,
    atol: 1e-7,
    msg: `sgd_update p size ${size} momentum ${momentum}`,
  });
  assertAllClose(v, v0, {
    rtol: 1e-6,
    atol: 1e-7,
    msg: `sgd_update v size ${size} momentum ${momentum}`,
  });
}

Deno.test({
  name: "sgd webgpu: plain and momentum updates match cpu/sgd.ts",
  ignore: !hasAdapter,
  async fn() {
    await check(1, 0, 1);
    await check(1000, 0, 3);
    await check(777, 0.9, 4);
    await check(431080, 0.5, 2); // every parameter of the tutorial's LeNet
  },
});
