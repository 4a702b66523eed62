/**
 * maxpool2d, every backend, in one file:
 * - cpu: `cpu/maxpool2d.ts` in float64: the tutorial's printouts digit for digit, the tie rule,
 *   partial border windows, finite-difference gradient checks in both border modes;
 * - webgpu: the maxpool2d kernels against `cpu/`, exact (the case table tests/_kernel_cases.ts,
 *   which tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no
 *   adapter;
 * - native: the maxpool stage (+ fused activation) against `cpu/`; ignored where no CBLAS loads.
 */
import assert from "node:assert/strict";
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dOutputSize,
  type MaxPool2DShape,
  poolOutputSize,
} from "../cpu/maxpool2d.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import { PoolStage } from "../src/backends/native/pool.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { act, actBack, ignore, rand } from "./_native.ts";

// ---------------- cpu: cpu/maxpool2d.ts in float64

// Tests of cpu/maxpool2d.ts: the tutorial's max_pool_2d printouts digit for digit, the tie rule,
// partial border windows, and float64 finite-difference gradient checks in both border modes.

/** numpy's default float printing (precision 8) in fixed notation: 8 decimals, trailing zeros dropped. */
function npFixed(v: number): string {
  return v.toFixed(8).replace(/0+$/, "");
}

/** numpy's scientific notation with precision 8: "4.17022005e-01". */
function npSci(v: number): string {
  const [mantissa, exp] = v.toExponential(8).split("e");
  const sign = exp[0] === "-" ? "-" : "+";
  return `${mantissa}e${sign}${exp.replace(/^[+-]/, "").padStart(2, "0")}`;
}

/** Plane [n, c] of an [N, C, H, W] array as rows of strings. */
function plane(
  a: Float64Array,
  s: { channels: number; height: number; width: number },
  n: number,
  c: number,
  fmt: (v: number) => string,
) {
  const rows: string[][] = [];
  const base = (n * s.channels + c) * s.height * s.width;
  for (let i = 0; i < s.height; i++) {
    rows.push(Array.from(a.subarray(base + i * s.width, base + (i + 1) * s.width), fmt));
  }
  return rows;
}

// The tutorial: invals = numpy.random.RandomState(1).rand(3, 2, 5, 5), maxpool_shape = (2, 2)
const TUTORIAL: MaxPool2DShape = {
  batch: 3,
  channels: 2,
  height: 5,
  width: 5,
  poolH: 2,
  poolW: 2,
  ignoreBorder: true,
};

Deno.test("max_pool_2d tutorial printout, ignore_border=True: every printed digit", () => {
  const invals = new RandomState(1).rand(3, 2, 5, 5);
  // the tutorial's "invals[0, 0, :, :] =" printout
  assert.deepStrictEqual(plane(invals, TUTORIAL, 0, 0, npSci), [
    ["4.17022005e-01", "7.20324493e-01", "1.14374817e-04", "3.02332573e-01", "1.46755891e-01"],
    ["9.23385948e-02", "1.86260211e-01", "3.45560727e-01", "3.96767474e-01", "5.38816734e-01"],
    ["4.19194514e-01", "6.85219500e-01", "2.04452250e-01", "8.78117436e-01", "2.73875932e-02"],
    ["6.70467510e-01", "4.17304802e-01", "5.58689828e-01", "1.40386939e-01", "1.98101489e-01"],
    ["8.00744569e-01", "9.68261576e-01", "3.13424178e-01", "6.92322616e-01", "8.76389152e-01"],
  ]);
  const { outH, outW } = maxPool2dOutputSize(TUTORIAL);
  assert.deepStrictEqual([outH, outW], [2, 2]);
  const out = new Float64Array(3 * 2 * outH * outW);
  maxPool2dForward(out, invals, TUTORIAL);
  // the tutorial's "output[0, 0, :, :] =" printout
  assert.deepStrictEqual(plane(out, { channels: 2, height: 2, width: 2 }, 0, 0, npFixed), [
    ["0.72032449", "0.39676747"],
    ["0.6852195", "0.87811744"],
  ]);
});

