/**
 * Parity of the conv2d kernels (forward, dInput, dWeight, dBias) with `cpu/conv2d.ts`, on
 * random shapes and at the tutorial's shapes. Tolerance: |gpu - cpu| <= RTOL * |cpu| + atol,
 * RTOL = 1e-4, atol = 1e-5 * max|cpu| (float32 sums against float64 ones).
 */
import { conv2dBackward, conv2dForward, type Conv2DShape } from "../cpu/conv2d.ts";
import { type ConvDims, convWeightSplits, specs } from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { atolFor, hasAdapter, randomArray, RTOL, runKernel } from "./_webgpu.ts";

async function checkConv(s: Conv2DShape, allocated = s.batch, seed = 1): Promise<void> {
  const rng = new RandomState(seed);
  const { batch: N, inChannels: C, height: H, width: W, outChannels: O } = s;
  const { kernelH: KH, kernelW: KW } = s;
  const OH = H - KH + 1, OW = W - KW + 1;
  const d: ConvDims = { C, H, W, O, KH, KW };
  const x = randomArray(rng, allocated * C * H * W);
  const w = randomArray(rng, O * C * KH * KW, -0.5, 0.5);
  const b = randomArray(rng, O);
  const dOut = randomArray(rng, allocated * O * OH * OW);
  const xs = x.subarray(0, N * C * H * W), dOuts = dOut.subarray(0, N * O * OH * OW);

  const out = new Float64Array(N * O * OH * OW);
  conv2dForward(out, xs, w, b, s);
  const dx = new Float64Array(N * C * H * W), dw = new Float64Array(w.length);
  const db = new Float64Array(O);
  conv2dBackward(dx, dw, db, dOuts, xs, w, s);

  const tag = `N${N}/${allocated} C${C} ${H}x${W} O${O} k${KH}x${KW}`;
  const [, , , gOut] = await runKernel(specs.conv2dForward(d), N, [
    x,
    w,
    b,
    allocated * O * OH * OW,
  ]);
  assertAllClose(gOut.subarray(0, out.length), out, {
    rtol: RTOL,
    atol: atolFor(out),
    msg: `conv2d_forward ${tag}`,
  });
  const [, , gDx] = await runKernel(specs.conv2dBackwardInput(d), N, [
    dOut,
    w,
    allocated * C * H * W,
  ]);
  assertAllClose(gDx.subarray(0, dx.length), dx, {
    rtol: RTOL,
    atol: atolFor(dx),
    msg: `conv2d_backward_input ${tag}`,
  });
  const S = convWeightSplits(d);
  const [, , partial] = await runKernel(specs.conv2dBackwardWeight(d), N, [
    dOut,
    x,
    S * (w.length + O),
  ]);
  const [, gDw, gDb] = await runKernel(specs.splitSum(S, w.length, O), N, [partial, w.length, O]);
  assertAllClose(gDw, dw, { rtol: RTOL, atol: atolFor(dw), msg: `conv2d_backward_weight ${tag}` });
  assertAllClose(gDb, db, {
    rtol: RTOL,
    atol: atolFor(db),
    msg: `conv2d_backward_weight (bias) ${tag}`,
  });
  // bias_backward with positions (P > 1): the executor uses it for dense only (P = 1).
  const [, gDbAlone] = await runKernel(specs.biasBackward(O, OH * OW), N, [dOut, O]);
  assertAllClose(gDbAlone, db, { rtol: RTOL, atol: atolFor(db), msg: `bias_backward ${tag}` });
  if (allocated > N) {
    // Rows past `count` are never written (they keep the NaN fill).
    if (!gOut.subarray(out.length).every(Number.isNaN)) throw new Error(`${tag}: wrote past count`);
  }
}

const shape = (
  batch: number,
  inChannels: number,
  height: number,
  width: number,
  outChannels: number,
  kernelH: number,
  kernelW: number,
): Conv2DShape => ({ batch, inChannels, height, width, outChannels, kernelH, kernelW });

Deno.test({
  name: "conv2d webgpu: random shapes match cpu/conv2d.ts",
  ignore: !hasAdapter,
  async fn() {
    await checkConv(shape(3, 3, 9, 7, 5, 3, 2), 3, 1);
    await checkConv(shape(2, 1, 6, 11, 7, 1, 4), 2, 2);
    await checkConv(shape(4, 6, 10, 10, 9, 5, 5), 4, 3);
    await checkConv(shape(1, 2, 5, 5, 3, 5, 5), 1, 4); // 1x1 output
    await checkConv(shape(2, 2, 9, 13, 3, 2, 11), 2, 8); // kernel wider than 5 and 8 columns
  },
});

Deno.test({
  name: "conv2d webgpu: count < batchSize uses only the first count samples",
  ignore: !hasAdapter,
  fn: () => checkConv(shape(3, 4, 8, 9, 6, 3, 3), 5, 5),
});

Deno.test({
  name: "conv2d webgpu: the tutorial's layers at batch 500",
  ignore: !hasAdapter,
  async fn() {
    await checkConv(shape(500, 1, 28, 28, 20, 5, 5), 500, 6);
    await checkConv(shape(500, 20, 12, 12, 50, 5, 5), 500, 7);
  },
});
