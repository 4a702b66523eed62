/**
 * Shared by the per-op benches and `gflops.ts`: the tutorial LeNet's ops at its shapes
 * (batch 500), each with its WebGPU kernels, its CPU twin, its native (CBLAS) twin, and its
 * FLOP and byte counts. To add a backend, add a runner beside {@link gpuRunner},
 * {@link OpCase.cpu} and {@link OpCase.native}, and an entry in {@link benchCases}.
 *
 * The native backend fuses what follows a GEMM (conv + pool + tanh, dense + tanh), but its
 * building blocks run alone too: a `ConvStage` or `DenseStage` without pooling or activation
 * is exactly the unfused op, a `PoolStage` without activation exactly the pooling, and a lone
 * activation stage a copy plus the in-place loop. Softmax and NLL are the `cpu/` loops in the
 * native backend as well. Each native entry's name says what it runs; `native_bench.ts` times
 * the fused stages themselves.
 *
 * @module
 */
import { conv2dBackward, conv2dForward } from "../cpu/conv2d.ts";
import { maxPool2dBackward, maxPool2dForward } from "../cpu/maxpool2d.ts";
import { conv2dOutputSize, poolOutputSize } from "../src/shapes.ts";
import { avgPool2dBackward, avgPool2dForward } from "../cpu/avgpool2d.ts";
import { denseBackward, denseForward } from "../cpu/dense.ts";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { reluBackward, reluForward } from "../cpu/relu.ts";
import { dropoutBackward, dropoutForward, dropoutKey } from "../cpu/dropout.ts";
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
} from "../cpu/batchnorm.ts";
import { adamUpdate } from "../cpu/adam.ts";
import { BatchNormStage } from "../src/backends/native/batchnorm.ts";
import { softmaxForward } from "../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../cpu/nll.ts";
import { sgdUpdate } from "../cpu/sgd.ts";
import { type Blas, BlasNotFoundError, tryLoadBlas } from "../src/backends/native/blas.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import { DenseStage } from "../src/backends/native/dense.ts";
import { AvgPoolStage, PoolStage } from "../src/backends/native/pool.ts";
import { activateInPlace, activationBackward } from "../src/backends/native/pointwise.ts";
import { getDevice, upload } from "../src/backends/webgpu/device.ts";
import {
  type ConvDims,
  convWeightSplits,
  type Dispatch,
  Kernel,
  type KernelSpec,
  packParams,
  PARAMS_SIZE,
  type PoolDims,
  specs,
} from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";

/** The batch of every case: the tutorial's. */
export const BATCH = 500;

/** One kernel launch of a case: its spec and the sizes (in 4-byte values) of its bindings. */
export interface KernelCall {
  spec: KernelSpec;
  /** Values per binding, by name (all but `params`); a binding named `labels` gets labels. */
  args: Record<string, number>;
  /** Work of this kernel alone, for the per-kernel table. */
  flops: number;
  /** Bytes this kernel must move at least (each input read once, each output written once). */
  bytes: number;
}

/** One run of an op's native twin (the conv stages await GEMMs on another thread). */
export type NativeRun = () => void | Promise<void>;

/** An op at one of the tutorial's shapes: the WebGPU kernels, the CPU and native twins. */
export interface OpCase {
  /** Bench group, e.g. `"conv2d forward conv1"`. */
  group: string;
  /** Shapes, for the tables. */
  shape: string;
  /** The WebGPU kernels that together equal the CPU twin. */
  kernels: KernelCall[];
  /** Builds the CPU twin on preallocated arrays; the returned function runs it once. */
  cpu(): () => void;
  /** What the native entry runs, for its name, e.g. `"im2col + sgemm"`. */
  nativeNote: string;
  /** Builds the native twin on preallocated arrays; the returned function runs it once. */
  native(blas: Blas): Promise<NativeRun>;
}

const rng = new RandomState(42);
const rand = (n: number) => Float32Array.from(rng.uniform(-1, 1, n));
const labels = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
const F = 4; // bytes per float

/** A convolution's dims before its output size, which `conv` adds (`src/shapes.ts`). */
type ConvSize = Omit<ConvDims, "OH" | "OW">;
/** A pooling's dims before its output size, which `pool` and `avgPool` add. */
type PoolSize = Omit<PoolDims, "OH" | "OW">;

