/**
 * The WebGPU kernel parity cases, shared by the Deno tests (`tests/<op>_test.ts`) and
 * the browser tests (`tests/kernels_browser_test.ts`, which runs the same cases in a Chromium
 * page through `tests/_page.ts`). Each case dispatches kernels on the current WebGPU device
 * (`./_webgpu.ts`) and compares every output with the `cpu/` reference, llm.c style.
 *
 * Tolerances (|gpu - cpu| <= rtol * |cpu| + atol):
 * - conv2d, dense: RTOL = 1e-4, atol = 1e-5 * max|cpu| (float32 sums against float64 ones);
 * - maxpool2d: exact (pooling only selects values, and an input's gradients from overlapping
 *   windows are added in the CPU twin's order, in float32), ties go to the first maximum;
 * - avgpool2d: rtol 1e-5, atol 1e-6 (a window's float32 sum, one division);
 * - tanh, sigmoid: rtol 1e-5, atol 1e-6 (one float32 op each), large inputs included;
 * - softmax, NLL: probabilities and gradients rtol 1e-5 / atol 1e-7, mean loss rtol 1e-5,
 *   the error count exact;
 * - sgd_update: rtol 1e-6, atol 1e-7 (two float32 operations per step); its non-finite flag
 *   exact.
 * - relu: as tanh (the values are exact); dropout: exact, bit for bit (the same hash mask and
 *   one float32 multiply), evaluation mode the identity;
 * - batchnorm: RTOL, atol 1e-5 of the largest value (float32 sums over a fixed tree against
 *   float64 ones), for the output, the batch statistics, the running averages, dγ, dβ, dx;
 * - adam_update: rtol 1e-5 over 5 steps; m and v with atol 1e-6 of their largest value (their
 *   terms have both signs), p atol 1e-7; its non-finite flag exact.
 *
 * @module
 */
import {
  conv2dBackward,
  conv2dForward,
  conv2dOutputSize,
  type Conv2DShape,
} from "../cpu/conv2d.ts";
import { denseBackward, denseForward, type DenseShape } from "../cpu/dense.ts";
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dOutputSize,
  type Pool2DShape,
} from "../cpu/maxpool2d.ts";
import { avgPool2dBackward, avgPool2dForward } from "../cpu/avgpool2d.ts";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { geluBackward, geluForward, geluTanhBackward, geluTanhForward } from "../cpu/gelu.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { softmaxForward } from "../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../cpu/nll.ts";
import { sgdMomentumUpdate, sgdUpdate } from "../cpu/sgd.ts";
import { reluBackward, reluForward } from "../cpu/relu.ts";
import { dropoutBackward, dropoutForward, dropoutKey } from "../cpu/dropout.ts";
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
  type BatchNormShape,
} from "../cpu/batchnorm.ts";
import { adamUpdate } from "../cpu/adam.ts";
import {
  type ConvDims,
  convWeightSplits,
  type PoolDims,
  specs,
} from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { atolFor, randomArray, RTOL, runKernel } from "./_webgpu.ts";
import { adamCorrections } from "../cpu/adam.ts";

/** One parity case: a test name and what it runs. */
export interface KernelCase {
  /** The op group, the `<op>` of `tests/<op>_test.ts`. */
  op:
    | "conv2d"
    | "dense"
    | "maxpool2d"
    | "avgpool2d"
    | "activations"
    | "gelu"
    | "softmax_nll"
    | "sgd"
    | "dropout"
    | "batchnorm"
    | "adam";
  /** The test's name. */
  name: string;
  /** Runs the kernels and throws on the first mismatch. */
  run: () => Promise<void>;
}

// ---------------------------------------------------------------- conv2d

async function checkConv(s: Conv2DShape, allocated = s.batch, seed = 1): Promise<void> {
  const rng = new RandomState(seed);
  const { batch: N, inChannels: C, height: H, width: W, outChannels: O } = s;
  const { kernelH: KH, kernelW: KW } = s;
  const { outH: OH, outW: OW } = conv2dOutputSize(s);
  const d: ConvDims = {
    C,
    H,
    W,
    O,
    KH,
    KW,
    SH: s.strideH,
    SW: s.strideW,
    PT: s.padTop,
    PL: s.padLeft,
    PB: s.padBottom,
    PR: s.padRight,
    OH,
    OW,
  };
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

  const tag = `N${N}/${allocated} C${C} ${H}x${W} O${O} k${KH}x${KW} stride ${d.SH ?? 1}x${
    d.SW ?? 1
  } pad ${[d.PT, d.PL, d.PB, d.PR].map((p) => p ?? 0)}`;
  const { out: gOut } = await runKernel(specs.conv2dForward(d), N, {
    inp: x,
    w,
    b,
    out: allocated * O * OH * OW,
  });
  assertAllClose(gOut.subarray(0, out.length), out, {
    rtol: RTOL,
    atol: atolFor(out),
    msg: `conv2d_forward ${tag}`,
  });
  const { dx: gDx } = await runKernel(specs.conv2dBackwardInput(d), N, {
    dOut,
    w,
    dx: allocated * C * H * W,
  });
  assertAllClose(gDx.subarray(0, dx.length), dx, {
    rtol: RTOL,
    atol: atolFor(dx),
    msg: `conv2d_backward_input ${tag}`,
  });
  const S = convWeightSplits(d);
  const { partial } = await runKernel(specs.conv2dBackwardWeight(d), N, {
    dOut,
    inp: x,
    partial: S * (w.length + O),
  });
  const { out: gDw, outB: gDb } = await runKernel(specs.splitSum(S, w.length, O), N, {
    partial,
    out: w.length,
    outB: O,
  });
  assertAllClose(gDw, dw, { rtol: RTOL, atol: atolFor(dw), msg: `conv2d_backward_weight ${tag}` });
  assertAllClose(gDb, db, {
    rtol: RTOL,
    atol: atolFor(db),
    msg: `conv2d_backward_weight (bias) ${tag}`,
  });
  // bias_backward with positions (P > 1): the executor uses it for dense only (P = 1).
  const { db: gDbAlone } = await runKernel(specs.biasBackward(O, OH * OW), N, { dOut, db: O });
  assertAllClose(gDbAlone, db, { rtol: RTOL, atol: atolFor(db), msg: `bias_backward ${tag}` });
  if (allocated > N) {
    // Rows past `count` are never written (they keep the NaN fill).
    if (!gOut.subarray(out.length).every(Number.isNaN)) throw new Error(`${tag}: wrote past count`);
  }
}

