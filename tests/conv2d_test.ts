/**
 * conv2d, every backend, in one file:
 * - cpu: `cpu/conv2d.ts` in float64: hand-computed values, Theano's flipped-kernel convention,
 *   an independent direct-formula reference, finite-difference gradient checks;
 * - webgpu: the conv2d kernels (forward, dInput, dWeight, dBias) against `cpu/` (the case table
 *   tests/_kernel_cases.ts, which tests/kernels_browser_test.ts also runs in Chromium); ignored
 *   where there is no adapter;
 * - native: im2col/col2im, and the conv2d stage (+ fused maxpool and activation) against the
 *   `cpu/` chain; ignored where no CBLAS loads (im2col/col2im need none).
 */
import assert from "node:assert/strict";
import {
  conv2dBackward,
  conv2dForward,
  conv2dOutputSize,
  conv2dPadding,
  type Conv2DShape,
  flipKernels,
} from "../cpu/conv2d.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dOutputSize,
  type MaxPool2DShape,
} from "../cpu/maxpool2d.ts";
import { col2im, im2col } from "../src/backends/native/im2col.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { act, actBack, blas, BWD, FWD, ignore, rand } from "./_native.ts";

// ---------------- cpu: cpu/conv2d.ts in float64

// Tests of cpu/conv2d.ts: hand-computed values, Theano's flipped-kernel convention, an independent
// direct-formula reference, and float64 finite-difference gradient checks.

const HAND: Conv2DShape = {
  batch: 1,
  inChannels: 1,
  height: 3,
  width: 3,
  outChannels: 1,
  kernelH: 2,
  kernelW: 2,
};
// x = [[1, 2, 3],      w = [[1, 2],
//      [4, 5, 6],           [3, 4]]
//      [7, 8, 9]]
const X = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
const W = Float64Array.of(1, 2, 3, 4);

Deno.test("conv2dForward: hand-computed cross-correlation, 3x3 input, 2x2 kernel", () => {
  const out = new Float64Array(4);
  conv2dForward(out, X, W, Float64Array.of(0.5), HAND);
  // [0,0]: 1*1 + 2*2 + 4*3 + 5*4 = 37    [0,1]: 2*1 + 3*2 + 5*3 + 6*4 = 47
  // [1,0]: 4*1 + 5*2 + 7*3 + 8*4 = 67    [1,1]: 5*1 + 6*2 + 8*3 + 9*4 = 77   (+ bias 0.5)
  assert.deepStrictEqual(Array.from(out), [37.5, 47.5, 67.5, 77.5]);
});

Deno.test("flipKernels: Theano's true convolution equals cross-correlation with flipped kernels", () => {
  // Theano conv2d (kernel rotated 180 degrees, i.e. w' = [[4, 3], [2, 1]]); also what
  // scipy.signal.convolve2d(x, w, mode="valid") prints: [[23 33] [53 63]]
  // [0,0]: 1*4 + 2*3 + 4*2 + 5*1 = 23    [0,1]: 2*4 + 3*3 + 5*2 + 6*1 = 33
  // [1,0]: 4*4 + 5*3 + 7*2 + 8*1 = 53    [1,1]: 5*4 + 6*3 + 8*2 + 9*1 = 63
  const flipped = flipKernels(W, HAND);
  assert.deepStrictEqual(Array.from(flipped), [4, 3, 2, 1]);
  assert.deepStrictEqual(Array.from(W), [1, 2, 3, 4], "the input is not modified");
  const out = new Float64Array(4);
  conv2dForward(out, X, flipped, Float64Array.of(0), HAND);
  assert.deepStrictEqual(Array.from(out), [23, 33, 53, 63]);
});

Deno.test("flipKernels: every [KH,KW] kernel rotated, type kept, flipping twice is the identity", () => {
  const s: Conv2DShape = { ...HAND, outChannels: 2, inChannels: 3, kernelH: 2, kernelW: 3 };
  const w = new Float32Array(2 * 3 * 2 * 3).map((_, i) => i);
  const f = flipKernels(w, s);
  assert.ok(f instanceof Float32Array);
  // kernel (o=1, c=2) starts at (1*3+2)*6 = 30: [[30,31,32],[33,34,35]] -> [[35,34,33],[32,31,30]]
  assert.deepStrictEqual(Array.from(f.subarray(30, 36)), [35, 34, 33, 32, 31, 30]);
  assert.deepStrictEqual(flipKernels(f, s), w);
});