/** The output plane of a pooling, `poolOutputSize` on each axis. */
function pooled(p: PoolSize): PoolDims {
  const OH = poolOutputSize(p.H, p.PH, p.SH ?? p.PH, p.ignoreBorder);
  return { ...p, OH, OW: poolOutputSize(p.W, p.PW, p.SW ?? p.PW, p.ignoreBorder) };
}

function conv(name: string, d0: ConvSize, withDx: boolean): OpCase[] {
  const N = BATCH;
  const s0 = {
    batch: N,
    inChannels: d0.C,
    height: d0.H,
    width: d0.W,
    outChannels: d0.O,
    kernelH: d0.KH,
    kernelW: d0.KW,
    strideH: d0.SH ?? 1,
    strideW: d0.SW ?? 1,
    padTop: d0.PT ?? 0,
    padLeft: d0.PL ?? 0,
    padBottom: d0.PB ?? 0,
    padRight: d0.PR ?? 0,
  };
  const { outH: OH, outW: OW } = conv2dOutputSize(s0);
  const d: ConvDims = { ...d0, OH, OW }, s = { ...s0, outH: OH, outW: OW };
  const xs = N * d.C * d.H * d.W, ws = d.O * d.C * d.KH * d.KW, ys = N * d.O * OH * OW;
  const macs = N * d.O * OH * OW * d.C * d.KH * d.KW;
  const S = convWeightSplits(d);
  const shape = `${N}x${d.C}x${d.H}x${d.W} * ${d.O}x${d.C}x${d.KH}x${d.KW}` +
    (s.strideH > 1 || s.strideW > 1 ? ` stride ${s.strideH}x${s.strideW}` : "") +
    (s.padTop + s.padLeft + s.padBottom + s.padRight > 0
      ? ` pad ${s.padTop},${s.padLeft},${s.padBottom},${s.padRight}`
      : "");
  const backward: KernelCall[] = [
    {
      spec: specs.conv2dBackwardWeight(d), // dw and db (the bias lane sums dOut)
      args: { dOut: ys, inp: xs, partial: S * (ws + d.O) },
      flops: 2 * macs + ys,
      bytes: F * (ys + xs + S * (ws + d.O)),
    },
    {
      spec: specs.splitSum(S, ws, d.O),
      args: { partial: S * (ws + d.O), out: ws, outB: d.O },
      flops: S * (ws + d.O),
      bytes: F * (S + 1) * (ws + d.O),
    },
  ];
  if (withDx) {
    backward.push({
      spec: specs.conv2dBackwardInput(d),
      args: { dOut: ys, w: ws, dx: xs },
      flops: 2 * macs,
      bytes: F * (ys + ws + xs),
    });
  }
  return [
    {
      group: `conv2d forward ${name}`,
      shape,
      kernels: [{
        spec: specs.conv2dForward(d),
        args: { inp: xs, w: ws, b: d.O, out: ys },
        flops: 2 * macs,
        bytes: F * (xs + ws + ys),
      }],
      cpu() {
        const [out, x, w, b] = [new Float32Array(ys), rand(xs), rand(ws), rand(d.O)];
        return () => conv2dForward(out, x, w, b, s);
      },
      nativeNote: "im2col + sgemm + bias, chunked; no pool/tanh",
      native(blas) {
        const stage = new ConvStage(blas, s, null, null, false);
        const [out, x, w, b] = [new Float32Array(ys), rand(xs), rand(ws), rand(d.O)];
        return Promise.resolve(() => stage.forward(out, x, w, b, N));
      },
    },
    {
      group: `conv2d backward ${name}`,
      shape,
      kernels: backward,
      cpu() {
        const [x, w, dy] = [rand(xs), rand(ws), rand(ys)];
        const dx = withDx ? new Float32Array(xs) : null;
        const [dw, db] = [new Float32Array(ws), new Float32Array(d.O)];
        return () => conv2dBackward(dx, dw, db, dy, x, w, s);
      },
      nativeNote: withDx ? "bias sum + 2 sgemm + col2im, chunked" : "bias sum + sgemm, chunked",
      async native(blas) {
        const stage = new ConvStage(blas, s, null, null, withDx);
        const [x, w, b, dy, out] = [rand(xs), rand(ws), rand(d.O), rand(ys), new Float32Array(ys)];
        const dx = withDx ? new Float32Array(xs) : null;
        const [dw, db] = [new Float32Array(ws), new Float32Array(d.O)];
        await stage.forward(out, x, w, b, N); // backward reuses forward's im2col
        return () => stage.backward(dx, dw, db, dy, out, w, N);
      },
    },
  ];
}