const convShape = (
  batch: number,
  inChannels: number,
  height: number,
  width: number,
  outChannels: number,
  kernelH: number,
  kernelW: number,
  stride: [number, number] = [1, 1],
  pad: [number, number, number, number] = [0, 0, 0, 0], // top, left, bottom, right
): Conv2DShape => ({
  batch,
  inChannels,
  height,
  width,
  outChannels,
  kernelH,
  kernelW,
  strideH: stride[0],
  strideW: stride[1],
  padTop: pad[0],
  padLeft: pad[1],
  padBottom: pad[2],
  padRight: pad[3],
});

// ---------------------------------------------------------------- dense

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
  const { out: gOut } = await runKernel(specs.denseForward(I, J), N, {
    x,
    w,
    b,
    out: allocated * J,
  });
  assertAllClose(gOut.subarray(0, out.length), out, {
    rtol: RTOL,
    atol: atolFor(out),
    msg: `dense_forward ${tag}`,
  });
  const { dx: gDx } = await runKernel(specs.denseBackwardInput(I, J), N, {
    dOut,
    w,
    dx: allocated * I,
  });
  assertAllClose(gDx.subarray(0, dx.length), dx, {
    rtol: RTOL,
    atol: atolFor(dx),
    msg: `dense_backward_input ${tag}`,
  });
  const { dw: gDw } = await runKernel(specs.denseBackwardWeight(I, J), N, { x, dOut, dw: I * J });
  assertAllClose(gDw, dw, { rtol: RTOL, atol: atolFor(dw), msg: `dense_backward_weight ${tag}` });
  const { db: gDb } = await runKernel(specs.biasBackward(J, 1), N, { dOut, db: J });
  assertAllClose(gDb, db, { rtol: RTOL, atol: atolFor(db), msg: `bias_backward ${tag}` });
}

const denseShape = (batch: number, inFeatures: number, outFeatures: number): DenseShape => ({
  batch,
  inFeatures,
  outFeatures,
});

// ---------------------------------------------------------------- maxpool2d

async function checkPool(
  kind: "maxpool2d" | "avgpool2d",
  s: Pool2DShape,
  allocated = s.batch,
  ties = false,
): Promise<void> {
  const rng = new RandomState(11);
  const { batch: N, channels: C, height: H, width: W, poolH: PH, poolW: PW } = s;
  const { outH: OH, outW: OW } = maxPool2dOutputSize(s);
  let x = randomArray(rng, allocated * C * H * W);
  // Quantised values make exact ties frequent: the first maximum must win on both sides.
  if (ties) x = x.map((v) => Math.round(v * 2) / 2);
  const dOut = randomArray(rng, allocated * C * OH * OW);
  const xs = x.subarray(0, N * C * H * W), dOuts = dOut.subarray(0, N * C * OH * OW);
  const d = {
    C,
    H,
    W,
    PH,
    PW,
    SH: s.strideH,
    SW: s.strideW,
    ignoreBorder: s.ignoreBorder,
    ties: s.ties,
    OH,
    OW,
  };
  const tag = `N${N}/${allocated} C${C} ${H}x${W} pool ${PH}x${PW} stride ${d.SH ?? PH}x${
    d.SW ?? PW
  } ignoreBorder=${s.ignoreBorder} ties=${s.ties ?? "first"}`;
  if (kind === "avgpool2d") return checkAvgPool(s, d, x, dOut, allocated, tag);
  const out = new Float32Array(N * C * OH * OW);
  maxPool2dForward(out, xs, s);
  const dx = new Float32Array(N * C * H * W);
  maxPool2dBackward(dx, dOuts, xs, s);
  const { out: gOut } = await runKernel(specs.maxPool2dForward(d), N, {
    inp: x,
    out: allocated * C * OH * OW,
  });
  assertAllClose(gOut.subarray(0, out.length), out, {
    rtol: 0,
    atol: 0,
    msg: `maxpool2d_forward ${tag}`,
  });
  // Exact: the gradients of a value's windows are added in the CPU twin's order, in float32.
  const { dx: gDx } = await runKernel(specs.maxPool2dBackward(d), N, {
    dOut,
    inp: x,
    dx: allocated * C * H * W,
  });
  assertAllClose(gDx.subarray(0, dx.length), dx, {
    rtol: 0,
    atol: 0,
    msg: `maxpool2d_backward ${tag}`,
  });
  if (allocated > N && !gDx.subarray(dx.length).every(Number.isNaN)) {
    throw new Error(`${tag}: maxpool2d_backward wrote past count`);
  }
}

