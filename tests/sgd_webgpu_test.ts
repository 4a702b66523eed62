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
    const loss = Float32Array.of(2.3, 0), flag = new Float32Array(1);
    [, p, v] = await runKernel(specs.sgdUpdate(size), 1, [g, p, v, loss, flag], { lr, momentum });
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

Deno.test({
  name: "sgd webgpu: the device check flags a non-finite loss (bit 1) and parameter (bit 2)",
  ignore: !hasAdapter,
  async fn() {
    const flagOf = async (p: Float32Array, loss: number, momentum = 0) => {
      const g = new Float32Array(p.length), v = new Float32Array(p.length);
      const out = await runKernel(
        specs.sgdUpdate(p.length),
        1,
        [g, p, v, Float32Array.of(loss, 0), new Float32Array(1)],
        { lr: 0.1, momentum },
      );
      return new Uint32Array(out[4].buffer)[0];
    };
    const finite = new Float32Array(1000).fill(0.5);
    const withNaN = finite.slice(), withInf = finite.slice();
    withNaN[999] = NaN;
    withInf[3] = -Infinity;
    const flags = [
      await flagOf(finite, 2.3),
      await flagOf(withNaN, 2.3),
      await flagOf(withInf, 2.3, 0.9),
      await flagOf(finite, NaN),
      await flagOf(finite, Infinity),
      await flagOf(withNaN, NaN),
    ];
    if (flags.join() !== "0,2,2,1,1,3") throw new Error(`flags ${flags.join()}, want 0,2,2,1,1,3`);
  },
});