function pool(name: string, size: PoolSize): OpCase[] {
  const d = pooled(size), { OH, OW } = d;
  const N = BATCH;
  const s = {
    batch: N,
    channels: d.C,
    height: d.H,
    width: d.W,
    poolH: d.PH,
    poolW: d.PW,
    strideH: d.SH ?? d.PH,
    strideW: d.SW ?? d.PW,
    ignoreBorder: d.ignoreBorder,
  };
  const xs = N * d.C * d.H * d.W, ys = N * d.C * OH * OW;
  const shape = `${N}x${d.C}x${d.H}x${d.W} / ${d.PH}x${d.PW}` +
    (s.strideH !== d.PH || s.strideW !== d.PW ? ` stride ${s.strideH}x${s.strideW}` : "");
  const poolShape = {
    inShape: [d.C, d.H, d.W],
    outShape: [d.C, OH, OW],
    poolH: d.PH,
    poolW: d.PW,
    strideH: s.strideH,
    strideW: s.strideW,
  };
  const poolStage = () => new PoolStage(poolShape, null, N);
  return [
    {
      group: `maxpool2d forward ${name}`,
      shape,
      kernels: [{
        spec: specs.maxPool2dForward(d),
        args: { inp: xs, out: ys },
        flops: ys * d.PH * d.PW,
        bytes: F * (xs + ys),
      }],
      cpu() {
        const [x, y] = [rand(xs), new Float32Array(ys)];
        return () => maxPool2dForward(y, x, s);
      },
      nativeNote: "PoolStage, records argmax; in LeNet fused into the conv stage",
      native() {
        const stage = poolStage();
        const [x, y] = [rand(xs), new Float32Array(ys)];
        return Promise.resolve(() => stage.forward(y, x, N));
      },
    },
    {
      group: `maxpool2d backward ${name}`,
      shape,
      kernels: [{
        spec: specs.maxPool2dBackward(d),
        args: { dOut: ys, inp: xs, dx: xs },
        flops: ys * d.PH * d.PW,
        bytes: F * (ys + 2 * xs),
      }],
      cpu() {
        const [x, dy, dx] = [rand(xs), rand(ys), new Float32Array(xs)];
        return () => maxPool2dBackward(dx, dy, x, s);
      },
      nativeNote: "PoolStage, argmax scatter; in LeNet fused into the conv stage",
      native() {
        const stage = poolStage();
        const [x, y, dy, dx] = [rand(xs), new Float32Array(ys), rand(ys), new Float32Array(xs)];
        stage.forward(y, x, N); // records the argmax backward scatters through
        return Promise.resolve(() => stage.backward(dx, dy, y, N));
      },
    },
  ];
}

function avgPool(name: string, size: PoolSize): OpCase[] {
  const d = pooled(size), { OH, OW } = d;
  const N = BATCH;
  const s = {
    batch: N,
    channels: d.C,
    height: d.H,
    width: d.W,
    poolH: d.PH,
    poolW: d.PW,
    strideH: d.SH ?? d.PH,
    strideW: d.SW ?? d.PW,
    ignoreBorder: d.ignoreBorder,
  };
  const xs = N * d.C * d.H * d.W, ys = N * d.C * OH * OW;
  const global = d.PH === d.H && d.PW === d.W;
  const shape = `${N}x${d.C}x${d.H}x${d.W} / ${d.PH}x${d.PW}` +
    (s.strideH !== d.PH || s.strideW !== d.PW ? ` stride ${s.strideH}x${s.strideW}` : "");
  const stage = () =>
    new AvgPoolStage({
      inShape: [d.C, d.H, d.W],
      outShape: global ? [d.C] : [d.C, OH, OW],
      poolH: d.PH,
      poolW: d.PW,
      strideH: s.strideH,
      strideW: s.strideW,
    }, N);
  return [
    {
      group: `avgpool2d forward ${name}`,
      shape,
      kernels: [{
        spec: specs.avgPool2dForward(d),
        args: { inp: xs, out: ys },
        flops: ys * d.PH * d.PW,
        bytes: F * (xs + ys),
      }],
      cpu() {
        const [x, y] = [rand(xs), new Float32Array(ys)];
        return () => avgPool2dForward(y, x, s);
      },
      nativeNote: "AvgPoolStage",
      native() {
        const st = stage();
        const [x, y] = [rand(xs), new Float32Array(ys)];
        return Promise.resolve(() => st.forward(y, x, N));
      },
    },
    {
      group: `avgpool2d backward ${name}`,
      shape,
      kernels: [{
        spec: specs.avgPool2dBackward(d),
        args: { dOut: ys, dx: xs },
        flops: ys * d.PH * d.PW,
        bytes: F * (ys + xs),
      }],
      cpu() {
        const [dy, dx] = [rand(ys), new Float32Array(xs)];
        return () => avgPool2dBackward(dx, dy, s);
      },
      nativeNote: "AvgPoolStage",
      native() {
        const st = stage();
        const [dy, dx] = [rand(ys), new Float32Array(xs)];
        return Promise.resolve(() => st.backward(dx, dy, N));
      },
    },
  ];
}