/** Average pooling: a few float32 operations per value (rtol 1e-5, atol 1e-6). */
async function checkAvgPool(
  s: Pool2DShape,
  d: PoolDims,
  x: Float32Array,
  dOut: Float32Array,
  allocated: number,
  tag: string,
): Promise<void> {
  const { batch: N, channels: C, height: H, width: W } = s;
  const { outH: OH, outW: OW } = maxPool2dOutputSize(s);
  const avg = new Float64Array(N * C * OH * OW), avgDx = new Float64Array(N * C * H * W);
  avgPool2dForward(avg, x.subarray(0, avgDx.length), s);
  avgPool2dBackward(avgDx, dOut.subarray(0, avg.length), s);
  const { out: gAvg } = await runKernel(specs.avgPool2dForward(d), N, {
    inp: x,
    out: allocated * C * OH * OW,
  });
  assertAllClose(gAvg.subarray(0, avg.length), avg, {
    rtol: 1e-5,
    atol: 1e-6,
    msg: `avgpool2d_forward ${tag}`,
  });
  const { dx: gAvgDx } = await runKernel(specs.avgPool2dBackward(d), N, {
    dOut,
    dx: allocated * C * H * W,
  });
  assertAllClose(gAvgDx.subarray(0, avgDx.length), avgDx, {
    rtol: 1e-5,
    atol: 1e-6,
    msg: `avgpool2d_backward ${tag}`,
  });
  if (allocated > N && !gAvgDx.subarray(avgDx.length).every(Number.isNaN)) {
    throw new Error(`${tag}: avgpool2d_backward wrote past count`);
  }
}

const poolShape = (
  batch: number,
  channels: number,
  height: number,
  width: number,
  poolH: number,
  poolW: number,
  ignoreBorder: boolean,
  stride: [number, number] = [poolH, poolW],
): Pool2DShape => ({
  batch,
  channels,
  height,
  width,
  poolH,
  poolW,
  strideH: stride[0],
  strideW: stride[1],
  ignoreBorder,
});

// ---------------------------------------------------------------- tanh, sigmoid

const FORWARD = { tanh: tanhForward, sigmoid: sigmoidForward, relu: reluForward };
const BACKWARD = { tanh: tanhBackward, sigmoid: sigmoidBackward, relu: reluBackward };

async function checkActivation(
  kind: "tanh" | "sigmoid" | "relu",
  count: number,
  size: number,
  allocated = count,
) {
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
  const { out: gy } = await runKernel(specs.activation(kind, "forward", size), count, {
    inp: x,
    out: allocated * size,
  });
  assertAllClose(gy.subarray(0, n), y, { rtol: 1e-5, atol: 1e-6, msg: `${kind}_forward ${tag}` });
  const { dx: gdx } = await runKernel(specs.activation(kind, "backward", size), count, {
    dOut,
    y: gy,
    dx: allocated * size,
  });
  assertAllClose(gdx.subarray(0, n), dx, {
    rtol: 1e-5,
    atol: 1e-6,
    msg: `${kind}_backward ${tag}`,
  });
  if (allocated > count && !gy.subarray(n).every(Number.isNaN)) {
    throw new Error(`${tag}: wrote past count`);
  }
}

// ---------------------------------------------------------------- gelu

const GELU_CPU = {
  gelu: [geluForward, geluBackward],
  gelu_tanh: [geluTanhForward, geluTanhBackward],
} as const;

/**
 * GELU's kernels against the float64 `cpu/gelu.ts`. Tolerance atol 1e-6, rtol 1e-5: the WGSL Phi
 * uses erfc of A&S 7.1.26, |error| <= 1.5e-7, so |error| <= 7.5e-8 in Phi and 7.5e-8 |x| <= 4.5e-7
 * in x Phi(x) for |x| <= 6 (beyond, Phi rounds to 0 or 1 in float32 either way); plus a few float32
 * roundings. The tanh variant has no approximation beyond float32's exp.
 */
async function checkGelu(kind: "gelu" | "gelu_tanh", count: number, size: number) {
  const rng = new RandomState(kind === "gelu" ? 7 : 8);
  const n = count * size;
  const x = Float32Array.from(randomArray(rng, n, -6, 6));
  x.set([0, -0, 1e-4, -1e-4, 30, -30, 100, -100, 1e5, -1e5].slice(0, n));
  const dOut = Float32Array.from(randomArray(rng, n));
  const y = new Float64Array(n), dx = new Float64Array(n);
  GELU_CPU[kind][0](y, Float64Array.from(x));
  GELU_CPU[kind][1](dx, Float64Array.from(dOut), Float64Array.from(x));
  const { out } = await runKernel(specs.activation(kind, "forward", size), count, {
    inp: x,
    out: n,
  });
  assertAllClose(out, y, { rtol: 1e-5, atol: 1e-6, msg: `${kind}_forward N${count}` });
  const { dx: gdx } = await runKernel(specs.activation(kind, "backward", size), count, {
    dOut,
    x,
    dx: n,
  });
  assertAllClose(gdx, dx, { rtol: 1e-5, atol: 1e-6, msg: `${kind}_backward N${count}` });
}

// ---------------------------------------------------------------- softmax, nll

