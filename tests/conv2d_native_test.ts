/**
 * The native conv2d stage (`src/backends/native/conv.ts`, its im2col lowering, the fused
 * maxpool + activation) against the `cpu/` chain, on random shapes including the tutorial's,
 * non-square images and kernels, zero padding, strides, both pooling modes and every chunking
 * of the batch. Tolerances: forward and backward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import assert from "node:assert/strict";
import {
  conv2dBackward,
  conv2dForward,
  conv2dOutputSize,
  conv2dPadding,
  type Conv2DShape,
} from "../cpu/conv2d.ts";
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dOutputSize,
  type MaxPool2DShape,
} from "../cpu/maxpool2d.ts";
import { RandomState } from "../src/random.ts";
import { col2im, im2col } from "../src/backends/native/im2col.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { assertAllClose } from "./_assert.ts";
import { act, actBack, blas, BWD, FWD, ignore, rand } from "./_native.ts";

Deno.test({
  name: "native im2col/col2im: match the definition and are adjoint",
  fn() {
    const rng = new RandomState(2);
    const s: Conv2DShape = {
      batch: 2,
      inChannels: 3,
      height: 6,
      width: 7,
      outChannels: 1,
      kernelH: 2,
      kernelW: 4,
    };
    const OH = 5, OW = 4, P = OH * OW, K = 3 * 2 * 4;
    const x = rand(rng, 2 * 3 * 6 * 7), cols = new Float32Array(K * 2 * P);
    im2col(cols, x, { ...s, outH: OH, outW: OW });
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 4; j++) {
            for (let y = 0; y < OH; y++) {
              for (let xo = 0; xo < OW; xo++) {
                const got = cols[((c * 2 + i) * 4 + j) * 2 * P + n * P + y * OW + xo];
                assert.equal(got, x[((n * 3 + c) * 6 + y + i) * 7 + xo + j]);
              }
            }
          }
        }
      }
    }
    // <im2col(x), d> = <x, col2im(d)>
    const d = rand(rng, cols.length), back = new Float32Array(x.length);
    col2im(back, d, { ...s, outH: OH, outW: OW });
    let lhs = 0, rhs = 0;
    for (let k = 0; k < d.length; k++) lhs += cols[k] * d[k];
    for (let k = 0; k < x.length; k++) rhs += x[k] * back[k];
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.abs(lhs) + 1e-4, `${lhs} vs ${rhs}`);
  },
});

/** A pooling case: window, optional strides (default: the window), border mode. */
interface PoolCase {
  poolH: number;
  poolW: number;
  ignoreBorder: boolean;
  strideH?: number;
  strideW?: number;
}