Deno.test("max_pool_2d tutorial printout, ignore_border=False: every printed digit", () => {
  const invals = new RandomState(1).rand(3, 2, 5, 5);
  // the tutorial's "invals[1, 0, :, :] =" printout
  assert.deepStrictEqual(plane(invals, TUTORIAL, 1, 0, npFixed), [
    ["0.01936696", "0.67883553", "0.21162812", "0.26554666", "0.49157316"],
    ["0.05336255", "0.57411761", "0.14672857", "0.58930554", "0.69975836"],
    ["0.10233443", "0.41405599", "0.69440016", "0.41417927", "0.04995346"],
    ["0.53589641", "0.66379465", "0.51488911", "0.94459476", "0.58655504"],
    ["0.90340192", "0.1374747", "0.13927635", "0.80739129", "0.39767684"],
  ]);
  const s = { ...TUTORIAL, ignoreBorder: false };
  const { outH, outW } = maxPool2dOutputSize(s);
  assert.deepStrictEqual([outH, outW], [3, 3]);
  const out = new Float64Array(3 * 2 * outH * outW);
  maxPool2dForward(out, invals, s);
  // the tutorial's "output[1, 0, :, :] =" printout
  assert.deepStrictEqual(plane(out, { channels: 2, height: 3, width: 3 }, 1, 0, npFixed), [
    ["0.67883553", "0.58930554", "0.69975836"],
    ["0.66379465", "0.94459476", "0.58655504"],
    ["0.90340192", "0.80739129", "0.39767684"],
  ]);
});

Deno.test("maxPool2dOutputSize: floor with ignoreBorder, ceil without", () => {
  const s: MaxPool2DShape = {
    batch: 1,
    channels: 1,
    height: 7,
    width: 5,
    poolH: 2,
    poolW: 3,
    ignoreBorder: true,
  };
  assert.deepStrictEqual(maxPool2dOutputSize(s), { outH: 3, outW: 1 });
  assert.deepStrictEqual(maxPool2dOutputSize({ ...s, ignoreBorder: false }), { outH: 4, outW: 2 });
  // LeNet: 24x24 -> 12x12, 8x8 -> 4x4
  assert.deepStrictEqual(maxPool2dOutputSize({ ...s, height: 24, width: 24, poolW: 2 }), {
    outH: 12,
    outW: 12,
  });
  assert.deepStrictEqual(
    maxPool2dOutputSize({ ...s, height: 8, width: 8, poolW: 2, ignoreBorder: false }),
    {
      outH: 4,
      outW: 4,
    },
  );
});

Deno.test("maxPool2d: partial border windows with ignoreBorder false (hand example)", () => {
  // 3x4 input, pool 2x3:   [[ 1, 9, 2, -5],
  //                         [ 4, 3, 8, -7],
  //                         [-2, 6, 5, -1]]
  const s: MaxPool2DShape = {
    batch: 1,
    channels: 1,
    height: 3,
    width: 4,
    poolH: 2,
    poolW: 3,
    ignoreBorder: false,
  };
  const x = Float64Array.of(1, 9, 2, -5, 4, 3, 8, -7, -2, 6, 5, -1);
  const out = new Float64Array(4);
  maxPool2dForward(out, x, s);
  // windows: rows 0-1 x cols 0-2 -> 9; rows 0-1 x col 3 -> -5; row 2 x cols 0-2 -> 6; row 2 x col 3 -> -1
  assert.deepStrictEqual(Array.from(out), [9, -5, 6, -1]);
  const dx = new Float64Array(12).fill(NaN);
  maxPool2dBackward(dx, Float64Array.of(10, 20, 30, 40), x, s);
  assert.deepStrictEqual(Array.from(dx), [0, 10, 0, 20, 0, 0, 0, 0, 0, 30, 0, 40]);
  // ignoreBorder true keeps only the full window
  const out1 = new Float64Array(1);
  maxPool2dForward(out1, x, { ...s, ignoreBorder: true });
  assert.deepStrictEqual(Array.from(out1), [9]);
});