async function checkSoftmaxNll(
  count: number,
  classes: number,
  allocated = count,
  scale = 5,
  ties = false,
) {
  const rng = new RandomState(count + classes);
  let z = randomArray(rng, allocated * classes, -scale, scale);
  if (ties) z = z.map((v) => Math.round(v));
  const labels = Uint32Array.from(
    { length: allocated },
    () => Math.floor(rng.uniform(0, classes, 1)[0]),
  );
  const n = count * classes;
  const zs = z.subarray(0, n), ls = labels.subarray(0, count);
  const p = new Float64Array(n), dz = new Float64Array(n);
  softmaxForward(p, zs, count, classes);
  softmaxNllBackward(dz, zs, ls, count, classes);
  const loss = nllLoss(zs, ls, count, classes), errors = errorCount(zs, ls, count, classes);

  const tag = `N${count}/${allocated} classes ${classes}`;
  const { out: gp } = await runKernel(specs.softmaxForward(classes), count, {
    z,
    out: allocated * classes,
  });
  assertAllClose(gp.subarray(0, n), p, { rtol: 1e-5, atol: 1e-7, msg: `softmax_forward ${tag}` });
  const { dz: gdz } = await runKernel(specs.softmaxNllBackward(classes), count, {
    z,
    labels,
    dz: allocated * classes,
  });
  assertAllClose(gdz.subarray(0, n), dz, {
    rtol: 1e-5,
    atol: 1e-7,
    msg: `softmax_nll_backward ${tag}`,
  });
  const { result } = await runKernel(specs.nllLoss(classes), count, { z, labels, result: 2 });
  assertAllClose([result[0]], [loss], { rtol: 1e-5, atol: 0, msg: `nll_loss mean ${tag}` });
  assertAllClose([result[1]], [errors], { rtol: 0, atol: 0, msg: `nll_loss errors ${tag}` });
}

// ---------------------------------------------------------------- sgd