/** A 3x3 "same" convolution (padding 1) of C channels of H x H into O. */
function sameConv(C: number, H: number, O: number): ConvSize {
  return { C, H, W: H, O, KH: 3, KW: 3, PT: 1, PL: 1, PB: 1, PR: 1 };
}

function dense(name: string, I: number, J: number, withDx: boolean): OpCase[] {
  const N = BATCH, s = { batch: N, inFeatures: I, outFeatures: J };
  const shape = `${N}x${I} . ${I}x${J}`;
  const backward: KernelCall[] = [
    {
      spec: specs.biasBackward(J, 1),
      args: { dOut: N * J, db: J },
      flops: N * J,
      bytes: F * N * J,
    },
    {
      spec: specs.denseBackwardWeight(I, J),
      args: { x: N * I, dOut: N * J, dw: I * J },
      flops: 2 * N * I * J,
      bytes: F * (N * I + N * J + I * J),
    },
  ];
  if (withDx) {
    backward.push({
      spec: specs.denseBackwardInput(I, J),
      args: { dOut: N * J, w: I * J, dx: N * I },
      flops: 2 * N * I * J,
      bytes: F * (N * I + N * J + I * J),
    });
  }
  return [
    {
      group: `dense forward ${name}`,
      shape,
      kernels: [{
        spec: specs.denseForward(I, J),
        args: { x: N * I, w: I * J, b: J, out: N * J },
        flops: 2 * N * I * J,
        bytes: F * (N * I + I * J + N * J),
      }],
      cpu() {
        const [x, w, b, y] = [rand(N * I), rand(I * J), rand(J), new Float32Array(N * J)];
        return () => denseForward(y, x, w, b, s);
      },
      nativeNote: "sgemm + bias; no tanh",
      native(blas) {
        const stage = new DenseStage(blas, I, J, null, N);
        const [x, w, b, y] = [rand(N * I), rand(I * J), rand(J), new Float32Array(N * J)];
        return Promise.resolve(() => stage.forward(y, x, w, b, N));
      },
    },
    {
      group: `dense backward ${name}`,
      shape,
      kernels: backward,
      cpu() {
        const [x, w, dy] = [rand(N * I), rand(I * J), rand(N * J)];
        const dx = withDx ? new Float32Array(N * I) : null;
        const [dw, db] = [new Float32Array(I * J), new Float32Array(J)];
        return () => denseBackward(dx, dw, db, dy, x, w, s);
      },
      nativeNote: withDx ? "bias sum + 2 sgemm" : "bias sum + sgemm",
      native(blas) {
        const stage = new DenseStage(blas, I, J, null, N);
        const [x, w, dy, y] = [rand(N * I), rand(I * J), rand(N * J), new Float32Array(N * J)];
        const dx = withDx ? new Float32Array(N * I) : null;
        const [dw, db] = [new Float32Array(I * J), new Float32Array(J)];
        return Promise.resolve(() => stage.backward(dx, dw, db, dy, y, x, w, N));
      },
    },
  ];
}

