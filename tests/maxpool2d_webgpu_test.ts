/**
 * Parity of the maxpool2d kernels with `cpu/maxpool2d.ts`, both border modes, with ties.
 * Max pooling only selects values, so forward and backward must be exact (tolerance 0).
 */
import { maxPool2dBackward, maxPool2dForward, type MaxPool2DShape } from "../cpu/maxpool2d.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { hasAdapter, randomArray, runKernel } from "./_webgpu.ts";

async function checkPool(s: MaxPool2DShape, allocated = s.batch, ties = false): Promise<void> {
  const rng = new RandomState(11);
  const { batch: N, channels: C, height: H, width: W, poolH: PH, poolW: PW } = s;
  const round = s.ignoreBorder ? Math.floor : Math.ceil;
  const OH = round(H / PH), OW = round(W / PW);
  let x = randomArray(rng, allocated * C * H * W);
  // Quantised values make exact ties frequent: the first maximum must win on both sides.
  if (ties) x = x.map((v) => Math.round(v * 2) / 2);
  const dOut = randomArray(rng, allocated * C * OH * OW);
  const xs = x.subarray(0, N * C * H * W);
  const out = new Float32Array(N * C * OH * OW);
  maxPool2dForward(out, xs, s);
  const dx = new Float32Array(N * C * H * W);
  maxPool2dBackward(dx, dOut.subarray(0, out.length), xs, s);

  const d = { C, H, W, PH, PW, ignoreBorder: s.ignoreBorder };
  const tag = `N${N}/${allocated} C${C} ${H}x${W} pool ${PH}x${PW} ignoreBorder=${s.ignoreBorder}`;
  const [, gOut] = await runKernel(specs.maxPool2dForward(d), N, [x, allocated * C * OH * OW]);
  assertAllClose(gOut.subarray(0, out.length), out, {
    rtol: 0,
    atol: 0,
    msg: `maxpool2d_forward ${tag}`,
  });
  const [, , gDx] = await runKernel(specs.maxPool2dBackward(d), N, [
    dOut,
    x,
    allocated * C * H * W,
  ]);
  assertAllClose(gDx.subarray(0, dx.length), dx, {
    rtol: 0,
    atol: 0,
    msg: `maxpool2d_backward ${tag}`,
  });
}

const shape = (
  batch: number,
  channels: number,
  height: number,
  width: number,
  poolH: number,
  poolW: number,
  ignoreBorder: boolean,
): MaxPool2DShape => ({ batch, channels, height, width, poolH, poolW, ignoreBorder });

Deno.test({
  name: "maxpool2d webgpu: random shapes, both border modes, match cpu/maxpool2d.ts",
  ignore: !hasAdapter,
  async fn() {
    for (const ignoreBorder of [true, false]) {
      await checkPool(shape(3, 4, 7, 9, 2, 2, ignoreBorder));
      await checkPool(shape(2, 3, 10, 5, 3, 2, ignoreBorder));
      await checkPool(shape(2, 2, 5, 7, 1, 3, ignoreBorder));
    }
  },
});

Deno.test({
  name: "maxpool2d webgpu: ties go to the first maximum in row-major order",
  ignore: !hasAdapter,
  async fn() {
    await checkPool(shape(2, 3, 8, 8, 2, 2, true), 2, true);
    await checkPool(shape(2, 3, 7, 5, 3, 3, false), 2, true);
  },
});

Deno.test({
  name: "maxpool2d webgpu: count < batchSize",
  ignore: !hasAdapter,
  fn: () => checkPool(shape(3, 2, 6, 6, 2, 2, false), 7),
});

Deno.test({
  name: "maxpool2d webgpu: the tutorial's layers at batch 500",
  ignore: !hasAdapter,
  async fn() {
    await checkPool(shape(500, 20, 24, 24, 2, 2, true));
    await checkPool(shape(500, 50, 8, 8, 2, 2, true));
  },
});
