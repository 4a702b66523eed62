/**
 * The native backend's fused stages at the tutorial's batch of 500, each beside the same
 * work done by the unfused native ops in sequence (the entries of the per-op benches): what
 * fusing the pooling and the activation into the GEMM's epilogue buys. Plus a whole LeNet
 * inference pass (the training step of every backend is in `train_step_bench.ts`), and at
 * batch 128 the stages of a modern CNN (3x3 "same" convolution, batch norm + ReLU) and one
 * Adam training step of it.
 *
 *   deno bench -A bench/native_bench.ts
 *
 * Skipped (with a line on stderr saying why) where no CBLAS can be loaded.
 *
 * @module
 */
import {
  BatchNorm1D,
  BatchNorm2D,
  Conv2D,
  Dense,
  Dropout,
  lenet5,
  MaxPool2D,
  RandomState,
  ReLU,
  Sequential,
  Softmax,
} from "../mod.ts";
import { BatchNormStage } from "../src/backends/native/batchnorm.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import { DenseStage } from "../src/backends/native/dense.ts";
import { PoolStage } from "../src/backends/native/pool.ts";
import { activateInPlace, activationBackward } from "../src/backends/native/pointwise.ts";
import { nativeBlas } from "./_bench_util.ts";

const B = 500;
const blas = nativeBlas();
const ignore = blas === null;
const rng = new RandomState(23455);
const rand = (n: number, lo = -0.1, hi = 0.1) => Float32Array.from(rng.uniform(lo, hi, n));

/** Registers a fused and an unfused entry, each built on first use, in one group. */
function pair(
  group: string,
  fused: [string, () => Promise<() => unknown>],
  unfused: [string, () => Promise<() => unknown>],
): void {
  for (const [i, [name, make]] of [fused, unfused].entries()) {
    let run: (() => unknown) | null = null;
    Deno.bench({
      name,
      group,
      baseline: i === 0,
      ignore,
      n: 10,
      warmup: 2,
      async fn() {
        run ??= await make();
        await run();
      },
    });
  }
}

/** Conv + 2x2 max pool + tanh: one `ConvStage`, or conv, `PoolStage`, tanh in sequence. */
function convStage(name: string, C: number, H: number, O: number, first: boolean): void {
  const s = {
    batch: B,
    inChannels: C,
    height: H,
    width: H,
    outChannels: O,
    kernelH: 5,
    kernelW: 5,
    outH: H - 4, // valid 5x5
    outW: H - 4,
  };
  const OH = s.outH, PH = OH / 2;
  const convSize = B * O * OH * OH, outSize = B * O * PH * PH;
  const x = rand(B * C * H * H, 0, 1), w = rand(O * C * 25), b = rand(O);
  const dOut = rand(outSize, -1e-3, 1e-3);
  const dx = first ? null : new Float32Array(x.length);
  const dw = new Float32Array(w.length), db = new Float32Array(O);
  const pool = { poolH: 2, poolW: 2, strideH: 2, strideW: 2, outH: PH, outW: PH };
  const fused = async () => {
    const stage = new ConvStage(blas!, s, pool, "tanh", !first);
    const out = new Float32Array(outSize);
    await stage.forward(out, x, w, b, B);
    return {
      forward: () => stage.forward(out, x, w, b, B),
      backward: () => stage.backward(dx, dw, db, dOut, out, w, B),
    };
  };
  const unfused = async () => {
    const conv = new ConvStage(blas!, s, null, null, !first);
    const pl = new PoolStage(
      {
        inShape: [O, OH, OH],
        outShape: [O, PH, PH],
        poolH: 2,
        poolW: 2,
        strideH: 2,
        strideW: 2,
      },
      null,
      B,
    );
    const convOut = new Float32Array(convSize), pooled = new Float32Array(outSize);
    const out = new Float32Array(outSize), dPooled = new Float32Array(outSize);
    const dConv = new Float32Array(convSize);
    const forward = async () => {
      await conv.forward(convOut, x, w, b, B);
      pl.forward(pooled, convOut, B);
      out.set(pooled);
      activateInPlace("tanh", out, outSize);
    };
    await forward();
    return {
      forward,
      backward: async () => {
        activationBackward("tanh", dPooled, dOut, out, outSize);
        pl.backward(dConv, dPooled, pooled, B);
        await conv.backward(dx, dw, db, dConv, convOut, w, B);
      },
    };
  };
  const label = "fused (one ConvStage: pool + tanh in the GEMM epilogue)";
  const seq = "unfused (ConvStage, then PoolStage, then copy + tanh)";
  for (const dir of ["forward", "backward"] as const) {
    pair(
      `native ${name} stage ${dir}: conv + pool + tanh`,
      [`${name} ${dir} ${label}`, async () => (await fused())[dir]],
      [`${name} ${dir} ${seq}`, async () => (await unfused())[dir]],
    );
  }
}

