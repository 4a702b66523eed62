/**
 * The native backend's ops (`src/backends/native/`) against their `cpu/` twins, on random
 * shapes including the tutorial's, non-square images and kernels, and both pooling modes.
 *
 * Inputs are float32 on both sides. Tolerances (|a - e| <= atol + rtol·|e|):
 *   forward  rtol 1e-4, atol 1e-5   (float32 GEMM sums vs the reference's float64 sums)
 *   backward rtol 1e-3, atol 1e-4   (weight gradients sum up to N·OH·OW products)
 * Pooling argmax and the scatter are exact (same tie rule): pooling alone is compared with
 * rtol 0, pooling + activation with rtol 1e-6 (both sides call Math.tanh / Math.exp on the
 * same float32 values).
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
import { denseBackward, denseForward } from "../cpu/dense.ts";
import { avgPool2dBackward, avgPool2dForward } from "../cpu/avgpool2d.ts";
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
} from "../cpu/batchnorm.ts";
import { dropoutBackward, dropoutForward, dropoutKey } from "../cpu/dropout.ts";
import type { DropoutPlan } from "../src/backend.ts";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { reluBackward, reluForward } from "../cpu/relu.ts";
import { RandomState } from "../src/random.ts";
import {
  type Blas,
  BlasNotFoundError,
  loadBlas,
  tryLoadBlas,
} from "../src/backends/native/blas.ts";
import { col2im, im2col } from "../src/backends/native/im2col.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import { DenseStage } from "../src/backends/native/dense.ts";
import { BatchNormStage } from "../src/backends/native/batchnorm.ts";
import { STAGES } from "../src/backends/native/stages.ts";
import { AvgPoolStage, PoolStage } from "../src/backends/native/pool.ts";
import {
  activateInPlace,
  type Activation,
  activationBackward,
} from "../src/backends/native/pointwise.ts";
import { assertAllClose } from "./_assert.ts";

const probe = tryLoadBlas();
const blas: Blas | null = "blas" in probe ? probe.blas : null;
if (!blas) {
  console.log(`native op tests skipped, no BLAS: ${(probe as { error: Error }).error.message}`);
}
const ignore = blas === null;

const FWD = { rtol: 1e-4, atol: 1e-5 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

function rand(rng: RandomState, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from(rng.uniform(lo, hi, n));
}

function act(kind: Activation, y: Float32Array, x: Float32Array): void {
  if (kind === "tanh") tanhForward(y, x);
  else if (kind === "sigmoid") sigmoidForward(y, x);
  else if (kind === "relu") reluForward(y, x);
  else y.set(x);
}

function actBack(kind: Activation, dx: Float32Array, dy: Float32Array, y: Float32Array): void {
  if (kind === "tanh") tanhBackward(dx, dy, y);
  else if (kind === "sigmoid") sigmoidBackward(dx, dy, y);
  else if (kind === "relu") reluBackward(dx, dy, y);
  else dx.set(dy);
}

Deno.test({
  name: "native blas: sgemm with every transpose against a naive product",
  ignore,
  fn() {
    const rng = new RandomState(1);
    for (const [M, N, K] of [[3, 5, 7], [20, 576, 25], [1, 1, 1]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const A = rand(rng, M * K), B = rand(rng, K * N), C = rand(rng, M * N);
          const expected = new Float32Array(M * N);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let k = 0; k < K; k++) {
                s += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
              }
              expected[i * N + j] = 2 * s + 0.5 * C[i * N + j];
            }
          }
          blas!.sgemm(ta, tb, M, N, K, 2, A, ta ? M : K, B, tb ? K : N, 0.5, C, N);
          assertAllClose(C, expected, { ...FWD, msg: `sgemm ${M}x${N}x${K} ${ta} ${tb}` });
        }
      }
    }
  },
});

Deno.test({
  name: "native blas: a bad explicit path falls through to the usual names",
  ignore,
  fn() {
    const b = loadBlas({ path: "/nonexistent/libnothing.so" });
    assert.notEqual(b.path, "/nonexistent/libnothing.so");
  },
});

Deno.test("native blas: the error lists what was tried and says --allow-ffi", async () => {
  const url = new URL("../src/backends/native/blas.ts", import.meta.url).href;
  const code = `import { loadBlas, BlasNotFoundError } from "${url}";
try { loadBlas({ path: "/nonexistent/lib.so" }); console.log("loaded"); }
catch (e) { console.log(e instanceof BlasNotFoundError, e.message); }`;
  // no --allow-ffi: importing works, loading explains what to add
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(file);
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /^true no CBLAS library could be loaded/);
  assert.match(text, /\/nonexistent\/lib\.so: no --allow-ffi permission/);
  assert.match(text, /--allow-ffi/);
  assert.ok(new BlasNotFoundError([{ path: "x", reason: "y" }]).message.includes("apt-get"));
});

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
    im2col(cols, x, s);
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
    col2im(back, d, s);
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

  const stage = new ConvStage(blas!, s, fused, kind, true, chunk, pipelined, wide);
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
  name: "native dense (+ activation) against cpu/dense",
  ignore,
  fn() {
    const rng = new RandomState(30);
    for (
      const [B, I, J, kind, n] of [
        [5, 800, 500, "tanh", 5],
        [7, 500, 10, null, 7],
        [6, 13, 9, "sigmoid", 4],
        [1, 1, 1, null, 1],
      ] as [number, number, number, Activation, number][]
    ) {
      const label = `dense ${B}x${I}x${J} ${kind} n=${n}`;
      const x = rand(rng, B * I), w = rand(rng, I * J, -0.2, 0.2), b = rand(rng, J);
      const pre = new Float32Array(n * J), expected = new Float32Array(n * J);
      denseForward(pre, x.subarray(0, n * I), w, b, { batch: n, inFeatures: I, outFeatures: J });
      act(kind, expected, pre);
      const stage = new DenseStage(blas!, I, J, kind, B);
      const out = new Float32Array(B * J).fill(NaN);
      stage.forward(out, x, w, b, n);
      assertAllClose(out.subarray(0, n * J), expected, { ...FWD, msg: `${label} forward` });

      const dOut = rand(rng, B * J), dPre = new Float32Array(n * J);
      actBack(kind, dPre, dOut.subarray(0, n * J), expected);
      const eDx = new Float32Array(n * I), eDw = new Float32Array(I * J), eDb = new Float32Array(J);
      denseBackward(eDx, eDw, eDb, dPre, x.subarray(0, n * I), w, {
        batch: n,
        inFeatures: I,
        outFeatures: J,
      });
      const dx = new Float32Array(B * I).fill(NaN), dw = new Float32Array(I * J).fill(NaN);
      const db = new Float32Array(J).fill(NaN);
      stage.backward(dx, dw, db, dOut, out, x, w, n);
      assertAllClose(dx.subarray(0, n * I), eDx, { ...BWD, msg: `${label} dx` });
      assertAllClose(dw, eDw, { ...BWD, msg: `${label} dw` });
      assertAllClose(db, eDb, { ...BWD, msg: `${label} db` });
    }
  },
});

Deno.test({
  name:
    "native maxpool (+ activation) against cpu/maxpool2d, both modes, strides, overlapping windows, exact ties",
  ignore,
  fn() {
    const rng = new RandomState(40);
    type Case = [
      number,
      number,
      number,
      number,
      number,
      number,
      boolean,
      Activation,
      number?,
      number?,
    ];
    const cases: Case[] = [
      [2, 20, 24, 24, 2, 2, true, "tanh"],
      [2, 3, 7, 5, 2, 2, false, null],
      [2, 3, 7, 5, 2, 2, true, "sigmoid"],
      [3, 2, 5, 9, 3, 2, false, "tanh"],
      [1, 1, 4, 4, 4, 4, true, null],
      // overlapping windows (3x3 stride 2, the gradient of a shared maximum adds up), strides
      // larger than the window, partial windows, relu
      [2, 3, 9, 8, 3, 3, true, null, 2, 2],
      [2, 3, 9, 8, 3, 3, false, "relu", 2, 2],
      [2, 2, 7, 10, 2, 3, false, null, 3, 1],
      [1, 2, 6, 6, 2, 2, true, "relu", 1, 1],
    ];
    for (const [N, C, H, W, ph, pw, ignoreBorder, kind, sh = ph, sw = pw] of cases) {
      const s: MaxPool2DShape = {
        batch: N,
        channels: C,
        height: H,
        width: W,
        poolH: ph,
        poolW: pw,
        strideH: sh,
        strideW: sw,
        ignoreBorder,
      };
      const label = `pool ${JSON.stringify(s)} ${kind}`;
      // values on a coarse grid so that windows hold exact ties
      const x = Float32Array.from(rng.randint(-3, 3, N * C * H * W), (v) => v / 2);
      const { outH: OH, outW: OW } = maxPool2dOutputSize(s);
      const pooled = new Float32Array(N * C * OH * OW), expected = new Float32Array(pooled.length);
      maxPool2dForward(pooled, x, s);
      act(kind, expected, pooled);
      const geometry = {
        inShape: [C, H, W],
        outShape: [C, OH, OW],
        poolH: ph,
        poolW: pw,
        strideH: sh,
        strideW: sw,
      };
      const stage = new PoolStage(geometry, kind, N);
      const out = new Float32Array(expected.length).fill(NaN);
      stage.forward(out, x, N);
      const tol = { rtol: kind ? 1e-6 : 0, atol: 0 };
      assertAllClose(out, expected, { ...tol, msg: `${label} forward` });
      const dOut = rand(rng, out.length), dPre = new Float32Array(out.length);
      actBack(kind, dPre, dOut, expected);
      const eDx = new Float32Array(x.length);
      maxPool2dBackward(eDx, dPre, x, s);
      const dx = new Float32Array(x.length).fill(NaN);
      stage.backward(dx, dOut, out, N);
      assertAllClose(dx, eDx, { ...tol, msg: `${label} dx` });
    }
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

Deno.test({
  name: "native avgpool (windows, strides, partial windows, global) against cpu/avgpool2d",
  ignore,
  fn() {
    const rng = new RandomState(60);
    // [N, C, H, W, pool, stride, ignoreBorder]
    const cases: [number, number, number, number, number, number, boolean][] = [
      [2, 3, 8, 8, 2, 2, true],
      [2, 3, 7, 5, 2, 2, false],
      [2, 2, 9, 8, 3, 2, false],
      [1, 2, 7, 9, 2, 3, false],
      [3, 4, 6, 5, 6, 6, true], // not global (5 < 6 drops the only window): [C, 0, 0]
      [3, 4, 6, 5, 0, 0, true], // global: the whole plane
    ];
    for (const [N, C, H, W, p, st, ignoreBorder] of cases) {
      const global = p === 0;
      const s = {
        batch: N,
        channels: C,
        height: H,
        width: W,
        poolH: global ? H : p,
        poolW: global ? W : p,
        strideH: global ? H : st,
        strideW: global ? W : st,
        ignoreBorder,
      };
      const label = `avgpool ${JSON.stringify(s)}`;
      const { outH, outW } = maxPool2dOutputSize(s);
      const x = rand(rng, N * C * H * W), expected = new Float32Array(N * C * outH * outW);
      avgPool2dForward(expected, x, s);
      const stage = new AvgPoolStage({
        inShape: [C, H, W],
        outShape: global ? [C] : [C, outH, outW],
        ...s,
      }, N);
      assert.equal(stage.outSize * N, expected.length, label);
      const out = new Float32Array(expected.length).fill(NaN);
      stage.forward(out, x, N);
      assertAllClose(out, expected, { ...FWD, msg: `${label} forward` });
      const dOut = rand(rng, out.length), eDx = new Float32Array(x.length);
      avgPool2dBackward(eDx, dOut, s);
      const dx = new Float32Array(x.length).fill(NaN);
      stage.backward(dx, dOut, N);
      assertAllClose(dx, eDx, { ...FWD, msg: `${label} dx` });
    }
  },
});

Deno.test({
  name:
    "native batchnorm (+ activation): training, running averages, evaluation, backward against cpu/batchnorm",
  ignore,
  fn() {
    const rng = new RandomState(70);
    // [N (buffers), n (used), C, P, act]
    const cases: [number, number, number, number, Activation][] = [
      [4, 4, 3, 25, null],
      [5, 3, 2, 7, "relu"],
      [6, 6, 16, 1, "relu"], // features (BatchNorm1D)
      [2, 2, 4, 9, "tanh"],
    ];
    for (const [N, n, C, P, kind] of cases) {
      const label = `batchnorm N=${N} n=${n} C=${C} P=${P} ${kind}`;
      const s = { batch: n, channels: C, positions: P }, eps = 1e-5, momentum = 0.1;
      const x = rand(rng, N * C * P, -2, 3), len = n * C * P;
      const gamma = rand(rng, C, 0.5, 1.5), beta = rand(rng, C, -0.5, 0.5);
      const rm0 = rand(rng, C, -0.2, 0.2), rv0 = rand(rng, C, 0.5, 2);
      // reference
      const eRm = rm0.slice(), eRv = rv0.slice(), pre = new Float32Array(len);
      const saveMean = new Float32Array(C), saveInvStd = new Float32Array(C);
      batchNormForwardTrain(
        pre,
        x.subarray(0, len),
        gamma,
        beta,
        eRm,
        eRv,
        saveMean,
        saveInvStd,
        s,
        eps,
        momentum,
      );
      const expected = new Float32Array(len);
      act(kind, expected, pre);
      const t = {
        gamma,
        beta,
        dGamma: new Float32Array(C).fill(NaN),
        dBeta: new Float32Array(C).fill(NaN),
        runningMean: rm0.slice(),
        runningVar: rv0.slice(),
      };
      const stage = new BatchNormStage(C, P, eps, momentum, kind, t, N);
      const out = new Float32Array(N * C * P).fill(NaN);
      stage.forward(out, x, n, true);
      assertAllClose(out.subarray(0, len), expected, { ...FWD, msg: `${label} forward` });
      assertAllClose(t.runningMean, eRm, { ...FWD, msg: `${label} running mean` });
      assertAllClose(t.runningVar, eRv, { ...FWD, msg: `${label} running var` });
      // backward of the training forward
      const dOut = rand(rng, N * C * P), dPre = new Float32Array(len);
      actBack(kind, dPre, dOut.subarray(0, len), expected);
      const eDx = new Float32Array(len), eDg = new Float32Array(C), eDb = new Float32Array(C);
      batchNormBackward(eDx, eDg, eDb, dPre, x.subarray(0, len), gamma, saveMean, saveInvStd, s);
      const dx = new Float32Array(N * C * P).fill(NaN);
      stage.backward(dx, dOut, x, out, n);
      assertAllClose(dx.subarray(0, len), eDx, { ...BWD, msg: `${label} dx` });
      assertAllClose(t.dGamma, eDg, { ...BWD, msg: `${label} dgamma` });
      assertAllClose(t.dBeta, eDb, { ...BWD, msg: `${label} dbeta` });
      // evaluation: running statistics, which stay as they are
      const ePre = new Float32Array(len), eEval = new Float32Array(len);
      batchNormForwardEval(ePre, x.subarray(0, len), gamma, beta, eRm, eRv, s, eps);
      act(kind, eEval, ePre);
      const rm = t.runningMean.slice();
      stage.forward(out, x, n, false);
      assertAllClose(out.subarray(0, len), eEval, { ...FWD, msg: `${label} evaluation` });
      assert.deepEqual(t.runningMean, rm, `${label}: evaluation changed the running mean`);
    }
  },
});

Deno.test({
  name: "native dropout: the mask of cpu/dropout (bit-identical), identity in evaluation",
  ignore,
  async fn() {
    const rng = new RandomState(80);
    const plan: DropoutPlan = {
      kind: "dropout",
      name: "drop3",
      inShape: [4, 5],
      outShape: [4, 5],
      rate: 0.4,
      index: 3,
    };
    const stage = STAGES.dropout.make(plan, { pool: null, act: null }, {
      blas: blas!,
      batch: 6,
      first: false,
      param: () => {
        throw new Error("dropout has no parameters");
      },
      state: () => {
        throw new Error("dropout has no state");
      },
    });
    const n = 5, len = n * 20, x = rand(rng, 6 * 20), dOut = rand(rng, 6 * 20);
    const run = { training: true, seed: 1234, step: 7 };
    const key = dropoutKey(run.seed, run.step, plan.index);
    const expected = new Float32Array(len), eDx = new Float32Array(len);
    dropoutForward(expected, x.subarray(0, len), plan.rate, key);
    dropoutBackward(eDx, dOut.subarray(0, len), plan.rate, key);
    const out = new Float32Array(6 * 20).fill(NaN), dx = new Float32Array(6 * 20).fill(NaN);
    await stage.forward(x, out, n, run);
    assert.deepEqual(out.subarray(0, len), expected);
    await stage.backward(dx, dOut, x, out, n);
    assert.deepEqual(dx.subarray(0, len), eDx);
    const dropped = expected.filter((v) => v === 0).length;
    assert.ok(dropped > 20 && dropped < 60, `dropped ${dropped} of ${len}`);
    await stage.forward(x, out, n, { ...run, training: false });
    assert.deepEqual(out.subarray(0, len), x.subarray(0, len));
  },
});

Deno.test("native relu: the bit trick is x < 0 ? 0 : x (NaN stays, -Inf gives 0), on a subarray", () => {
  const buf = Float32Array.of(-3, -1, NaN, -Infinity, Infinity, -0, 2, 1e-45, -1e-45, -5);
  const y = buf.subarray(1, 9);
  activateInPlace("relu", y, y.length);
  assert.deepEqual([...buf], [-3, 0, NaN, 0, Infinity, 0, 2, Math.fround(1e-45), 0, -5]);
  const dx = new Float32Array(3);
  activationBackward("relu", dx, Float32Array.of(5, 6, 7), Float32Array.of(0, 2, 1e-45), 3);
  assert.deepEqual([...dx], [0, 6, 7]);
});