/** Two 2x2 planes with ties: all equal, and [[1, 3], [3, 2]]. */
const TIES: MaxPool2DShape = {
  batch: 1,
  channels: 2,
  height: 2,
  width: 2,
  poolH: 2,
  poolW: 2,
  ignoreBorder: true,
};
const TIED = Float64Array.of(0.5, 0.5, 0.5, 0.5, 1, 3, 3, 2);

Deno.test("maxPool2d tie rule: the first maximum in row-major order gets the whole gradient", () => {
  const s = TIES, x = TIED;
  // channel 0: all equal -> element 0; channel 1: [[1, 3], [3, 2]] -> element 1 (not 2)
  const out = new Float64Array(2);
  maxPool2dForward(out, x, s);
  assert.deepStrictEqual(Array.from(out), [0.5, 3]);
  const dx = new Float64Array(8);
  maxPool2dBackward(dx, Float64Array.of(1, 2), x, s);
  assert.deepStrictEqual(Array.from(dx), [1, 0, 0, 0, 0, 2, 0, 0]);
  // -Infinity everywhere still picks the first element
  maxPool2dBackward(dx, Float64Array.of(1, 2), new Float64Array(8).fill(-Infinity), s);
  assert.deepStrictEqual(Array.from(dx), [1, 0, 0, 0, 2, 0, 0, 0]);
});

Deno.test('maxPool2d tie rule "all" (Theano\'s MaxPoolGrad): every element equal to the maximum gets the gradient', () => {
  const s: MaxPool2DShape = { ...TIES, ties: "all" }, x = TIED;
  // channel 0: all equal -> every element; channel 1: [[1, 3], [3, 2]] -> both 3s
  const dx = new Float64Array(8);
  maxPool2dBackward(dx, Float64Array.of(1, 2), x, s);
  assert.deepStrictEqual(Array.from(dx), [1, 1, 1, 1, 0, 2, 2, 0]);
  // Theano's `gx[r, c] += gz if x[r, c] == maxout` over overlapping windows (1x2, stride 1):
  // windows [4, 4] and [4, 1] -> the first 4 gets 10, the second 10 + 20
  const t: MaxPool2DShape = { ...s, channels: 1, height: 1, width: 3, poolH: 1, strideW: 1 };
  const dx3 = new Float64Array(3);
  maxPool2dBackward(dx3, Float64Array.of(10, 20), Float64Array.of(4, 4, 1), t);
  assert.deepStrictEqual(Array.from(dx3), [10, 30, 0]);
  // partial border windows (ignoreBorder false): a 3x3 input, ties in the last column
  const p: MaxPool2DShape = { ...s, channels: 1, height: 3, width: 3, ignoreBorder: false };
  const dx9 = new Float64Array(9);
  maxPool2dBackward(
    dx9,
    Float64Array.of(1, 2, 3, 4),
    Float64Array.of(0, 0, 7, 0, 0, 7, 5, 5, 5),
    p,
  );
  assert.deepStrictEqual(Array.from(dx9), [1, 1, 2, 1, 1, 2, 3, 3, 4]);
  // without ties it is the first rule
  const r = new RandomState(7), xr = randomArray(r, 2 * 3 * 6 * 6), g = randomArray(r, 2 * 3 * 9);
  const shape: MaxPool2DShape = { ...s, batch: 2, channels: 3, height: 6, width: 6 };
  const [a, b] = [new Float64Array(xr.length), new Float64Array(xr.length)];
  maxPool2dBackward(a, g, xr, { ...shape, ties: "first" });
  maxPool2dBackward(b, g, xr, shape);
  assert.deepStrictEqual(a, b);
  assertThrowsWith(
    () => maxPool2dBackward(a, g, xr, { ...shape, ties: "some" as "all" }),
    RangeError,
    'ties must be "first" or "all"',
  );
});

