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
import { conv2dBackward, conv2dForward, type Conv2DShape } from "../cpu/conv2d.ts";
import { maxPool2dBackward, maxPool2dForward, type MaxPool2DShape } from "../cpu/maxpool2d.ts";
import { denseBackward, denseForward } from "../cpu/dense.ts";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
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
import { PoolStage } from "../src/backends/native/pool.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
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
  else y.set(x);
}

function actBack(kind: Activation, dx: Float32Array, dy: Float32Array, y: Float32Array): void {
  if (kind === "tanh") tanhBackward(dx, dy, y);
  else if (kind === "sigmoid") sigmoidBackward(dx, dy, y);
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

/** Conv [+ pool] [+ act] through ConvStage and through the cpu/ chain, forward and backward. */
async function checkConvStage(
  s: Conv2DShape,
  pool: { poolH: number; poolW: number; ignoreBorder: boolean } | null,
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
  const OH = H - KH + 1, OW = W - KW + 1;
  const conv = new Float32Array(n * O * OH * OW);
  conv2dForward(conv, x.subarray(0, n * C * H * W), w, b, cs);
  let pre = conv;
  let ps: MaxPool2DShape | null = null;
  if (pool) {
    ps = { batch: n, channels: O, height: OH, width: OW, ...pool };
    const round = pool.ignoreBorder ? Math.floor : Math.ceil;
    pre = new Float32Array(n * O * round(OH / pool.poolH) * round(OW / pool.poolW));
    maxPool2dForward(pre, conv, ps);
  }
  const expected = new Float32Array(pre.length);
  act(kind, expected, pre);

  const stage = new ConvStage(blas!, s, pool, kind, true, chunk, pipelined, wide);
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
  name: "native maxpool (+ activation) against cpu/maxpool2d, both modes, with exact ties",
  ignore,
  fn() {
    const rng = new RandomState(40);
    const cases: [number, number, number, number, number, number, boolean, Activation][] = [
      [2, 20, 24, 24, 2, 2, true, "tanh"],
      [2, 3, 7, 5, 2, 2, false, null],
      [2, 3, 7, 5, 2, 2, true, "sigmoid"],
      [3, 2, 5, 9, 3, 2, false, "tanh"],
      [1, 1, 4, 4, 4, 4, true, null],
    ];
    for (const [N, C, H, W, ph, pw, ignoreBorder, kind] of cases) {
      const s: MaxPool2DShape = {
        batch: N,
        channels: C,
        height: H,
        width: W,
        poolH: ph,
        poolW: pw,
        ignoreBorder,
      };
      const label = `pool ${JSON.stringify(s)} ${kind}`;
      // values on a coarse grid so that windows hold exact ties
      const x = Float32Array.from(rng.randint(-3, 3, N * C * H * W), (v) => v / 2);
      const round = ignoreBorder ? Math.floor : Math.ceil;
      const OH = round(H / ph), OW = round(W / pw);
      const pooled = new Float32Array(N * C * OH * OW), expected = new Float32Array(pooled.length);
      maxPool2dForward(pooled, x, s);
      act(kind, expected, pooled);
      const stage = new PoolStage([C, H, W], [C, OH, OW], ph, pw, kind, N);
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
