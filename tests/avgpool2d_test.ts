/**
 * avgpool2d, every backend, in one file:
 * - cpu: `cpu/avgpool2d.ts` in float64: hand examples with partial windows, global average
 *   pooling, an independent reference, finite-difference gradient checks;
 * - webgpu: the avgpool2d kernels against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter;
 * - native: the avgpool stage against `cpu/`; ignored where no CBLAS loads.
 */
import assert from "node:assert/strict";
import { avgPool2dBackward, avgPool2dForward, avgPool2dOutputSize } from "../cpu/avgpool2d.ts";
import { maxPool2dOutputSize, type Pool2DShape } from "../cpu/maxpool2d.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";
import { AvgPoolStage } from "../src/backends/native/pool.ts";
import { FWD, ignore, rand } from "./_native.ts";

// ---------------- cpu: cpu/avgpool2d.ts in float64

// Tests of cpu/avgpool2d.ts: hand examples with partial windows (PyTorch ceil_mode divisor),
// global average pooling, an independent membership-based reference, and float64
// finite-difference gradient checks on overlapping, gapped, partial and global windows.

/** [batch, channels, height, width, poolH, poolW, strideH, strideW, ignoreBorder] to a shape. */
function shape(
  [batch, channels, height, width, poolH, poolW, strideH, strideW, ignoreBorder]: readonly [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    boolean,
  ],
): Pool2DShape {
  return { batch, channels, height, width, poolH, poolW, strideH, strideW, ignoreBorder };
}

const SHAPES: Pool2DShape[] = ([
  [2, 2, 7, 8, 3, 3, 2, 2, false], // overlapping 3x3 stride 2, partial last column window
  [2, 2, 7, 8, 3, 3, 2, 2, true],
  [1, 3, 5, 6, 2, 3, 1, 2, true], // stride 1 vertically
  [1, 2, 8, 7, 2, 2, 3, 3, false], // gaps, partial windows
  [1, 2, 5, 5, 2, 2, 2, 2, false], // the tutorial's non-overlapping pooling, partial border
  [3, 4, 6, 5, 6, 5, 6, 5, true], // global average pooling
] as const).map(shape);

/**
 * Independent reference: for every output, visit EVERY input element and test whether it lies in
 * the window [oy*SH, oy*SH + PH) x [ox*SW, ox*SW + PW); average those.
 */
function directAvg(x: Float64Array, s: Pool2DShape): number[] {
  const { outH, outW } = avgPool2dOutputSize(s);
  const SH = s.strideH ?? s.poolH, SW = s.strideW ?? s.poolW;
  const out: number[] = [];
  for (let nc = 0; nc < s.batch * s.channels; nc++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let sum = 0, count = 0;
        for (let r = 0; r < s.height; r++) {
          for (let c = 0; c < s.width; c++) {
            const inside = r >= oy * SH && r < oy * SH + s.poolH && c >= ox * SW &&
              c < ox * SW + s.poolW;
            if (inside) {
              sum += x[(nc * s.height + r) * s.width + c];
              count++;
            }
          }
        }
        out.push(sum / count);
      }
    }
  }
  return out;
}

Deno.test("avgPool2dForward: partial windows divide by the count inside (hand example)", () => {
  // 3x4 input, 2x3 windows, stride 2x3, partial kept:
  // [[ 1,  2,  3,  4],     window (0,0): rows 0..1 cols 0..2, 6 values: (1+2+3+5+6+7)/6 = 4
  //  [ 5,  6,  7,  8],     window (0,1): rows 0..1 col 3, 2 values: (4+8)/2 = 6
  //  [ 9, 10, 11, 12]]     window (1,0): row 2 cols 0..2, 3 values: 10;  (1,1): 12
  const s: Pool2DShape = {
    batch: 1,
    channels: 1,
    height: 3,
    width: 4,
    poolH: 2,
    poolW: 3,
    ignoreBorder: false,
  };
  const x = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
  const out = new Float64Array(4);
  avgPool2dForward(out, x, s);
  assert.deepStrictEqual(Array.from(out), [4, 6, 10, 12]);
  const dx = new Float64Array(12).fill(NaN);
  avgPool2dBackward(dx, Float64Array.of(6, 2, 3, 5), s);
  assert.deepStrictEqual(Array.from(dx), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5]);
  // ignoreBorder drops the partial windows: only (0,0)
  const one = new Float64Array(1);
  avgPool2dForward(one, x, { ...s, ignoreBorder: true });
  assert.deepStrictEqual(Array.from(one), [4]);
});