const GRAD_SHAPES: MaxPool2DShape[] = [
  { batch: 2, channels: 3, height: 7, width: 5, poolH: 2, poolW: 3, ignoreBorder: true },
  { batch: 2, channels: 3, height: 7, width: 5, poolH: 2, poolW: 3, ignoreBorder: false },
  { batch: 3, channels: 2, height: 6, width: 9, poolH: 3, poolW: 2, ignoreBorder: false },
  { batch: 2, channels: 2, height: 8, width: 8, poolH: 2, poolW: 2, ignoreBorder: true },
];

Deno.test("maxPool2dBackward passes float64 finite-difference checks, both border modes (max rel err < 1e-6)", () => {
  for (const [k, s] of GRAD_SHAPES.entries()) {
    // random continuous inputs: ties (where max is not differentiable) have probability zero
    const rng = new RandomState(300 + k);
    const { outH, outW } = maxPool2dOutputSize(s);
    const x = randomArray(rng, s.batch * s.channels * s.height * s.width);
    const r = randomArray(rng, s.batch * s.channels * outH * outW);
    const out = new Float64Array(r.length);
    const dx = new Float64Array(x.length).fill(NaN);
    maxPool2dBackward(dx, r, x, s);
    const res = gradCheck(
      (v) => {
        maxPool2dForward(out, v, s);
        return dot(out, r);
      },
      x,
      dx,
    );
    assert.ok(res.maxRelError < 1e-6, `shape ${k}: max rel err ${res.maxRelError}`);
  }
});

Deno.test("maxPool2d on Float32Array", () => {
  const s = GRAD_SHAPES[2];
  const rng = new RandomState(5);
  const x = new Float32Array(randomArray(rng, 3 * 2 * 6 * 9));
  const out = new Float32Array(3 * 2 * 2 * 5);
  maxPool2dForward(out, x, s);
  assert.strictEqual(out[0], Math.max(x[0], x[1], x[9], x[10], x[18], x[19]));
});

Deno.test("maxPool2d throws RangeError on bad shapes and lengths", () => {
  const s: MaxPool2DShape = {
    batch: 1,
    channels: 1,
    height: 4,
    width: 4,
    poolH: 2,
    poolW: 2,
    ignoreBorder: true,
  };
  assertThrowsWith(
    () => maxPool2dOutputSize({ ...s, poolW: 0 }),
    RangeError,
    "poolW must be a positive integer",
  );
  assertThrowsWith(
    () => maxPool2dForward(new Float64Array(3), new Float64Array(16), s),
    RangeError,
    "maxPool2dForward: out must have length 4, received 3",
  );
  assertThrowsWith(
    () => maxPool2dBackward(new Float64Array(16), new Float64Array(4), new Float64Array(15), s),
    RangeError,
    "maxPool2dBackward: x must have length 16, received 15",
  );
});

/**
 * PyTorch's `pooling_output_shape` (aten/src/ATen/native/Pool.h) with padding 0, dilation 1:
 *   out = floor((size - k + (ceil_mode ? s - 1 : 0)) / s) + 1
 *   ceil_mode: if (out - 1) * s >= size, out -= 1   (the last window must start inside the input)
 * Defined (output >= 1) for size >= k.
 */
function torchPoolOut(size: number, k: number, s: number, ceilMode: boolean): number {
  let out = Math.floor((size - k + (ceilMode ? s - 1 : 0)) / s) + 1;
  if (ceilMode && (out - 1) * s >= size) out--;
  return out;
}