/** Conv [+ pool] [+ act] through ConvStage and through the cpu/ chain, forward and backward. */
async function checkConvStage(
  s: Conv2DShape,
  pool: PoolCase | null,
  kind: Activation,
  seed: number,
  n = s.batch,
  chunk?: number,
  pipelined?: boolean,
  wide?: boolean,
): Promise<void> {
  const rng = new RandomState(seed);
  const { inChannels: C, height: H, width: W, outChannels: O, kernelH: KH, kernelW: KW } = s;
  const label = `conv ${
    JSON.stringify(s)
  } n=${n} chunk ${chunk} pipelined ${pipelined} wide ${wide} pool ${JSON.stringify(pool)} ${kind}`;
  const x = rand(rng, s.batch * C * H * W), w = rand(rng, O * C * KH * KW, -0.3, 0.3);
  const b = rand(rng, O, -0.5, 0.5);
  // reference chain on n samples
  const cs = { ...s, batch: n };
  const { outH: OH, outW: OW } = conv2dOutputSize(cs);
  const conv = new Float32Array(n * O * OH * OW);
  conv2dForward(conv, x.subarray(0, n * C * H * W), w, b, cs);
  let pre = conv;
  let ps: MaxPool2DShape | null = null;
  let fused = null;
  if (pool) {
    ps = { batch: n, channels: O, height: OH, width: OW, ...pool };
    const { outH, outW } = maxPool2dOutputSize(ps);
    pre = new Float32Array(n * O * outH * outW);
    maxPool2dForward(pre, conv, ps);
    const { poolH, poolW, strideH = poolH, strideW = poolW } = pool;
    fused = { poolH, poolW, strideH, strideW, outH, outW };
  }
  const expected = new Float32Array(pre.length);
  act(kind, expected, pre);

  const sized = { ...s, outH: OH, outW: OW };
  const stage = new ConvStage(blas!, sized, fused, kind, true, chunk, pipelined, wide);
  assert.equal(stage.outSize * n, expected.length, label);
  const out = new Float32Array(s.batch * stage.outSize).fill(NaN);
  await stage.forward(out, x, w, b, n);
  assertAllClose(out.subarray(0, expected.length), expected, { ...FWD, msg: `${label} forward` });

  const dOut = rand(rng, s.batch * stage.outSize);
  const dPre = new Float32Array(expected.length);
  actBack(kind, dPre, dOut.subarray(0, expected.length), expected);
  let dConv = dPre;
  if (ps) {
    dConv = new Float32Array(conv.length);
    maxPool2dBackward(dConv, dPre, conv, ps);
  }
  const eDx = new Float32Array(n * C * H * W), eDw = new Float32Array(w.length);
  const eDb = new Float32Array(O);
  conv2dBackward(eDx, eDw, eDb, dConv, conv.length ? x.subarray(0, n * C * H * W) : x, w, cs);
  const dx = new Float32Array(x.length).fill(NaN), dw = new Float32Array(w.length).fill(NaN);
  const db = new Float32Array(O).fill(NaN);
  await stage.backward(dx, dw, db, dOut, out, w, n);
  assertAllClose(dx.subarray(0, eDx.length), eDx, { ...BWD, msg: `${label} dx` });
  assertAllClose(dw, eDw, { ...BWD, msg: `${label} dw` });
  assertAllClose(db, eDb, { ...BWD, msg: `${label} db` });
}

Deno.test({
  name: "native conv2d: plain, against cpu/conv2d (tutorial, non-square, partial batch)",
  ignore,
  async fn() {
    const conv = (
      batch: number,
      C: number,
      H: number,
      W: number,
      O: number,
      kh: number,
      kw = kh,
    ) => ({
      batch,
      inChannels: C,
      height: H,
      width: W,
      outChannels: O,
      kernelH: kh,
      kernelW: kw,
    });
    await checkConvStage(conv(3, 1, 28, 28, 20, 5), null, null, 10);
    await checkConvStage(conv(2, 20, 12, 12, 50, 5), null, null, 11);
    await checkConvStage(conv(2, 3, 7, 9, 4, 2, 3), null, null, 12);
    await checkConvStage(conv(1, 2, 5, 4, 3, 5, 1), null, null, 13);
    await checkConvStage(conv(4, 2, 6, 5, 3, 3, 2), null, null, 14, 3); // 3 of 4 samples
  },
});

Deno.test({
  name: "native conv2d + maxpool + activation, fused, against the cpu/ chain (both modes)",
  ignore,
  async fn() {
    const s = (batch: number, C: number, H: number, W: number, O: number, kh: number, kw = kh) => ({
      batch,
      inChannels: C,
      height: H,
      width: W,
      outChannels: O,
      kernelH: kh,
      kernelW: kw,
    });
    const p = (poolH: number, poolW: number, ignoreBorder: boolean) => ({
      poolH,
      poolW,
      ignoreBorder,
    });
    await checkConvStage(s(3, 1, 28, 28, 20, 5), p(2, 2, true), "tanh", 20);
    await checkConvStage(s(2, 20, 12, 12, 50, 5), p(2, 2, true), "tanh", 21);
    await checkConvStage(s(2, 3, 9, 8, 4, 2, 3), p(2, 3, true), "sigmoid", 22); // 8x6 -> 4x2
    await checkConvStage(s(2, 3, 9, 8, 4, 2, 3), p(2, 3, false), "tanh", 23); // 8x6 -> 4x2
    await checkConvStage(s(2, 2, 8, 7, 3, 2, 2), p(2, 2, false), "tanh", 24); // 7x6 -> 4x3 partial
    await checkConvStage(s(2, 2, 8, 7, 3, 2, 2), p(2, 2, true), null, 25); // 7x6 -> 3x3
    await checkConvStage(s(3, 2, 10, 9, 3, 3, 2), p(3, 2, false), "sigmoid", 26, 2);
  },
});