Deno.test("avgPool2d: global H x W pooling is the per-plane mean; backward spreads dOut / (H*W)", () => {
  const s = SHAPES[5];
  assert.deepStrictEqual(avgPool2dOutputSize(s), { outH: 1, outW: 1 });
  const rng = new RandomState(600);
  const x = randomArray(rng, 3 * 4 * 30);
  const out = new Float64Array(12);
  avgPool2dForward(out, x, s);
  for (let p = 0; p < 12; p++) {
    let sum = 0;
    for (let k = 0; k < 30; k++) sum += x[p * 30 + k];
    assert.ok(Math.abs(out[p] - sum / 30) < 1e-15, `plane ${p}`);
  }
  const dOut = randomArray(rng, 12);
  const dx = new Float64Array(x.length);
  avgPool2dBackward(dx, dOut, s);
  for (let k = 0; k < x.length; k++) assert.strictEqual(dx[k], dOut[Math.floor(k / 30)] / 30);
});

Deno.test("avgPool2dForward matches the membership-based reference on strided shapes", () => {
  for (const [k, s] of SHAPES.entries()) {
    const x = randomArray(new RandomState(610 + k), s.batch * s.channels * s.height * s.width);
    const { outH, outW } = avgPool2dOutputSize(s);
    const out = new Float64Array(s.batch * s.channels * outH * outW);
    avgPool2dForward(out, x, s);
    assertAllClose(out, directAvg(x, s), { rtol: 1e-14, atol: 1e-15, msg: `shape ${k}` });
  }
});

Deno.test("avgPool2dBackward passes float64 finite-difference checks (max rel err < 1e-6)", () => {
  for (const [k, s] of SHAPES.entries()) {
    const rng = new RandomState(620 + k);
    const { outH, outW } = avgPool2dOutputSize(s);
    const x = randomArray(rng, s.batch * s.channels * s.height * s.width);
    const r = randomArray(rng, s.batch * s.channels * outH * outW);
    const out = new Float64Array(r.length);
    const dx = new Float64Array(x.length).fill(NaN);
    avgPool2dBackward(dx, r, s);
    const res = gradCheck(
      (v) => {
        avgPool2dForward(out, v, s);
        return dot(out, r);
      },
      x,
      dx,
    );
    assert.ok(res.maxRelError < 1e-6, `shape ${k}: max rel err ${res.maxRelError}`);
  }
});

Deno.test("avgPool2d on Float32Array agrees with float64 to float32 precision", () => {
  const s = SHAPES[0];
  const rng = new RandomState(630);
  const x = randomArray(rng, 2 * 2 * 7 * 8);
  const { outH, outW } = avgPool2dOutputSize(s);
  const out64 = new Float64Array(4 * outH * outW), out32 = new Float32Array(4 * outH * outW);
  avgPool2dForward(out64, x, s);
  avgPool2dForward(out32, new Float32Array(x), s);
  assertAllClose(out32, out64, { rtol: 1e-6, atol: 1e-6 });
});

Deno.test("avgPool2d throws RangeError on bad shapes and lengths", () => {
  const s: Pool2DShape = {
    batch: 1,
    channels: 1,
    height: 4,
    width: 4,
    poolH: 2,
    poolW: 2,
    ignoreBorder: true,
  };
  assertThrowsWith(
    () => avgPool2dOutputSize({ ...s, poolH: 0 }),
    RangeError,
    "avgPool2d: poolH must be a positive integer, received 0",
  );
  assertThrowsWith(
    () => avgPool2dOutputSize({ ...s, strideH: -2 }),
    RangeError,
    "avgPool2d: strideH must be a positive integer, received -2",
  );
  assertThrowsWith(
    () => avgPool2dForward(new Float64Array(3), new Float64Array(16), s),
    RangeError,
    "avgPool2dForward: out must have length 4, received 3",
  );
  assertThrowsWith(
    () => avgPool2dBackward(new Float64Array(16), new Float64Array(5), s),
    RangeError,
    "avgPool2dBackward: dOut must have length 4, received 5",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the avgpool2d kernels with `cpu/avgpool2d.ts`: strides, partial windows at the
 * border, global average pooling. Tolerance rtol 1e-5, atol 1e-6 (a float32 window sum and
 * one division per value).
 */

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("avgpool2d")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

// ---------------- native: stages against cpu/

/**
 * The native avgpool stage (`src/backends/native/pool.ts`) against `cpu/avgpool2d.ts`:
 * windows, strides, partial windows, global pooling. Tolerance: forward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */

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