/**
 * The definition, one element at a time, with no index arithmetic shared with cpu/conv2d.ts:
 * out[n,o,oy,ox] = b[o] + sum_{c,i,j} w[o,c,i,j] * x[n,c,oy*SH-PT+i,ox*SW-PL+j] (0 outside).
 */
function directConv(x: Float64Array, w: Float64Array, b: Float64Array, s: Conv2DShape) {
  const { batch: N, inChannels: C, height: H, width: Wd, outChannels: O } = s;
  const { kernelH: KH, kernelW: KW } = s;
  const SH = s.strideH ?? 1, SW = s.strideW ?? 1;
  const PT = s.padTop ?? 0, PL = s.padLeft ?? 0, PB = s.padBottom ?? 0, PR = s.padRight ?? 0;
  const OH = Math.floor((H + PT + PB - KH) / SH) + 1, OW = Math.floor((Wd + PL + PR - KW) / SW) + 1;
  const xAt = (n: number, c: number, i: number, j: number) =>
    i < 0 || i >= H || j < 0 || j >= Wd ? 0 : x[n * C * H * Wd + c * H * Wd + i * Wd + j];
  const wAt = (o: number, c: number, i: number, j: number) =>
    w[o * C * KH * KW + c * KH * KW + i * KW + j];
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let y = 0; y < OH; y++) {
        for (let xx = 0; xx < OW; xx++) {
          let v = b[o];
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              for (let j = 0; j < KW; j++) {
                v += xAt(n, c, y * SH - PT + i, xx * SW - PL + j) * wAt(o, c, i, j);
              }
            }
          }
          out.push(v);
        }
      }
    }
  }
  return out;
}

// non-square images and kernels, several channels, batch > 1
const SHAPES: Conv2DShape[] = [
  { batch: 2, inChannels: 3, height: 7, width: 6, outChannels: 4, kernelH: 3, kernelW: 2 },
  { batch: 3, inChannels: 2, height: 5, width: 8, outChannels: 3, kernelH: 4, kernelW: 3 },
  { batch: 2, inChannels: 1, height: 6, width: 6, outChannels: 2, kernelH: 6, kernelW: 1 },
  // stride 2 with padding 1 (3x3, the ResNet downsampling convolution)
  {
    batch: 2,
    inChannels: 2,
    height: 7,
    width: 6,
    outChannels: 3,
    kernelH: 3,
    kernelW: 3,
    strideH: 2,
    strideW: 2,
    padTop: 1,
    padLeft: 1,
    padBottom: 1,
    padRight: 1,
  },
  // asymmetric "same" of an even 4x2 kernel: top 1, bottom 2, left 0, right 1
  {
    batch: 2,
    inChannels: 2,
    height: 5,
    width: 6,
    outChannels: 2,
    kernelH: 4,
    kernelW: 2,
    padTop: 1,
    padLeft: 0,
    padBottom: 2,
    padRight: 1,
  },
  // stride 2 x 3 without padding: the last row and columns are never read (their dx is 0)
  {
    batch: 1,
    inChannels: 2,
    height: 8,
    width: 9,
    outChannels: 2,
    kernelH: 3,
    kernelW: 2,
    strideH: 2,
    strideW: 3,
  },
  // padding larger than the stride, unequal strides
  {
    batch: 1,
    inChannels: 1,
    height: 4,
    width: 5,
    outChannels: 2,
    kernelH: 2,
    kernelW: 3,
    strideH: 3,
    strideW: 2,
    padTop: 2,
    padLeft: 2,
    padBottom: 2,
    padRight: 2,
  },
];

function setup(s: Conv2DShape, seed: number) {
  const rng = new RandomState(seed);
  const { outH, outW } = conv2dOutputSize(s);
  const x = randomArray(rng, s.batch * s.inChannels * s.height * s.width);
  const w = randomArray(rng, s.outChannels * s.inChannels * s.kernelH * s.kernelW);
  const b = randomArray(rng, s.outChannels);
  const outSize = s.batch * s.outChannels * outH * outW;
  const r = randomArray(rng, outSize); // L = sum(out * R), so dL/dout = R
  return { x, w, b, r, outSize };
}

Deno.test("conv2dForward matches the direct definition on random multi-channel shapes", () => {
  for (const [k, s] of SHAPES.entries()) {
    const { x, w, b, outSize } = setup(s, 100 + k);
    const out = new Float64Array(outSize);
    conv2dForward(out, x, w, b, s);
    assertAllClose(out, directConv(x, w, b, s), { rtol: 1e-14, atol: 1e-14, msg: `shape ${k}` });
  }
});