function activation(kind: "tanh" | "relu", name: string, size: number): OpCase[] {
  const n = BATCH * size;
  return [
    {
      group: `${kind} forward ${name}`,
      shape: `${BATCH}x${size}`,
      kernels: [{
        spec: specs.activation(kind, "forward", size),
        args: { inp: n, out: n },
        flops: n,
        bytes: F * 2 * n,
      }],
      cpu() {
        const [x, y] = [rand(n), new Float32Array(n)];
        return kind === "tanh" ? () => tanhForward(y, x) : () => reluForward(y, x);
      },
      nativeNote: `copy + ${kind} in place; in a network fused into the stage before`,
      native() {
        const [x, y] = [rand(n), new Float32Array(n)];
        return Promise.resolve(() => {
          y.set(x);
          activateInPlace(kind, y, n);
        });
      },
    },
    {
      group: `${kind} backward ${name}`,
      shape: `${BATCH}x${size}`,
      kernels: [{
        spec: specs.activation(kind, "backward", size),
        args: { dOut: n, y: n, dx: n },
        flops: 3 * n,
        bytes: F * 3 * n,
      }],
      cpu() {
        const [dy, y, dx] = [rand(n), rand(n), new Float32Array(n)];
        return kind === "tanh" ? () => tanhBackward(dx, dy, y) : () => reluBackward(dx, dy, y);
      },
      nativeNote: "from the output; in a network fused into the stage before",
      native() {
        const [dy, y, dx] = [rand(n), rand(n), new Float32Array(n)];
        return Promise.resolve(() => activationBackward(kind, dx, dy, y, n));
      },
    },
  ];
}

/** The LeNet's ops at batch 500, by family (the per-op bench files pick theirs). */
export const LENET = {
  conv2d: [
    ...conv("conv0", { C: 1, H: 28, W: 28, O: 20, KH: 5, KW: 5 }, false),
    ...conv("conv1", { C: 20, H: 12, W: 12, O: 50, KH: 5, KW: 5 }, true),
  ],
  maxpool2d: [
    ...pool("pool0", { C: 20, H: 24, W: 24, PH: 2, PW: 2, ignoreBorder: true }),
    ...pool("pool1", { C: 50, H: 8, W: 8, PH: 2, PW: 2, ignoreBorder: true }),
  ],
  dense: [...dense("dense0", 800, 500, true), ...dense("dense1", 500, 10, true)],
  activations: [
    ...activation("tanh", "after conv0", 20 * 12 * 12),
    ...activation("tanh", "after dense0", 500),
  ],
  softmaxNll: [
    {
      group: "softmax forward",
      shape: `${BATCH}x10`,
      kernels: [{
        spec: specs.softmaxForward(10),
        args: { z: 5000, out: 5000 },
        flops: 5000 * 4,
        bytes: F * 10000,
      }],
      cpu() {
        const [z, p] = [rand(5000), new Float32Array(5000)];
        return () => softmaxForward(p, z, BATCH, 10);
      },
      nativeNote: "the cpu/ loop, which the native backend calls",
      native() {
        const [z, p] = [rand(5000), new Float32Array(5000)];
        return Promise.resolve(() => softmaxForward(p, z, BATCH, 10));
      },
    },
    {
      group: "nll loss + softmax backward",
      shape: `${BATCH}x10`,
      kernels: [
        {
          spec: specs.nllLoss(10),
          args: { z: 5000, labels: BATCH, result: 2 },
          flops: 5000 * 4,
          bytes: F * 5500,
        },
        {
          spec: specs.softmaxNllBackward(10),
          args: { z: 5000, labels: BATCH, dz: 5000 },
          flops: 5000 * 5,
          bytes: F * 10500,
        },
      ],
      cpu() {
        const [z, l, dz] = [rand(5000), labels(BATCH), new Float32Array(5000)];
        return () => {
          nllLoss(z, l, BATCH, 10);
          errorCount(z, l, BATCH, 10);
          softmaxNllBackward(dz, z, l, BATCH, 10);
        };
      },
      nativeNote: "the cpu/ loops, which the native backend calls",
      native() {
        const [z, l, dz] = [rand(5000), labels(BATCH), new Float32Array(5000)];
        return Promise.resolve(() => {
          nllLoss(z, l, BATCH, 10);
          errorCount(z, l, BATCH, 10);
          softmaxNllBackward(dz, z, l, BATCH, 10);
        });
      },
    },
  ] as OpCase[],
  sgd: [{
    group: "sgd update",
    shape: "431080 parameters",
    kernels: [{
      spec: specs.sgdUpdate(431080),
      args: { g: 431080, p: 431080, v: 431080, result: 2, flag: 1 },
      flops: 2 * 431080,
      bytes: F * 4 * 431080,
    }],
    cpu() {
      const [p, g] = [rand(431080), rand(431080)];
      return () => sgdUpdate(p, g, 0.01);
    },
    nativeNote: "cpu/ sgdUpdate per parameter array, as the native executor calls it",
    native() {
      // the LeNet's 8 parameter arrays, updated one by one as NativeExecutor.trainStep does
      const sizes = [500, 20, 25000, 50, 400000, 500, 5000, 10];
      const ps = sizes.map(rand), gs = sizes.map(rand);
      return Promise.resolve(() => {
        for (let i = 0; i < ps.length; i++) sgdUpdate(ps[i], gs[i], 0.01);
      });
    },
  }] as OpCase[],
};

