// Tests of cpu/conv2d.ts: hand-computed values, Theano's flipped-kernel convention, an independent
// direct-formula reference, and float64 finite-difference gradient checks.
import assert from "node:assert";
import {
  conv2dBackward,
  conv2dForward,
  conv2dOutputSize,
  type Conv2DShape,
  flipKernels,
} from "../cpu/conv2d.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";

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

/** The definition, one element at a time, with no index arithmetic shared with cpu/conv2d.ts. */
function directConv(x: Float64Array, w: Float64Array, b: Float64Array, s: Conv2DShape) {
  const { batch: N, inChannels: C, height: H, width: Wd, outChannels: O } = s;
  const { kernelH: KH, kernelW: KW } = s;
  const OH = H - KH + 1, OW = Wd - KW + 1;
  const xAt = (n: number, c: number, i: number, j: number) =>
    x[n * C * H * Wd + c * H * Wd + i * Wd + j];
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
              for (let j = 0; j < KW; j++) v += xAt(n, c, y + i, xx + j) * wAt(o, c, i, j);
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