Deno.test("poolOutputSize equals PyTorch's ceil_mode formula for every size >= pool up to 24", () => {
  let checked = 0;
  for (let size = 1; size <= 24; size++) {
    for (let pool = 1; pool <= size && pool <= 6; pool++) {
      for (let stride = 1; stride <= 6; stride++) {
        const msg = `size ${size} pool ${pool} stride ${stride}`;
        assert.strictEqual(
          poolOutputSize(size, pool, stride, true),
          torchPoolOut(size, pool, stride, false),
          `${msg} ignoreBorder`,
        );
        assert.strictEqual(
          poolOutputSize(size, pool, stride, false),
          torchPoolOut(size, pool, stride, true),
          `${msg} !ignoreBorder`,
        );
        checked++;
      }
    }
  }
  assert.strictEqual(checked, 774);
});

Deno.test("poolOutputSize: a hand table, and windows larger than the input", () => {
  const table: [number, number, number, boolean, number][] = [
    // size, pool, stride, ignoreBorder, expected
    [24, 2, 2, true, 12], // LeNet
    [5, 2, 2, true, 2], // the tutorial: floor(5 / 2)
    [5, 2, 2, false, 3], // the tutorial: ceil(5 / 2)
    [13, 3, 2, true, 6], // AlexNet-style overlapping pooling
    [13, 3, 2, false, 6], // (13 - 3) / 2 is whole: no partial window
    [14, 3, 2, false, 7], // windows start at 0, 2, ..., 12: the last covers rows 12..13
    [7, 2, 3, true, 2], // stride > pool: windows at 0 and 3 (6 would need rows 6..7)
    [7, 2, 3, false, 3], // ... kept partial at 6
    [8, 8, 8, true, 1], // global pooling
    [1, 2, 2, true, 0], // window larger than the input: nothing with ignoreBorder
    [1, 2, 2, false, 1], // ... one partial window without (Theano)
    [2, 3, 1, false, 1],
  ];
  for (const [size, pool, stride, ib, expected] of table) {
    assert.strictEqual(
      poolOutputSize(size, pool, stride, ib),
      expected,
      `${size} ${pool} ${stride} ${ib}`,
    );
  }
  // default strides = the window: the tutorial's floor / ceil of H / PH
  for (let h = 1; h <= 12; h++) {
    for (let p = 1; p <= 4; p++) {
      assert.strictEqual(poolOutputSize(h, p, p, true), Math.floor(h / p));
      assert.strictEqual(poolOutputSize(h, p, p, false), Math.ceil(h / p));
    }
  }
});

Deno.test("maxPool2d: overlapping 3x3 stride-2 windows, hand example, gradient accumulated", () => {
  // 5x5 input, windows at rows/columns 0..2 and 2..4; the 24 at (2, 2) is in all four windows
  const s: MaxPool2DShape = {
    batch: 1,
    channels: 1,
    height: 5,
    width: 5,
    poolH: 3,
    poolW: 3,
    strideH: 2,
    strideW: 2,
    ignoreBorder: true,
  };
  assert.deepStrictEqual(maxPool2dOutputSize(s), { outH: 2, outW: 2 });
  // deno-fmt-ignore
  const x = Float64Array.of(
    1, 2, 3, 4, 5,
    6, 7, 8, 9, 10,
    11, 12, 24, 14, 15,
    16, 17, 18, 19, 20,
    21, 22, 23, 0, 25,
  );
  const out = new Float64Array(4);
  maxPool2dForward(out, x, s);
  assert.deepStrictEqual(Array.from(out), [24, 24, 24, 25]);
  const dx = new Float64Array(25).fill(NaN);
  maxPool2dBackward(dx, Float64Array.of(1, 10, 100, 1000), x, s);
  const expected = new Array(25).fill(0);
  expected[12] = 111; // 1 + 10 + 100, accumulated
  expected[24] = 1000;
  assert.deepStrictEqual(Array.from(dx), expected);
});