Deno.test({
  name:
    "native conv2d: chunks (1, 2, 3 samples, a partial last one), pipelined or not, dense or wide im2col, agree",
  ignore,
  async fn() {
    const s = {
      batch: 7,
      inChannels: 3,
      height: 9,
      width: 8,
      outChannels: 4,
      kernelH: 3,
      kernelW: 2,
    };
    const p = { poolH: 2, poolW: 2, ignoreBorder: false };
    for (const chunk of [1, 2, 3, 7]) {
      for (const pipelined of [true, false]) {
        for (const wide of [false, true]) {
          await checkConvStage(s, p, "tanh", 27, 7, chunk, pipelined, wide);
          await checkConvStage(s, null, null, 28, 5, chunk, pipelined, wide);
          await checkConvStage(
            s,
            { ...p, ignoreBorder: true },
            null,
            30,
            6,
            chunk,
            pipelined,
            wide,
          );
        }
      }
    }
    // the tutorial's layers with their default chunks (18 and 8 samples) over 20 samples
    const tut = { ...s, batch: 20, inChannels: 1, height: 28, width: 28, outChannels: 20 };
    await checkConvStage(
      { ...tut, kernelH: 5, kernelW: 5 },
      { ...p, ignoreBorder: true },
      "tanh",
      29,
    );
    const tut1 = { ...tut, inChannels: 20, height: 12, width: 12, outChannels: 50 };
    await checkConvStage(
      { ...tut1, kernelH: 5, kernelW: 5 },
      { ...p, ignoreBorder: true },
      "tanh",
      30,
    );
  },
});

Deno.test({
  name:
    "native conv2d: zero padding and strides ('same' 3x3, even kernels, stride 2, fused pools) against cpu/conv2d",
  ignore,
  async fn() {
    const s = (
      batch: number,
      C: number,
      H: number,
      W: number,
      O: number,
      kh: number,
      kw: number,
      stride: [number, number],
      padding: "same" | "valid" | number | [number, number],
    ) => {
      const pad = conv2dPadding(padding, kh, kw, stride[0], stride[1]);
      return {
        batch,
        inChannels: C,
        height: H,
        width: W,
        outChannels: O,
        kernelH: kh,
        kernelW: kw,
        strideH: stride[0],
        strideW: stride[1],
        padTop: pad.top,
        padLeft: pad.left,
        padBottom: pad.bottom,
        padRight: pad.right,
      };
    };
    const pool = (p: number, stride: number, ignoreBorder: boolean): PoolCase => ({
      poolH: p,
      poolW: p,
      strideH: stride,
      strideW: stride,
      ignoreBorder,
    });
    // the modern network's layers, small batches
    await checkConvStage(s(3, 1, 28, 28, 8, 3, 3, [1, 1], "same"), null, "relu", 50);
    await checkConvStage(s(2, 8, 14, 14, 16, 3, 3, [1, 1], "same"), pool(2, 2, true), "relu", 51);
    await checkConvStage(s(3, 4, 9, 7, 5, 3, 3, [1, 1], "same"), pool(3, 2, false), null, 52);
    // even kernels: the extra row and column go below and right
    await checkConvStage(s(2, 2, 6, 7, 3, 2, 4, [1, 1], "same"), null, "tanh", 53);
    // strides, with and without padding, a partial batch
    await checkConvStage(s(3, 3, 11, 10, 4, 3, 3, [2, 2], 1), null, null, 54, 2);
    await checkConvStage(s(2, 2, 9, 12, 3, 3, 2, [2, 3], "valid"), null, "sigmoid", 55);
    await checkConvStage(s(2, 2, 8, 9, 3, 2, 3, [1, 2], [2, 1]), pool(2, 2, false), "relu", 56);
    // chunks, pipelined or not, wide or dense im2col on a padded input
    for (const chunk of [1, 3]) {
      for (const pipelined of [true, false]) {
        for (const wide of [false, true]) {
          const sh = s(5, 3, 7, 6, 4, 3, 3, [1, 1], "same");
          await checkConvStage(sh, pool(2, 2, false), "relu", 57, 5, chunk, pipelined, wide);
          await checkConvStage(sh, null, null, 58, 4, chunk, pipelined, wide);
        }
      }
    }
  },
});