/** Dense + tanh: one `DenseStage`, or the dense op then the tanh. */
function denseStage(name: string, I: number, J: number): void {
  const x = rand(B * I), w = rand(I * J), b = rand(J);
  const dOut = rand(B * J, -1e-3, 1e-3);
  const dx = new Float32Array(B * I), dw = new Float32Array(w.length), db = new Float32Array(J);
  const fused = () => {
    const stage = new DenseStage(blas!, I, J, "tanh", B);
    const out = new Float32Array(B * J);
    stage.forward(out, x, w, b, B);
    return {
      forward: () => stage.forward(out, x, w, b, B),
      backward: () => stage.backward(dx, dw, db, dOut, out, x, w, B),
    };
  };
  const unfused = () => {
    const stage = new DenseStage(blas!, I, J, null, B);
    const pre = new Float32Array(B * J), out = new Float32Array(B * J);
    const dPre = new Float32Array(B * J);
    const forward = () => {
      stage.forward(pre, x, w, b, B);
      out.set(pre);
      activateInPlace("tanh", out, B * J);
    };
    forward();
    return {
      forward,
      backward: () => {
        activationBackward("tanh", dPre, dOut, out, B * J);
        stage.backward(dx, dw, db, dPre, pre, x, w, B);
      },
    };
  };
  const label = "fused (one DenseStage: tanh in place after the GEMM)";
  const seq = "unfused (DenseStage, then copy + tanh)";
  for (const dir of ["forward", "backward"] as const) {
    pair(
      `native ${name} stage ${dir}: dense + tanh`,
      [`${name} ${dir} ${label}`, () => Promise.resolve(fused()[dir])],
      [`${name} ${dir} ${seq}`, () => Promise.resolve(unfused()[dir])],
    );
  }
}

convStage("conv0", 1, 28, 20, true);
convStage("conv1", 20, 12, 50, false);
denseStage("dense0", 800, 500);

let model: Sequential | null = null;
const images = rand(B * 784, 0, 1);
Deno.bench({
  name: "LeNet inference native",
  group: "native LeNet inference, batch 500 (all stages fused, + softmax)",
  ignore,
  n: 10,
  warmup: 2,
  async fn() {
    model ??= await Sequential.create({
      inputShape: [1, 28, 28],
      batchSize: B,
      backend: "native",
      layers: lenet5(),
    });
    await model.predict(images);
  },
});

/** The modern CNN's stages at batch 128: a 3x3 "same" convolution, batch norm + ReLU. */
const M = 128;
function modernStages(C: number, H: number, O: number): void {
  const group = `native modern stages, batch ${M}, ${C}->${O} channels at ${H}x${H}`;
  const s = {
    batch: M,
    inChannels: C,
    height: H,
    width: H,
    outChannels: O,
    kernelH: 3,
    kernelW: 3,
    padTop: 1,
    padLeft: 1,
    padBottom: 1,
    padRight: 1,
    outH: H, // "same"
    outW: H,
  };
  const x = rand(M * C * H * H, 0, 1), w = rand(O * C * 9), b = rand(O);
  const out = new Float32Array(M * O * H * H), dOut = rand(out.length, -1e-3, 1e-3);
  const dx = new Float32Array(x.length), dw = new Float32Array(w.length);
  const db = new Float32Array(O);
  let conv: ConvStage | null = null;
  const make = () => conv ??= new ConvStage(blas!, s, null, null, true);
  const bnOut = new Float32Array(out.length), dBn = new Float32Array(out.length);
  let bn: BatchNormStage | null = null;
  const makeBn = () =>
    bn ??= new BatchNormStage(O, H * H, 1e-5, 0.1, "relu", {
      gamma: new Float32Array(O).fill(1),
      beta: new Float32Array(O),
      dGamma: new Float32Array(O),
      dBeta: new Float32Array(O),
      runningMean: new Float32Array(O),
      runningVar: new Float32Array(O).fill(1),
    }, M);
  const cases: [string, () => void | Promise<void>][] = [
    ["conv 3x3 same forward", () => make().forward(out, x, w, b, M)],
    ["conv 3x3 same backward (with dx)", () => make().backward(dx, dw, db, dOut, out, w, M)],
    ["batchnorm + relu forward (training)", () => makeBn().forward(bnOut, out, M, true)],
    ["batchnorm + relu backward", () => makeBn().backward(dBn, dOut, out, bnOut, M)],
  ];
  for (const [name, fn] of cases) {
    Deno.bench({ name: `${C}->${O} ${H}x${H} ${name}`, group, ignore, n: 10, warmup: 2, fn });
  }
}
modernStages(32, 28, 32);
modernStages(64, 14, 64);

let modern: Sequential | null = null;
const modernX = rand(M * 784, 0, 1);
const modernY = Int32Array.from({ length: M }, (_, i) => i % 10);
Deno.bench({
  name: "modern CNN training step native (Adam)",
  group: `native modern CNN training step, batch ${M}`,
  ignore,
  n: 10,
  warmup: 2,
  async fn() {
    modern ??= await Sequential.create({
      inputShape: [1, 28, 28],
      batchSize: M,
      backend: "native",
      layers: [
        new Conv2D({ filters: 32, kernelSize: 3, padding: "same" }),
        new BatchNorm2D(),
        new ReLU(),
        new Conv2D({ filters: 32, kernelSize: 3, padding: "same" }),
        new BatchNorm2D(),
        new ReLU(),
        new MaxPool2D({ poolSize: 2 }),
        new Conv2D({ filters: 64, kernelSize: 3, padding: "same" }),
        new BatchNorm2D(),
        new ReLU(),
        new Conv2D({ filters: 64, kernelSize: 3, padding: "same" }),
        new BatchNorm2D(),
        new ReLU(),
        new MaxPool2D({ poolSize: 2 }),
        new Dense({ units: 256 }),
        new BatchNorm1D(),
        new ReLU(),
        new Dropout({ rate: 0.3 }),
        new Dense({ units: 10 }),
        new Softmax(),
      ],
    });
    await modern.trainStep(modernX, modernY, { optimizer: "adam", learningRate: 0.001 });
  },
});