Deno.test("conv2dBackward: dx, dw, db pass float64 finite-difference checks (max rel err < 1e-6)", () => {
  for (const [k, s] of SHAPES.entries()) {
    const { x, w, b, r, outSize } = setup(s, 200 + k);
    const out = new Float64Array(outSize);
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => {
      conv2dForward(out, xx, ww, bb, s);
      return dot(out, r);
    };
    const dx = new Float64Array(x.length).fill(NaN); // NaN: backward must overwrite
    const dw = new Float64Array(w.length).fill(NaN);
    const db = new Float64Array(b.length).fill(NaN);
    conv2dBackward(dx, dw, db, r, x, w, s);
    for (
      const [name, res] of [
        ["dx", gradCheck((v) => loss(v, w, b), x, dx)],
        ["dw", gradCheck((v) => loss(x, v, b), w, dw)],
        ["db", gradCheck((v) => loss(x, w, v), b, db)],
      ] as const
    ) {
      assert.ok(res.maxRelError < 1e-6, `shape ${k} ${name}: max rel err ${res.maxRelError}`);
    }
  }
});

Deno.test("conv2dBackward: dx = null skips dx and gives the same dw, db", () => {
  const s = SHAPES[0];
  const { x, w, r } = setup(s, 7);
  const dx = new Float64Array(x.length),
    dw1 = new Float64Array(w.length),
    db1 = new Float64Array(4);
  const dw2 = new Float64Array(w.length), db2 = new Float64Array(4);
  conv2dBackward(dx, dw1, db1, r, x, w, s);
  conv2dBackward(null, dw2, db2, r, x, w, s);
  assert.deepStrictEqual(dw2, dw1);
  assert.deepStrictEqual(db2, db1);
});

Deno.test("conv2d works on Float32Array and agrees with float64 to float32 precision", () => {
  const s = SHAPES[1];
  const { x, w, b, r, outSize } = setup(s, 9);
  const f32 = (a: Float64Array) => new Float32Array(a);
  const out64 = new Float64Array(outSize), out32 = new Float32Array(outSize);
  conv2dForward(out64, x, w, b, s);
  conv2dForward(out32, f32(x), f32(w), f32(b), s);
  assertAllClose(out32, out64, { rtol: 1e-5, atol: 1e-5 });
  const dx64 = new Float64Array(x.length),
    dw64 = new Float64Array(w.length),
    db64 = new Float64Array(3);
  const dx32 = new Float32Array(x.length),
    dw32 = new Float32Array(w.length),
    db32 = new Float32Array(3);
  conv2dBackward(dx64, dw64, db64, r, x, w, s);
  conv2dBackward(dx32, dw32, db32, f32(r), f32(x), f32(w), s);
  assertAllClose(dx32, dx64, { rtol: 1e-5, atol: 1e-5 });
  assertAllClose(dw32, dw64, { rtol: 1e-5, atol: 1e-5 });
  assertAllClose(db32, db64, { rtol: 1e-5, atol: 1e-5 });
});

Deno.test("conv2dOutputSize: LeNet's layers", () => {
  const l0 = {
    batch: 500,
    inChannels: 1,
    height: 28,
    width: 28,
    outChannels: 20,
    kernelH: 5,
    kernelW: 5,
  };
  assert.deepStrictEqual(conv2dOutputSize(l0), { outH: 24, outW: 24 });
  assert.deepStrictEqual(
    conv2dOutputSize({ ...l0, inChannels: 20, height: 12, width: 12, outChannels: 50 }),
    {
      outH: 8,
      outW: 8,
    },
  );
  assert.deepStrictEqual(conv2dOutputSize({ ...l0, height: 5, width: 9, kernelH: 5, kernelW: 2 }), {
    outH: 1,
    outW: 8,
  });
});

Deno.test("conv2d throws RangeError on bad shapes and lengths", () => {
  const out = new Float64Array(4), b = new Float64Array(1);
  assertThrowsWith(
    () => conv2dOutputSize({ ...HAND, kernelH: 4 }),
    RangeError,
    "kernel 4x2 is larger",
  );
  assertThrowsWith(() => conv2dOutputSize({ ...HAND, batch: 0 }), RangeError, "batch");
  assertThrowsWith(
    () => conv2dForward(new Float64Array(5), X, W, b, HAND),
    RangeError,
    "out must have length 4, received 5",
  );
  assertThrowsWith(
    () => conv2dForward(out, X.subarray(1), W, b, HAND),
    RangeError,
    "conv2dForward: x must have length 9, received 8",
  );
  assertThrowsWith(
    () => conv2dForward(out, X, W, new Float64Array(2), HAND),
    RangeError,
    "b must have length 1",
  );
  assertThrowsWith(
    () => conv2dBackward(new Float64Array(8), new Float64Array(4), b, out, X, W, HAND),
    RangeError,
    "conv2dBackward: dx must have length 9, received 8",
  );
  assertThrowsWith(
    () => flipKernels(new Float64Array(3), HAND),
    RangeError,
    "flipKernels: w must have length 4",
  );
});