async function checkSgd(size: number, momentum: number, steps: number): Promise<void> {
  const rng = new RandomState(size);
  let p: Float32Array = randomArray(rng, size), v: Float32Array = new Float32Array(size);
  const p0 = p.slice(), v0 = v.slice();
  const lr = 0.1;
  for (let s = 0; s < steps; s++) {
    const g = randomArray(rng, size);
    if (momentum > 0) sgdMomentumUpdate(p0, g, v0, lr, momentum);
    else sgdUpdate(p0, g, lr);
    const loss = Float32Array.of(2.3, 0), flag = new Float32Array(1);
    ({ p, v } = await runKernel(specs.sgdUpdate(size), 1, { g, p, v, result: loss, flag }, {
      lr,
      momentum,
    }));
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

// ---------------------------------------------------------------- dropout

/** Both directions, train mode against cpu/dropout.ts bit for bit, eval mode the identity. */
async function checkDropout(
  count: number,
  size: number,
  rate: number,
  seed: number,
  step: number,
  layer: number,
  allocated = count,
): Promise<void> {
  const rng = new RandomState((seed ^ step) >>> 0);
  const x = randomArray(rng, allocated * size, -3, 3);
  const dOut = randomArray(rng, allocated * size);
  const n = count * size, key = dropoutKey(seed, step, layer);
  const y = new Float32Array(n), dx = new Float32Array(n);
  dropoutForward(y, x.subarray(0, n), rate, key);
  dropoutBackward(dx, dOut.subarray(0, n), rate, key);
  const tag = `N${count}/${allocated} size ${size} rate ${rate} seed ${seed} step ${step}`;
  const extra = { seed, step };
  const exact = { rtol: 0, atol: 0 };
  const { out } = await runKernel(specs.dropout("forward", size, rate, layer), count, {
    inp: x,
    out: allocated * size,
  }, extra);
  assertAllClose(out.subarray(0, n), y, { ...exact, msg: `dropout_forward ${tag}` });
  const { dx: gdx } = await runKernel(specs.dropout("backward", size, rate, layer), count, {
    dOut,
    dx: allocated * size,
  }, extra);
  assertAllClose(gdx.subarray(0, n), dx, { ...exact, msg: `dropout_backward ${tag}` });
  if (allocated > count && !out.subarray(n).every(Number.isNaN)) {
    throw new Error(`dropout ${tag}: wrote past count`);
  }
  const { out: evalOut } = await runKernel(
    specs.dropout("forward", size, rate, layer, "eval"),
    count,
    { inp: x, out: allocated * size },
    extra,
  );
  assertAllClose(evalOut.subarray(0, n), x.subarray(0, n), { ...exact, msg: `eval ${tag}` });
}

// ---------------------------------------------------------------- batchnorm

/**
 * Training forward (output, batch statistics, running averages), evaluation forward and
 * backward against cpu/batchnorm.ts. Tolerances: the GPU sums M values in float32 (a fixed
 * tree of 256 partial sums), the CPU in float64: RTOL with atol 1e-5 of the largest value.
 */
async function checkBatchNorm(s: BatchNormShape, allocated = s.batch, seed = 1): Promise<void> {
  const rng = new RandomState(seed);
  const { batch: N, channels: C, positions: P } = s;
  const eps = 1e-5, momentum = 0.1, size = C * P, n = N * size;
  // An offset and a scale per channel, so the statistics are not all ~0 and ~1/3.
  const x = randomArray(rng, allocated * size, -1, 1).map((v, i) =>
    v * (1 + (Math.floor(i / P) % C)) + 0.5 * (Math.floor(i / P) % C)
  );
  const gamma = randomArray(rng, C, 0.5, 1.5), beta = randomArray(rng, C);
  const runMean = randomArray(rng, C), runVar = randomArray(rng, C, 0.5, 2);
  const dOut = randomArray(rng, allocated * size);
  const xs = x.subarray(0, n), dOuts = dOut.subarray(0, n);
  const y = new Float32Array(n), rm = runMean.slice(), rv = runVar.slice();
  const mean = new Float32Array(C), invStd = new Float32Array(C);
  batchNormForwardTrain(y, xs, gamma, beta, rm, rv, mean, invStd, s, eps, momentum);
  const yEval = new Float32Array(n);
  batchNormForwardEval(yEval, xs, gamma, beta, runMean, runVar, s, eps);
  const dx = new Float32Array(n), dGamma = new Float32Array(C), dBeta = new Float32Array(C);
  batchNormBackward(dx, dGamma, dBeta, dOuts, xs, gamma, mean, invStd, s);

  const tag = `N${N}/${allocated} C${C} P${P}`;
  const close = (got: Float32Array, want: Float32Array, what: string) =>
    assertAllClose(got.subarray(0, want.length), want, {
      rtol: RTOL,
      atol: atolFor(want),
      msg: `${what} ${tag}`,
    });
  const train = await runKernel(specs.batchNormForwardTrain(C, P, eps, momentum), N, {
    x,
    gamma,
    beta,
    runMean: runMean.slice(),
    runVar: runVar.slice(),
    saveMean: C,
    saveInvStd: C,
    y: allocated * size,
  });
  close(train.saveMean, mean, "batchnorm_forward_train mean");
  close(train.saveInvStd, invStd, "batchnorm_forward_train invStd");
  close(train.runMean, rm, "batchnorm_forward_train running mean");
  close(train.runVar, rv, "batchnorm_forward_train running var");
  close(train.y, y, "batchnorm_forward_train y");
  if (allocated > N && !train.y.subarray(n).every(Number.isNaN)) {
    throw new Error(`batchnorm ${tag}: wrote past count`);
  }
  const { y: gEval } = await runKernel(specs.batchNormForwardEval(C, P, eps), N, {
    x,
    gamma,
    beta,
    runMean,
    runVar,
    y: allocated * size,
  });
  close(gEval, yEval, "batchnorm_forward_eval y");
  // The backward from the CPU's statistics, so only its own sums are compared.
  const back = await runKernel(specs.batchNormBackward(C, P), N, {
    dOut,
    x,
    gamma,
    saveMean: mean,
    saveInvStd: invStd,
    dGamma: C,
    dBeta: C,
    dx: allocated * size,
  });
  close(back.dBeta, dBeta, "batchnorm_backward dBeta");
  close(back.dGamma, dGamma, "batchnorm_backward dGamma");
  close(back.dx, dx, "batchnorm_backward dx");
}

// ---------------------------------------------------------------- adam

/** `steps` Adam steps from random p, g (new g each step) against cpu/adam.ts. */
async function checkAdam(
  size: number,
  steps: number,
  weightDecay: number,
  decoupled: boolean,
  seed: number,
): Promise<void> {
  const rng = new RandomState(seed);
  const o = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay, decoupled };
  let p: Float32Array = randomArray(rng, size);
  let m: Float32Array = new Float32Array(size), v: Float32Array = new Float32Array(size);
  const p0 = p.slice(), m0 = m.slice(), v0 = v.slice();
  for (let step = 1; step <= steps; step++) {
    const g = randomArray(rng, size, -0.1, 0.1);
    adamUpdate(p0, g, m0, v0, { ...o, step });
    const { c1, c2 } = adamCorrections(o.beta1, o.beta2, step);
    ({ p, m, v } = await runKernel(specs.adamUpdate(size), 1, {
      g,
      p,
      m,
      v,
      result: Float32Array.of(2.3, 0),
      flag: new Float32Array(1),
    }, {
      lr: o.learningRate,
      beta1: o.beta1,
      beta2: o.beta2,
      oneMinusBeta1: 1 - o.beta1,
      oneMinusBeta2: 1 - o.beta2,
      epsilon: o.epsilon,
      l2: decoupled ? 0 : weightDecay,
      decay: decoupled ? 1 - o.learningRate * weightDecay : 1,
      c1,
      c2,
    }));
  }
  const tag = `size ${size} steps ${steps} wd ${weightDecay} decoupled ${decoupled}`;
  // m sums terms of both signs: judged against the size of its terms (float32 rounding).
  assertAllClose(m, m0, { rtol: 1e-5, atol: atolFor(m0, 1e-6), msg: `adam_update m ${tag}` });
  assertAllClose(v, v0, { rtol: 1e-5, atol: atolFor(v0, 1e-6), msg: `adam_update v ${tag}` });
  assertAllClose(p, p0, { rtol: 1e-5, atol: 1e-7, msg: `adam_update p ${tag}` });
}

// ---------------------------------------------------------------- the table

/** Every parity case, in the order the Deno test files register them. */
export const KERNEL_CASES: readonly KernelCase[] = [
  {
    op: "conv2d",
    name: "conv2d webgpu: random shapes match cpu/conv2d.ts",
    async run() {
      await checkConv(convShape(3, 3, 9, 7, 5, 3, 2), 3, 1);
      await checkConv(convShape(2, 1, 6, 11, 7, 1, 4), 2, 2);
      await checkConv(convShape(4, 6, 10, 10, 9, 5, 5), 4, 3);
      await checkConv(convShape(1, 2, 5, 5, 3, 5, 5), 1, 4); // 1x1 output
      await checkConv(convShape(2, 2, 9, 13, 3, 2, 11), 2, 8); // kernel wider than 5 and 8 columns
    },
  },
  {
    op: "conv2d",
    name: "conv2d webgpu: count < batchSize uses only the first count samples",
    run: () => checkConv(convShape(3, 4, 8, 9, 6, 3, 3), 5, 5),
  },
  {
    op: "conv2d",
    name: "conv2d webgpu: the tutorial's layers at batch 500",
    async run() {
      await checkConv(convShape(500, 1, 28, 28, 20, 5, 5), 500, 6);
      await checkConv(convShape(500, 20, 12, 12, 50, 5, 5), 500, 7);
    },
  },
  {
    op: "conv2d",
    name: "conv2d webgpu: zero padding (same, asymmetric same of an even kernel, numbers)",
    async run() {
      await checkConv(convShape(3, 3, 9, 7, 5, 3, 3, [1, 1], [1, 1, 1, 1]), 3, 11); // 3x3 same
      await checkConv(convShape(2, 2, 8, 9, 3, 2, 2, [1, 1], [0, 0, 1, 1]), 2, 12); // 2x2 same
      await checkConv(convShape(2, 3, 6, 10, 4, 4, 4, [1, 1], [1, 1, 2, 2]), 2, 13); // 4x4 same
      await checkConv(convShape(1, 4, 7, 7, 9, 7, 7, [1, 1], [3, 3, 3, 3]), 1, 14); // 7x7 same
      await checkConv(convShape(2, 2, 5, 13, 6, 3, 6, [1, 1], [2, 0, 0, 3]), 2, 15); // lopsided
      await checkConv(convShape(1, 1, 1, 1, 2, 3, 3, [1, 1], [1, 1, 1, 1]), 1, 16); // 1x1 image
    },
  },
  {
    op: "conv2d",
    name: "conv2d webgpu: strides, with and without padding",
    async run() {
      await checkConv(convShape(2, 3, 9, 11, 10, 3, 3, [2, 2], [1, 1, 1, 1]), 2, 21); // 3x3 / 2
      await checkConv(convShape(2, 3, 8, 8, 5, 3, 3, [2, 2], [1, 1, 1, 1]), 2, 22); // even size
      await checkConv(convShape(2, 2, 10, 13, 4, 3, 2, [2, 3], [0, 2, 1, 0]), 2, 23);
      await checkConv(convShape(3, 2, 12, 12, 3, 2, 2, [2, 2]), 3, 24); // 2x2 / 2, no padding
      await checkConv(convShape(1, 2, 11, 17, 9, 5, 5, [3, 1], [2, 2, 2, 2]), 1, 25);
      await checkConv(convShape(2, 3, 7, 19, 12, 3, 7, [1, 2], [1, 3, 1, 3]), 2, 26);
    },
  },
  {
    op: "conv2d",
    name: "conv2d webgpu: padded and strided at batch 1 and 257, count < batchSize",
    async run() {
      await checkConv(convShape(1, 5, 6, 5, 4, 3, 3, [1, 1], [1, 1, 1, 1]), 1, 31);
      await checkConv(convShape(257, 3, 6, 5, 4, 3, 3, [1, 1], [1, 1, 1, 1]), 257, 32);
      await checkConv(convShape(257, 3, 7, 7, 4, 3, 3, [2, 2], [1, 1, 1, 1]), 257, 33);
      await checkConv(convShape(3, 4, 8, 9, 6, 3, 3, [2, 1], [1, 1, 1, 1]), 5, 34);
    },
  },
  {
    op: "conv2d",
    name: "conv2d webgpu: 3x3 same 16 -> 32 channels at 28x28, batch 128",
    run: () => checkConv(convShape(128, 16, 28, 28, 32, 3, 3, [1, 1], [1, 1, 1, 1]), 128, 41),
  },
  {
    op: "dense",
    name: "dense webgpu: random shapes match cpu/dense.ts",
    async run() {
      await checkDense(denseShape(3, 7, 5));
      await checkDense(denseShape(1, 1, 1));
      await checkDense(denseShape(5, 33, 10));
      await checkDense(denseShape(17, 64, 131));
      await checkDense(denseShape(70, 9, 6));
    },
  },
  {
    op: "dense",
    name: "dense webgpu: count < batchSize",
    run: () => checkDense(denseShape(5, 12, 7), 9, 2),
  },
  {
    op: "dense",
    name: "dense webgpu: the tutorial's layers at batch 500",
    async run() {
      await checkDense(denseShape(500, 800, 500), 500, 3);
      await checkDense(denseShape(500, 500, 10), 500, 4);
    },
  },
  {
    op: "maxpool2d",
    name: "maxpool2d webgpu: random shapes, both border modes, match cpu/maxpool2d.ts",
    async run() {
      for (const ignoreBorder of [true, false]) {
        await checkPool("maxpool2d", poolShape(3, 4, 7, 9, 2, 2, ignoreBorder));
        await checkPool("maxpool2d", poolShape(2, 3, 10, 5, 3, 2, ignoreBorder));
        await checkPool("maxpool2d", poolShape(2, 2, 5, 7, 1, 3, ignoreBorder));
      }
    },
  },
  {
    op: "maxpool2d",
    name: "maxpool2d webgpu: ties go to the first maximum in row-major order",
    async run() {
      await checkPool("maxpool2d", poolShape(2, 3, 8, 8, 2, 2, true), 2, true);
      await checkPool("maxpool2d", poolShape(2, 3, 7, 5, 3, 3, false), 2, true);
      // overlapping windows: a value can be the first maximum of several
      await checkPool("maxpool2d", poolShape(2, 3, 14, 13, 3, 3, true, [2, 2]), 2, true);
      await checkPool("maxpool2d", poolShape(2, 3, 14, 13, 3, 3, false, [2, 2]), 2, true);
      await checkPool("maxpool2d", poolShape(2, 2, 9, 8, 2, 3, false, [1, 1]), 2, true);
    },
  },
  {
    op: "maxpool2d",
    name: 'maxpool2d webgpu: ties "all" (Theano) give the gradient to every tied maximum',
    async run() {
      const all = (s: Pool2DShape): Pool2DShape => ({ ...s, ties: "all" });
      await checkPool("maxpool2d", all(poolShape(2, 3, 8, 8, 2, 2, true)), 2, true);
      await checkPool("maxpool2d", all(poolShape(2, 3, 7, 5, 3, 3, false)), 2, true);
      // overlapping windows: a value can be a tied maximum of several
      await checkPool("maxpool2d", all(poolShape(2, 3, 14, 13, 3, 3, true, [2, 2])), 2, true);
      await checkPool("maxpool2d", all(poolShape(2, 3, 14, 13, 3, 3, false, [2, 2])), 2, true);
      await checkPool("maxpool2d", all(poolShape(2, 2, 9, 8, 2, 3, false, [1, 1])), 2, true);
      await checkPool("maxpool2d", all(poolShape(3, 2, 6, 6, 2, 2, false)), 7, true);
    },
  },
  {
    op: "maxpool2d",
    name: "maxpool2d webgpu: count < batchSize",
    run: () => checkPool("maxpool2d", poolShape(3, 2, 6, 6, 2, 2, false), 7),
  },
  {
    op: "maxpool2d",
    name: "maxpool2d webgpu: strides (overlapping, gaps), both border modes, batch 1 and 257",
    async run() {
      for (const ignoreBorder of [true, false]) {
        await checkPool("maxpool2d", poolShape(2, 3, 14, 13, 3, 3, ignoreBorder, [2, 2]));
        await checkPool("maxpool2d", poolShape(2, 3, 7, 9, 3, 2, ignoreBorder, [1, 2]));
        await checkPool("maxpool2d", poolShape(1, 2, 9, 10, 2, 2, ignoreBorder, [3, 3])); // gaps
        await checkPool("maxpool2d", poolShape(2, 2, 7, 6, 7, 6, ignoreBorder, [1, 1])); // global
        await checkPool("maxpool2d", poolShape(2, 2, 2, 5, 3, 2, ignoreBorder, [2, 2])); // H < PH
      }
      await checkPool("maxpool2d", poolShape(257, 2, 5, 5, 3, 3, false, [2, 2]), 257, true);
      await checkPool("maxpool2d", poolShape(3, 2, 6, 6, 3, 3, false, [2, 2]), 7);
    },
  },
  {
    op: "avgpool2d",
    name: "avgpool2d webgpu: windows, strides, partial windows and global, match cpu/avgpool2d.ts",
    async run() {
      for (const ignoreBorder of [true, false]) {
        await checkPool("avgpool2d", poolShape(3, 4, 7, 9, 2, 2, ignoreBorder));
        await checkPool("avgpool2d", poolShape(2, 3, 14, 13, 3, 3, ignoreBorder, [2, 2]));
        await checkPool("avgpool2d", poolShape(2, 3, 7, 9, 3, 2, ignoreBorder, [1, 2]));
        await checkPool("avgpool2d", poolShape(1, 2, 9, 10, 2, 2, ignoreBorder, [3, 3])); // gaps
        await checkPool("avgpool2d", poolShape(2, 2, 2, 5, 3, 2, ignoreBorder, [2, 2])); // H < PH
      }
      await checkPool("avgpool2d", poolShape(2, 5, 7, 6, 7, 6, true)); // global: [C] out
      await checkPool("avgpool2d", poolShape(1, 3, 5, 5, 3, 3, false, [2, 2]));
      await checkPool("avgpool2d", poolShape(257, 2, 5, 5, 3, 3, false, [2, 2]), 257);
      await checkPool("avgpool2d", poolShape(3, 2, 6, 6, 3, 3, false, [2, 2]), 7);
    },
  },
  {
    op: "avgpool2d",
    name: "avgpool2d webgpu: global average of 64 channels 7x7 at batch 256",
    run: () => checkPool("avgpool2d", poolShape(256, 64, 7, 7, 7, 7, true)),
  },
  {
    op: "maxpool2d",
    name: "maxpool2d webgpu: the tutorial's layers at batch 500",
    async run() {
      await checkPool("maxpool2d", poolShape(500, 20, 24, 24, 2, 2, true));
      await checkPool("maxpool2d", poolShape(500, 50, 8, 8, 2, 2, true));
    },
  },
  ...(["tanh", "sigmoid", "relu"] as const).map((kind): KernelCase => ({
    op: "activations",
    name: `${kind} webgpu: forward and backward match cpu/${kind}.ts`,
    async run() {
      await checkActivation(kind, 3, 37);
      await checkActivation(kind, 4, 5, 9); // count < batchSize
      await checkActivation(kind, 500, 800); // the tutorial's hidden layer
      await checkActivation(kind, 500, 20 * 12 * 12); // the tutorial's first pooled maps
    },
  })),
  ...(["gelu", "gelu_tanh"] as const).map((kind): KernelCase => ({
    op: "gelu",
    name: `${kind} webgpu: forward and backward match cpu/gelu.ts (atol 1e-6, rtol 1e-5)`,
    async run() {
      await checkGelu(kind, 3, 37);
      await checkGelu(kind, 500, 800);
    },
  })),
  {
    op: "softmax_nll",
    name: "softmax/nll webgpu: random shapes match cpu/softmax.ts and cpu/nll.ts",
    async run() {
      await checkSoftmaxNll(3, 10);
      await checkSoftmaxNll(1, 1);
      await checkSoftmaxNll(70, 7, 70, 50); // large logits: the max shift keeps exp finite
      await checkSoftmaxNll(130, 4, 130, 2, true); // integer logits: exact ties in the argmax
      await checkSoftmaxNll(5, 10, 12); // count < batchSize
    },
  },
  {
    op: "softmax_nll",
    name: "softmax/nll webgpu: the tutorial's output layer at batch 500",
    run: () => checkSoftmaxNll(500, 10),
  },
  {
    op: "sgd",
    name: "sgd webgpu: plain and momentum updates match cpu/sgd.ts",
    async run() {
      await checkSgd(1, 0, 1);
      await checkSgd(1000, 0, 3);
      await checkSgd(777, 0.9, 4);
      await checkSgd(431080, 0.5, 2); // every parameter of the tutorial's LeNet
    },
  },
  {
    op: "sgd",
    name: "sgd webgpu: the device check flags a non-finite loss (bit 1) and parameter (bit 2)",
    async run() {
      const flagOf = async (p: Float32Array, loss: number, momentum = 0) => {
        const g = new Float32Array(p.length), v = new Float32Array(p.length);
        const out = await runKernel(
          specs.sgdUpdate(p.length),
          1,
          { g, p, v, result: Float32Array.of(loss, 0), flag: new Float32Array(1) },
          { lr: 0.1, momentum },
        );
        return new Uint32Array(out.flag.buffer)[0];
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
      if (flags.join() !== "0,2,2,1,1,3") {
        throw new Error(`flags ${flags.join()}, want 0,2,2,1,1,3`);
      }
    },
  },
  {
    op: "dropout",
    name: "dropout webgpu: the mask is bit-identical to cpu/dropout.ts; eval is the identity",
    async run() {
      await checkDropout(3, 37, 0.5, 42, 1, 3);
      await checkDropout(3, 37, 0.5, 42, 2, 3); // another step: another mask
      await checkDropout(3, 37, 0.5, 42, 1, 4); // another layer
      await checkDropout(2, 100, 0.1, 0xffffffff, 7, 0);
      await checkDropout(2, 100, 0.9, 7, 123456, 9);
      await checkDropout(4, 50, 0, 5, 1, 2); // rate 0: keeps everything
      await checkDropout(3, 20, 0.3, 1, 1, 1, 8); // count < batchSize
      await checkDropout(500, 512, 0.5, 2026, 1000, 5); // a hidden layer at batch 500
    },
  },
  {
    op: "batchnorm",
    name: "batchnorm webgpu: train/eval forward and backward match cpu/batchnorm.ts",
    async run() {
      await checkBatchNorm({ batch: 3, channels: 4, positions: 25 });
      await checkBatchNorm({ batch: 5, channels: 7, positions: 1 }, 5, 2); // BatchNorm1D
      await checkBatchNorm({ batch: 2, channels: 3, positions: 9 }, 6, 3); // count < batchSize
      await checkBatchNorm({ batch: 1, channels: 2, positions: 300 }, 1, 4); // M > 256
    },
  },
  {
    op: "batchnorm",
    name: "batchnorm webgpu: a 32-channel 28x28 layer at batch 100",
    run: () => checkBatchNorm({ batch: 100, channels: 32, positions: 28 * 28 }, 100, 5),
  },
  {
    op: "adam",
    name: "adam webgpu: Adam, Adam with L2 decay and AdamW match cpu/adam.ts over 5 steps",
    async run() {
      await checkAdam(1, 5, 0, false, 1);
      await checkAdam(1000, 5, 0, false, 2);
      await checkAdam(777, 5, 0.01, false, 3);
      await checkAdam(777, 5, 0.1, true, 4);
      await checkAdam(431080, 2, 0, false, 5); // every parameter of the tutorial's LeNet
    },
  },
  {
    op: "adam",
    name: "adam webgpu: the device check flags a non-finite loss (bit 1) and parameter (bit 2)",
    async run() {
      const flagOf = async (g: Float32Array, loss: number) => {
        const size = g.length;
        const out = await runKernel(specs.adamUpdate(size), 1, {
          g,
          p: new Float32Array(size).fill(0.5),
          m: new Float32Array(size),
          v: new Float32Array(size),
          result: Float32Array.of(loss, 0),
          flag: new Float32Array(1),
        }, {
          lr: 0.1,
          beta1: 0.9,
          beta2: 0.999,
          oneMinusBeta1: 0.1,
          oneMinusBeta2: 0.001,
          epsilon: 1e-8,
          c1: 10,
          c2: 1000,
        });
        return new Uint32Array(out.flag.buffer)[0];
      };
      const finite = new Float32Array(1000).fill(0.25);
      const withNaN = finite.slice(), withInf = finite.slice();
      withNaN[999] = NaN;
      withInf[3] = Infinity;
      const flags = [
        await flagOf(finite, 2.3),
        await flagOf(withNaN, 2.3),
        await flagOf(withInf, 2.3),
        await flagOf(finite, NaN),
        await flagOf(withNaN, Infinity),
      ];
      if (flags.join() !== "0,2,2,1,3") throw new Error(`flags ${flags.join()}, want 0,2,2,1,3`);
    },
  },
];

/**
 * The cases of one op group.
 *
 * @param op The group.
 * @returns Its cases, in order.
 */
export function casesOf(op: KernelCase["op"]): KernelCase[] {
  return KERNEL_CASES.filter((c) => c.op === op);
}