function dropout(name: string, size: number, rate: number): OpCase[] {
  const n = BATCH * size, key = dropoutKey(1, 1, 0);
  const direction = (d: "forward" | "backward"): OpCase => ({
    group: `dropout ${d} ${name}`,
    shape: `${BATCH}x${size} rate ${rate}`,
    kernels: [{
      spec: specs.dropout(d, size, rate, 0),
      args: d === "forward" ? { inp: n, out: n } : { dOut: n, dx: n },
      flops: 12 * n, // two lowbias32 hashes per value
      bytes: F * 2 * n,
    }],
    cpu() {
      const [x, y] = [rand(n), new Float32Array(n)];
      const run = d === "forward" ? dropoutForward : dropoutBackward;
      return () => run(y, x, rate, key);
    },
    nativeNote: "the cpu/ loop, which the native backend calls",
    native() {
      const [x, y] = [rand(n), new Float32Array(n)];
      const run = d === "forward" ? dropoutForward : dropoutBackward;
      return Promise.resolve(() => run(y, x, rate, key));
    },
  });
  return [direction("forward"), direction("backward")];
}

function batchNorm(name: string, C: number, P: number): OpCase[] {
  const n = BATCH * C * P, s = { batch: BATCH, channels: C, positions: P };
  const shape = `${BATCH}x${C}x${P}`;
  const tensors = () => ({
    gamma: rand(C),
    beta: rand(C),
    dGamma: new Float32Array(C),
    dBeta: new Float32Array(C),
    runningMean: rand(C),
    runningVar: rand(C).map(Math.abs),
  });
  const stage = () => new BatchNormStage(C, P, 1e-5, 0.1, null, tensors(), BATCH);
  return [
    {
      group: `batchnorm forward (train) ${name}`,
      shape,
      kernels: [{
        spec: specs.batchNormForwardTrain(C, P, 1e-5, 0.1),
        args: {
          x: n,
          gamma: C,
          beta: C,
          runMean: C,
          runVar: C,
          saveMean: C,
          saveInvStd: C,
          y: n,
        },
        flops: 7 * n,
        bytes: F * 4 * n, // x read three times, y written
      }],
      cpu() {
        const t = tensors(), [x, y] = [rand(n), new Float32Array(n)];
        const [mean, invStd] = [new Float32Array(C), new Float32Array(C)];
        return () =>
          batchNormForwardTrain(
            y,
            x,
            t.gamma,
            t.beta,
            t.runningMean,
            t.runningVar,
            mean,
            invStd,
            s,
            1e-5,
            0.1,
          );
      },
      nativeNote: "BatchNormStage.forward (one-pass float64 statistics), no activation",
      native() {
        const st = stage(), [x, y] = [rand(n), new Float32Array(n)];
        return Promise.resolve(() => st.forward(y, x, BATCH, true));
      },
    },
    {
      group: `batchnorm forward (eval) ${name}`,
      shape,
      kernels: [{
        spec: specs.batchNormForwardEval(C, P, 1e-5),
        args: { x: n, gamma: C, beta: C, runMean: C, runVar: C, y: n },
        flops: 5 * n,
        bytes: F * 2 * n,
      }],
      cpu() {
        const t = tensors(), [x, y] = [rand(n), new Float32Array(n)];
        return () =>
          batchNormForwardEval(y, x, t.gamma, t.beta, t.runningMean, t.runningVar, s, 1e-5);
      },
      nativeNote: "BatchNormStage.forward in evaluation mode, no activation",
      native() {
        const st = stage(), [x, y] = [rand(n), new Float32Array(n)];
        return Promise.resolve(() => st.forward(y, x, BATCH, false));
      },
    },
    {
      group: `batchnorm backward ${name}`,
      shape,
      kernels: [{
        spec: specs.batchNormBackward(C, P),
        args: {
          dOut: n,
          x: n,
          gamma: C,
          saveMean: C,
          saveInvStd: C,
          dGamma: C,
          dBeta: C,
          dx: n,
        },
        flops: 10 * n,
        bytes: F * 5 * n, // dOut and x read twice, dx written
      }],
      cpu() {
        const t = tensors(), [x, dy, dx] = [rand(n), rand(n), new Float32Array(n)];
        const [mean, invStd] = [rand(C), rand(C).map(Math.abs)];
        return () => batchNormBackward(dx, t.dGamma, t.dBeta, dy, x, t.gamma, mean, invStd, s);
      },
      nativeNote: "BatchNormStage.backward after a training forward, no activation",
      native() {
        const st = stage(), [x, y, dy, dx] = [rand(n), new Float32Array(n), rand(n), rand(n)];
        st.forward(y, x, BATCH, true);
        return Promise.resolve(() => st.backward(dx, dy, x, y, BATCH));
      },
    },
  ];
}