Deno.test("conv2dForward: 'same' 3x3 equals a manual sum over the zero-padded image", () => {
  const s: Conv2DShape = { ...HAND, kernelH: 3, kernelW: 3 };
  const p = conv2dPadding("same", 3, 3, 1, 1);
  const ss: Conv2DShape = {
    ...s,
    padTop: p.top,
    padLeft: p.left,
    padBottom: p.bottom,
    padRight: p.right,
  };
  assert.deepStrictEqual(conv2dOutputSize(ss), { outH: 3, outW: 3 });
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2,3],[4,5,6],[7,8,9]], bias 0
  const w = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  const out = new Float64Array(9);
  conv2dForward(out, X, w, Float64Array.of(0), ss);
  // [0,0]: window rows -1..1, cols -1..1: 1*5 + 2*6 + 4*8 + 5*9 = 94
  // [0,1]: 1*4 + 2*5 + 3*6 + 4*7 + 5*8 + 6*9 = 154
  // [1,1]: the whole image, sum_k k*k = 285
  // [2,2]: 5*1 + 6*2 + 8*4 + 9*5 = 94
  assert.strictEqual(out[0], 94);
  assert.strictEqual(out[1], 154);
  assert.strictEqual(out[4], 285);
  assert.strictEqual(out[8], 94);
  assertAllClose(out, directConv(X, w, Float64Array.of(0), ss), { rtol: 0, atol: 0 });
});

Deno.test("conv2d: explicit stride 1 and padding 0 are bit-identical to the defaults", () => {
  const s = SHAPES[0];
  const explicit: Conv2DShape = {
    ...s,
    strideH: 1,
    strideW: 1,
    padTop: 0,
    padLeft: 0,
    padBottom: 0,
    padRight: 0,
  };
  const { x, w, b, r, outSize } = setup(s, 11);
  const o1 = new Float64Array(outSize), o2 = new Float64Array(outSize);
  conv2dForward(o1, x, w, b, s);
  conv2dForward(o2, x, w, b, explicit);
  assert.deepStrictEqual(o2, o1);
  const g1 = [new Float64Array(x.length), new Float64Array(w.length), new Float64Array(4)];
  const g2 = [new Float64Array(x.length), new Float64Array(w.length), new Float64Array(4)];
  conv2dBackward(g1[0], g1[1], g1[2], r, x, w, s);
  conv2dBackward(g2[0], g2[1], g2[2], r, x, w, explicit);
  assert.deepStrictEqual(g2, g1);
});

Deno.test("conv2dBackward: inputs a stride skips get a zero gradient", () => {
  const s = SHAPES[5]; // 8x9 input, 3x2 kernel, stride 2x3: OH = 3 reads rows 0..6, OW = 3 reads columns 0..7
  assert.deepStrictEqual(conv2dOutputSize(s), { outH: 3, outW: 3 });
  const { x, w, r } = setup(s, 12);
  const dx = new Float64Array(x.length).fill(NaN);
  conv2dBackward(dx, new Float64Array(w.length), new Float64Array(2), r, x, w, s);
  for (let c = 0; c < 2; c++) {
    for (let q = 0; q < 9; q++) assert.strictEqual(dx[(c * 8 + 7) * 9 + q], 0, `row 7 col ${q}`);
    for (let p = 0; p < 8; p++) assert.strictEqual(dx[(c * 8 + p) * 9 + 8], 0, `col 8 row ${p}`);
  }
});

Deno.test("conv2dOutputSize: floor((H + PT + PB - KH) / SH) + 1 with strides and padding", () => {
  const base = { batch: 1, inChannels: 1, outChannels: 1 };
  const table: [number, number, number, number, number, number][] = [
    // H, KH, SH, PT, PB, expected OH
    [28, 3, 1, 1, 1, 28], // "same"
    [28, 3, 2, 1, 1, 14],
    [7, 3, 2, 1, 1, 4],
    [8, 4, 1, 1, 2, 8], // even "same"
    [5, 3, 2, 0, 0, 2],
    [6, 3, 2, 0, 0, 2], // the last row is dropped
    [1, 3, 1, 1, 1, 1],
  ];
  for (const [H, KH, SH, PT, PB, OH] of table) {
    const s: Conv2DShape = {
      ...base,
      height: H,
      width: H,
      kernelH: KH,
      kernelW: KH,
      strideH: SH,
      strideW: SH,
      padTop: PT,
      padLeft: PT,
      padBottom: PB,
      padRight: PB,
    };
    assert.deepStrictEqual(conv2dOutputSize(s), { outH: OH, outW: OH }, JSON.stringify(s));
  }
});