Deno.test("maxPool2d: strides smaller, equal and larger than the window, both border modes, pass finite-difference checks", () => {
  // [batch, channels, height, width, poolH, poolW, strideH, strideW, ignoreBorder]
  const shapes: MaxPool2DShape[] = ([
    // overlapping 3x3 stride 2, 7x8: ignoreBorder true and false agree on H (3), differ on W (3 vs 4)
    [2, 2, 7, 8, 3, 3, 2, 2, true],
    [2, 2, 7, 8, 3, 3, 2, 2, false],
    // overlapping 3x3 stride 2, 6x6 with a partial window
    [1, 3, 6, 6, 3, 3, 2, 2, false],
    // stride 1, unequal strides; strides larger than the window (gaps)
    [1, 2, 5, 6, 2, 3, 1, 2, true],
    [1, 2, 8, 7, 2, 2, 3, 3, false],
    [1, 2, 8, 7, 2, 2, 3, 3, true],
  ] as const).map((
    [batch, channels, height, width, poolH, poolW, strideH, strideW, ignoreBorder],
  ) => ({
    batch,
    channels,
    height,
    width,
    poolH,
    poolW,
    strideH,
    strideW,
    ignoreBorder,
  }));
  const sizes = shapes.map((s) => maxPool2dOutputSize(s));
  assert.deepStrictEqual(sizes, [
    { outH: 3, outW: 3 },
    { outH: 3, outW: 4 },
    { outH: 3, outW: 3 },
    { outH: 4, outW: 2 },
    { outH: 3, outW: 3 },
    { outH: 3, outW: 2 },
  ]);
  for (const [k, s] of shapes.entries()) {
    const rng = new RandomState(330 + k);
    const { outH, outW } = sizes[k];
    const x = randomArray(rng, s.batch * s.channels * s.height * s.width);
    const r = randomArray(rng, s.batch * s.channels * outH * outW);
    const out = new Float64Array(r.length);
    const dx = new Float64Array(x.length).fill(NaN);
    maxPool2dBackward(dx, r, x, s);
    const res = gradCheck(
      (v) => {
        maxPool2dForward(out, v, s);
        return dot(out, r);
      },
      x,
      dx,
    );
    assert.ok(res.maxRelError < 1e-6, `shape ${k}: max rel err ${res.maxRelError}`);
  }
});

Deno.test("poolOutputSize and maxPool2d refuse non-positive strides with RangeError", () => {
  assertThrowsWith(
    () => poolOutputSize(5, 2, 0, true),
    RangeError,
    "poolOutputSize: stride must be a positive integer, received 0",
  );
  assertThrowsWith(
    () => poolOutputSize(0, 2, 2, true),
    RangeError,
    "size must be a positive integer",
  );
  const s: MaxPool2DShape = {
    batch: 1,
    channels: 1,
    height: 4,
    width: 4,
    poolH: 2,
    poolW: 2,
    ignoreBorder: true,
  };
  assertThrowsWith(
    () => maxPool2dOutputSize({ ...s, strideW: 1.5 }),
    RangeError,
    "maxPool2d: strideW must be a positive integer, received 1.5",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the maxpool2d kernels with `cpu/maxpool2d.ts`: strides (overlapping windows, gaps),
 * both border modes, ties.
 * Max pooling only selects values, so forward and backward must be exact (tolerance 0).
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("maxpool2d")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: stages against cpu/

/**
 * The native maxpool stage (`src/backends/native/pool.ts`, with a fused activation) against
 * `cpu/maxpool2d.ts`: both border modes, strides, overlapping windows. Argmax and the scatter
 * are exact (same tie rule): pooling alone is compared with rtol 0, pooling + activation with
 * rtol 1e-6 (both sides call Math.tanh / Math.exp on the same float32 values).
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */

Deno.test({
  name:
    "native maxpool (+ activation) against cpu/maxpool2d, both modes, strides, overlapping windows, exact ties, both tie rules",
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
    const withTies = cases.flatMap((c) => (["first", "all"] as const).map((t) => [c, t] as const));
    for (const [[N, C, H, W, ph, pw, ignoreBorder, kind, sh = ph, sw = pw], ties] of withTies) {
      const s: MaxPool2DShape = {
        ties,
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
        ties,
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