/** The new layers' ops at batch 500, at the shapes of a small modern CNN (examples/modern.ts). */
export const MODERN = {
  conv2d: [
    ...conv("3x3 same 16->32 28x28", sameConv(16, 28, 32), false),
    ...conv("3x3 same 32->32 14x14", sameConv(32, 14, 32), true),
    ...conv("3x3 stride 2 32->32 28x28", { ...sameConv(32, 28, 32), SH: 2, SW: 2 }, true),
  ],
  maxpool2d: [
    ...pool("3x3 stride 2 on 32x28x28", {
      C: 32,
      H: 28,
      W: 28,
      PH: 3,
      PW: 3,
      SH: 2,
      SW: 2,
      ignoreBorder: false,
    }),
  ],
  avgpool2d: [
    ...avgPool("2x2 on 32x28x28", { C: 32, H: 28, W: 28, PH: 2, PW: 2, ignoreBorder: true }),
    ...avgPool("global on 64x7x7", { C: 64, H: 7, W: 7, PH: 7, PW: 7, ignoreBorder: true }),
  ],
  relu: [
    ...activation("relu", "after a 32x14x14 conv", 32 * 14 * 14),
    ...activation("relu", "after a dense 128", 128),
  ],
  dropout: [...dropout("after a dense 128", 128, 0.5), ...dropout("32x7x7", 32 * 7 * 7, 0.25)],
  batchnorm: [...batchNorm("32x14x14", 32, 196), ...batchNorm("dense 128", 128, 1)],
  adam: [{
    group: "adam update",
    shape: "431080 parameters",
    kernels: [{
      spec: specs.adamUpdate(431080),
      args: { g: 431080, p: 431080, m: 431080, v: 431080, result: 2, flag: 1 },
      flops: 12 * 431080,
      bytes: F * 7 * 431080,
    }],
    cpu() {
      const [p, g, m, v] = [rand(431080), rand(431080), rand(431080), rand(431080).map(Math.abs)];
      const o = {
        learningRate: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weightDecay: 0,
        decoupled: false,
        step: 3,
      };
      return () => adamUpdate(p, g, m, v, o);
    },
    nativeNote: "cpu/ adamUpdate over one array, which the native backend calls per parameter",
    native() {
      const [p, g, m, v] = [rand(431080), rand(431080), rand(431080), rand(431080).map(Math.abs)];
      const o = {
        learningRate: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weightDecay: 0,
        decoupled: false,
        step: 3,
      };
      return Promise.resolve(() => adamUpdate(p, g, m, v, o));
    },
  }] as OpCase[],
};

/** Runs a case's kernels on the GPU: `run(reps)` records `reps` rounds, submits, waits. */
export interface GpuRunner {
  run(reps: number): Promise<void>;
  dispose(): void;
}

/**
 * Compiles and binds a case's kernels on random inputs.
 *
 * @param c The case.
 * @param only Index of one kernel of the case, or all of them.
 * @returns The runner.
 */