Deno.test("conv2dPadding: valid, numbers, pairs and PyTorch's 'same' split", () => {
  assert.deepStrictEqual(conv2dPadding("valid", 5, 5, 2, 2), {
    top: 0,
    left: 0,
    bottom: 0,
    right: 0,
  });
  assert.deepStrictEqual(conv2dPadding(2, 5, 5, 3, 3), { top: 2, left: 2, bottom: 2, right: 2 });
  assert.deepStrictEqual(conv2dPadding([1, 3], 3, 7, 1, 1), {
    top: 1,
    left: 3,
    bottom: 1,
    right: 3,
  });
  assert.deepStrictEqual(conv2dPadding("same", 1, 1, 1, 1), {
    top: 0,
    left: 0,
    bottom: 0,
    right: 0,
  });
  assert.deepStrictEqual(conv2dPadding("same", 5, 3, 1, 1), {
    top: 2,
    left: 1,
    bottom: 2,
    right: 1,
  });
  // PyTorch _conv_forward "same": total = k - 1, left = total // 2, right = total - left
  assert.deepStrictEqual(conv2dPadding("same", 4, 2, 1, 1), {
    top: 1,
    left: 0,
    bottom: 2,
    right: 1,
  });
  assert.deepStrictEqual(conv2dPadding("same", 6, 6, 1, 1), {
    top: 2,
    left: 2,
    bottom: 3,
    right: 3,
  });
  // "same" keeps the size for every kernel, even or odd
  for (let k = 1; k <= 6; k++) {
    const p = conv2dPadding("same", k, k, 1, 1);
    const s: Conv2DShape = {
      batch: 1,
      inChannels: 1,
      height: 9,
      width: 7,
      outChannels: 1,
      kernelH: k,
      kernelW: k,
      padTop: p.top,
      padLeft: p.left,
      padBottom: p.bottom,
      padRight: p.right,
    };
    assert.deepStrictEqual(conv2dOutputSize(s), { outH: 9, outW: 7 }, `k ${k}`);
  }
});

Deno.test("conv2dPadding and conv2d refuse bad strides and paddings with RangeError", () => {
  assertThrowsWith(
    () => conv2dPadding("same", 3, 3, 2, 1),
    RangeError,
    'padding "same" needs stride 1 (as PyTorch), received stride 2x1',
  );
  assertThrowsWith(() => conv2dPadding(-1, 3, 3, 1, 1), RangeError, "received -1");
  assertThrowsWith(() => conv2dPadding([1, 0.5], 3, 3, 1, 1), RangeError, "received [1,0.5]");
  assertThrowsWith(
    () => conv2dOutputSize({ ...HAND, strideH: 0 }),
    RangeError,
    "conv2d: strideH must be a positive integer, received 0",
  );
  assertThrowsWith(
    () => conv2dOutputSize({ ...HAND, padRight: -1 }),
    RangeError,
    "conv2d: padRight must be a non-negative integer, received -1",
  );
  assertThrowsWith(
    () => conv2dOutputSize({ ...HAND, kernelH: 6, padTop: 1, padBottom: 1 }),
    RangeError,
    "conv2d: kernel 6x2 is larger than the padded image 5x3",
  );
  // padding makes a kernel larger than the image valid
  assert.deepStrictEqual(conv2dOutputSize({ ...HAND, kernelH: 5, padTop: 1, padBottom: 1 }), {
    outH: 1,
    outW: 2,
  });
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the conv2d kernels (forward, dInput, dWeight, dBias) with `cpu/conv2d.ts`, on
 * random shapes and at the tutorial's shapes. Tolerance: |gpu - cpu| <= RTOL * |cpu| + atol,
 * RTOL = 1e-4, atol = 1e-5 * max|cpu| (float32 sums against float64 ones).
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("conv2d")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: stages against cpu/

/**
 * The native conv2d stage (`src/backends/native/conv.ts`, its im2col lowering, the fused
 * maxpool + activation) against the `cpu/` chain, on random shapes including the tutorial's,
 * non-square images and kernels, zero padding, strides, both pooling modes and every chunking
 * of the batch. Tolerances: forward and backward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */

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
