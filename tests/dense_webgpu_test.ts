/**
 * Parity of the dense kernels (forward, dInput, dWeight, dBias) with `cpu/dense.ts`, on random
 * shapes and at the tutorial's shapes. Tolerance: RTOL = 1e-4, atol = 1e-5 * max|cpu|.
 */
import { denseBackward, denseForward, type DenseShape } from "../cpu/dense.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { atolFor, hasAdapter, randomArray, RTOL, runKernel } from "./_webgpu.ts";

async function checkDense(s: DenseShape, allocated = s.batch, seed = 1): Promise<void> {
  const rng = new RandomState(seed);
  const { batch: N, inFeatures: I, outFeatures: J } = s;
  const x = randomArray(rng, allocated * I);
  const w = randomArray(rng, I * J, -0.3, 0.3);
  const b = randomArray(rng, J);
  const dOut = randomArray(rng, allocated * J);
  const xs = x.subarray(0, N * I), dOuts = dOut.subarray(0, N * J);
  const out = new Float64Array(N * J);
  denseForward(out, xs, w, b, s);
  const dx = new Float64Array(N * I), dw = new Float64Array(I * J), db = new Float64Array(J);
  denseBackward(dx, dw, db, dOuts, xs, w, s);

  const tag = `N${N}/${allocated} I${I} J${J}`;
  const [, , , gOut] = await runKernel(specs.denseForward(I, J), N, [x, w, b, allocated * J]);
  assertAllClose(gOut.subarray(0, out.length), out, {
    rtol: RTOL,
    atol: atolFor(out),
    msg: `dense_forward ${tag}`,
  });
  const [, , gDx] = await runKernel(specs.denseBackwardInput(I, J), N, [dOut, w, allocated * I]);
  assertAllClose(gDx.subarray(0, dx.length), dx, {
    rtol: RTOL,
    atol: atolFor(dx),
    msg: `dense_backward_input ${tag}`,
  });
  const [, , gDw] = await runKernel(specs.denseBackwardWeight(I, J), N, [x, dOut, I * J]);
  assertAllClose(gDw, dw, { rtol: RTOL, atol: atolFor(dw), msg: `dense_backward_weight ${tag}` });
  const [, gDb] = await runKernel(specs.biasBackward(J, 1), N, [dOut, J]);
  assertAllClose(gDb, db, { rtol: RTOL, atol: atolFor(db), msg: `bias_backward ${tag}` });
}

const shape = (batch: number, inFeatures: number, outFeatures: number): DenseShape => ({
  batch,
  inFeatures,
  outFeatures,
});

Deno.test({
  name: "dense webgpu: random shapes match cpu/dense.ts",
  ignore: !hasAdapter,
  async fn() {
    await checkDense(shape(3, 7, 5));
    await checkDense(shape(1, 1, 1));
    await checkDense(shape(5, 33, 10));
    await checkDense(shape(17, 64, 131));
    await checkDense(shape(70, 9, 6));
  },
});

Deno.test({
  name: "dense webgpu: count < batchSize",
  ignore: !hasAdapter,
  fn: () => checkDense(shape(5, 12, 7), 9, 2),
});

Deno.test({
  name: "dense webgpu: the tutorial's layers at batch 500",
  ignore: !hasAdapter,
  async fn() {
    await checkDense(shape(500, 800, 500), 500, 3);
    await checkDense(shape(500, 500, 10), 500, 4);
  },
});