export async function gpuRunner(c: OpCase, only?: number): Promise<GpuRunner> {
  const device = await getDevice();
  const calls = only === undefined ? c.kernels : [c.kernels[only]];
  const buffers: GPUBuffer[] = [];
  const make = (size: number, data?: ArrayBufferView, usage: number = GPUBufferUsage.STORAGE) => {
    const b = device.createBuffer({ size, usage: usage | GPUBufferUsage.COPY_DST });
    if (data) upload(device, b, 0, data);
    buffers.push(b);
    return b;
  };
  const params = make(
    PARAMS_SIZE,
    new Uint8Array(packParams({ count: BATCH, lr: 0.01 })),
    GPUBufferUsage.UNIFORM,
  );
  const dispatches: Dispatch[] = [];
  for (const call of calls) {
    const kernel = await Kernel.create(device, call.spec);
    const args: Record<string, GPUBuffer> = {};
    for (const [name, n] of Object.entries(call.args)) {
      args[name] = make(n * 4, name === "labels" ? labels(n) : rand(n));
    }
    dispatches.push(kernel.bind({ params, ...args }, BATCH));
  }
  return {
    async run(reps: number) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let r = 0; r < reps; r++) for (const d of dispatches) d.record(pass, BATCH);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    dispose() {
      for (const b of buffers) b.destroy();
    },
  };
}

/** Whether a WebGPU adapter exists (one line on stderr says why not). */
export async function hasWebGpu(): Promise<boolean> {
  try {
    await getDevice();
    return true;
  } catch (e) {
    console.error(`webgpu benches skipped: ${(e as Error).message}`);
    return false;
  }
}

let blasProbe: Blas | null | undefined;

/**
 * The system CBLAS for the native entries, loaded once; null (and one line on stderr that
 * says why) when none loads or `--allow-ffi` is missing.
 *
 * @returns The library, or null.
 */
export function nativeBlas(): Blas | null {
  if (blasProbe !== undefined) return blasProbe;
  const probe = tryLoadBlas();
  if ("error" in probe) {
    const e = probe.error;
    let why = e.message;
    if (e instanceof BlasNotFoundError) {
      const reasons = new Set(e.tried.map((t) => t.reason));
      why = reasons.size === 1
        ? `${[...reasons][0]}; tried ${e.tried.map((t) => t.path).join(", ")}`
        : e.tried.map((t) => `${t.path}: ${t.reason}`).join("; ");
    }
    console.error(`native benches skipped, no CBLAS loaded (${why})`);
    blasProbe = null;
  } else {
    const { blas } = probe;
    const threads = blas.threads();
    console.error(
      `native benches: ${blas.path}, ${blas.config() ?? "not OpenBLAS"}` +
        (threads === null ? "" : `, ${threads} threads`),
    );
    blasProbe = blas;
  }
  return blasProbe;
}

/**
 * Registers, for each case, a CPU baseline, its native twin and its WebGPU twin in one
 * `deno bench` group. The native and WebGPU entries are ignored (skipped) where no CBLAS or
 * no adapter is found.
 *
 * @param cases The cases.
 * @param cpuRuns `n` of the CPU entries (the reference is slow at batch 500).
 */
export async function benchCases(cases: OpCase[], cpuRuns = 3): Promise<void> {
  const gpu = await hasWebGpu();
  const blas = nativeBlas();
  for (const c of cases) {
    let cpuRun: (() => void) | null = null;
    Deno.bench({
      name: `${c.group} cpu`,
      group: c.group,
      baseline: true,
      n: cpuRuns,
      warmup: 1,
      fn() {
        cpuRun ??= c.cpu();
        cpuRun();
      },
    });
    let nativeRun: NativeRun | null = null;
    Deno.bench({
      name: `${c.group} native (${c.nativeNote})`,
      group: c.group,
      ignore: blas === null,
      n: Math.max(10, cpuRuns),
      warmup: 2,
      async fn() {
        nativeRun ??= await c.native(blas!);
        await nativeRun();
      },
    });
    let runner: GpuRunner | null = null;
    Deno.bench({
      name: `${c.group} webgpu`,
      group: c.group,
      ignore: !gpu,
      n: 10,
      warmup: 2,
      async fn() {
        runner ??= await gpuRunner(c);
        await runner.run(1);
      },
    });
  }
}
