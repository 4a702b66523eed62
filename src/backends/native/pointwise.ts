/**
 * The element-wise and pooling loops of the native backend, on Float32Array ranges:
 * activations (forward in place, backward from the forward output), bias sums, and max
 * pooling that records where each maximum came from so backward is a scatter.
 *
 * @module
 */

import { type ActivationKind, ACTIVATIONS } from "../../activations.ts";

/** An activation (a key of `ACTIVATIONS`) fused after a layer, or none. */
export type Activation = ActivationKind | null;

/**
 * tanh rounded to float32 exactly as `Math.fround(Math.tanh(x))` (what `cpu/tanh.ts` stores
 * into a Float32Array), about 1.8x faster: V8's `Math.tanh` goes through `expm1`, while
 * `(e - 1) / (e + 1)` with `e = exp(2x)` in float64 is off by ~1e-14 relative, far below a
 * float32 ulp (checked against `Math.tanh` on 44 M float32 values across every exponent: no
 * difference after rounding). Below |x| = 0.004, where `e - 1` cancels, the odd series to
 * x⁵ (relative error < 3e-16); above |x| = 9.1, tanh rounds to ±1 in float32.
 * (A rational approximation without `exp`, ~6x faster, is 2-3 float32 ulps off.)
 *
 * @param x The argument.
 * @returns tanh(x), to be stored as float32.
 */
export function tanh(x: number): number {
  if (x > 9.1) return 1;
  if (x < -9.1) return -1;
  if (Math.abs(x) < 0.004) {
    const x2 = x * x;
    return x * (1 - x2 * (1 / 3 - x2 * (2 / 15)));
  }
  const e = Math.exp(2 * x);
  return (e - 1) / (e + 1);
}

/**
 * Applies an activation in place to `y[0, len)`: the values of its `cpu/<kind>.ts`. Own loops
 * for tanh (the faster {@link tanh}), sigmoid and relu (on the bits: `x < 0 ? 0 : x`, so NaN
 * stays NaN); any other activation runs its `ACTIVATIONS` entry's `forward`.
 *
 * @param act The activation; null does nothing.
 * @param y Values, overwritten.
 * @param len Number of values.
 */
export function activateInPlace(act: Activation, y: Float32Array, len: number): void {
  if (act === "tanh") {
    for (let k = 0; k < len; k++) y[k] = tanh(y[k]);
  } else if (act === "sigmoid") {
    for (let k = 0; k < len; k++) {
      const v = y[k];
      if (v >= 0) {
        y[k] = 1 / (1 + Math.exp(-v));
      } else {
        const e = Math.exp(v);
        y[k] = e / (1 + e);
      }
    }
  } else if (act === "relu") {
    // On the bits: a negative number (sign bit set, not NaN: |bits| <= Inf's) becomes +0.
    // 4x faster than `if (y < 0) y = 0`, whose branch mispredicts on random signs (18.7 vs
    // 4.8 ms on 3.2 M values). -0 becomes +0; NaN stays NaN.
    const u = new Int32Array(y.buffer, y.byteOffset, len);
    for (let k = 0; k < len; k++) {
      const v = u[k];
      u[k] = v & ~((v >> 31) & -((v & 0x7fffffff) <= 0x7f800000));
    }
  } else if (act) {
    const f = ACTIVATIONS[act as ActivationKind].forward;
    for (let k = 0; k < len; k++) y[k] = f(y[k]);
  }
}

/**
 * `dPre[k] = dOut[k] · act'(x)` from the forward output `y`, for `k < len` (ReLU:
 * `y > 0 ? dOut : 0`, PyTorch's `threshold_backward`, as `dOut·(y > 0)`: a non-finite `dOut`
 * where `y <= 0` gives NaN instead of 0); with no activation a copy. Own loops for tanh,
 * sigmoid and relu; any other activation runs its `ACTIVATIONS` entry's `backward`, and `y`
 * is then whatever that entry's `from` names (the forward input for `from: "x"`).
 *
 * @param act The activation.
 * @param dPre Gradient w.r.t. the activation's input, overwritten (may be `dOut`).
 * @param dOut Gradient w.r.t. the activation's output.
 * @param y The activation's output (its input for an entry with `from: "x"`).
 * @param len Number of values.
 */
export function activationBackward(
  act: Activation,
  dPre: Float32Array,
  dOut: Float32Array,
  y: Float32Array,
  len: number,
): void {
  if (act === "tanh") {
    for (let k = 0; k < len; k++) dPre[k] = dOut[k] * (1 - y[k] * y[k]);
  } else if (act === "sigmoid") {
    for (let k = 0; k < len; k++) dPre[k] = dOut[k] * y[k] * (1 - y[k]);
  } else if (act === "relu") {
    // a product, not a ternary: no branch to mispredict on random signs (2x faster)
    for (let k = 0; k < len; k++) dPre[k] = dOut[k] * +(y[k] > 0);
  } else if (act) {
    const b = ACTIVATIONS[act as ActivationKind].backward;
    for (let k = 0; k < len; k++) dPre[k] = b(dOut[k], y[k]);
  } else if (dPre !== dOut) {
    dPre.set(dOut.subarray(0, len));
  }
}

/** Where the planes of a pooling's input lie: plane (n, c) starts at `n·nStride + c·cStride`. */
export interface PoolGeometry {
  /** Samples. */
  batch: number;
  /** Channels. */
  channels: number;
  /** Input plane height. */
  height: number;
  /** Input plane width. */
  width: number;
  /** Window height. */
  poolH: number;
  /** Window width. */
  poolW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Output plane height. */
  outH: number;
  /** Output plane width. */
  outW: number;
  /** Offset between samples in the input. */
  nStride: number;
  /** Offset between channels in the input. */
  cStride: number;
  /** Offset between rows of a plane in the input; default `width`. */
  rowStride?: number;
}

/** 32-bit words per output of a tie mask of `poolH x poolW` windows: one bit per window element. */
export function tieWords(poolH: number, poolW: number): number {
  return Math.ceil(poolH * poolW / 32);
}

/**
 * Max pooling's backward scatter, `dy[i] += g` for the inputs an output's gradient goes to:
 * its maximum `argmax[k]`, or with a tie mask every element of the window equal to the maximum
 * (Theano's rule). Mask bit `j` of output `k` (word `k·words + j / 32`) marks window element
 * `(j / poolW, j % poolW)`; the window's top-left input is found from the first set bit, which is
 * the first maximum's.
 *
 * @param dy Gradient w.r.t. the pooling's input, added to.
 * @param k The output.
 * @param g The output's gradient.
 * @param argmax Index into `dy` of each output's first maximum.
 * @param ties The tie masks (`words` per output), or null for the first-maximum rule.
 * @param poolW Window width.
 * @param rowStride Offset between rows of a plane in `dy`.
 * @returns How many inputs received `g`.
 */
export function scatterMax(
  dy: Float32Array,
  k: number,
  g: number,
  argmax: Int32Array,
  ties: Uint32Array | null,
  poolW: number,
  rowStride: number,
): number {
  const best = argmax[k];
  if (ties === null) {
    dy[best] += g;
    return 1;
  }
  const words = ties.length / argmax.length;
  let first = -1;
  for (let w = 0; w < words && first < 0; w++) {
    const m = ties[k * words + w];
    if (m !== 0) first = w * 32 + 31 - Math.clz32(m & -m);
  }
  if (first < 0) { // no element equals the maximum (NaN): the first-maximum rule
    dy[best] += g;
    return 1;
  }
  let count = 0;
  const at = best - (Math.floor(first / poolW) * rowStride + (first % poolW));
  for (let w = 0; w < words; w++) {
    let m = ties[k * words + w];
    while (m !== 0) {
      const j = w * 32 + 31 - Math.clz32(m & -m);
      dy[at + Math.floor(j / poolW) * rowStride + (j % poolW)] += g;
      m &= m - 1;
      count++;
    }
  }
  return count;
}

/**
 * Max pooling, with an optional per-channel bias added first and an activation applied last:
 * `out[n, c, py, px] = act(max over the window of fround(x + bias[c]))`, NCHW, and
 * `argmax[…]` = the index into `x` of the FIRST maximum in row-major window order (strict
 * `>`), as `cpu/maxpool2d.ts`. Window (py, px) covers rows `py·strideH .. min(py·strideH +
 * poolH, height) - 1` (likewise columns): windows may overlap, and partial windows at the
 * border are kept when `outH`, `outW` say so (Theano's `ignore_border=False`). With 2x2
 * windows moved by 2 that all lie inside the plane (the tutorial's case) a straight-line
 * path is taken.
 *
 * @param out Output `[N, C, outH, outW]`, overwritten.
 * @param argmax Index into `x` of each output's maximum, overwritten.
 * @param x Input planes, laid out as `g` says.
 * @param g Geometry.
 * @param bias `[C]` added to the input before the max, or null.
 * @param act Activation applied to the maximum, or null.
 * @param ties For Theano's tie rule, the tie masks of {@linkcode scatterMax}
 *   (`tieWords(poolH, poolW)` words per output), overwritten; null for the first-maximum rule.
 */
export function maxPoolForward(
  out: Float32Array,
  argmax: Int32Array,
  x: Float32Array,
  g: PoolGeometry,
  bias: Float32Array | null,
  act: Activation,
  ties: Uint32Array | null = null,
): void {
  const { batch: N, channels: C, height: H, width: W, poolH: PH, poolW: PW } = g;
  const { strideH: SH, strideW: SW, outH: OH, outW: OW, nStride, cStride } = g;
  const R = g.rowStride ?? W;
  const fast2x2 = PH === 2 && PW === 2 && SH === 2 && SW === 2 && 2 * OH <= H && 2 * OW <= W;
  const outP = OH * OW;
  for (let c = 0; c < C; c++) {
    const b = bias === null ? 0 : bias[c];
    for (let n = 0; n < N; n++) {
      const base = n * nStride + c * cStride;
      let k = (n * C + c) * outP;
      if (fast2x2) {
        // Branch-free: the max of 4 random values mispredicts ~1.5 branches per window, which
        // costs more than the rest of the loop. A comparison as a number (0 or 1) selects by
        // arithmetic; the pairwise order (v0 v1) (v2 v3) keeps the first maximum on ties.
        for (let py = 0; py < OH; py++) {
          let i0 = base + 2 * py * R;
          for (let px = 0; px < OW; px++, i0 += 2) {
            const v0 = Math.fround(x[i0] + b), v1 = Math.fround(x[i0 + 1] + b);
            const v2 = Math.fround(x[i0 + R] + b), v3 = Math.fround(x[i0 + R + 1] + b);
            const s1 = +(v1 > v0), s3 = +(v3 > v2);
            const m01 = s1 * v1 + (1 - s1) * v0, m23 = s3 * v3 + (1 - s3) * v2;
            const s = +(m23 > m01);
            const m = s * m23 + (1 - s) * m01;
            out[k] = m;
            const a = i0 + s * (R + s3) + (1 - s) * s1;
            if (ties !== null) {
              const t = x[a]; // ties of the input itself, as Theano compares them
              ties[k] = +(x[i0] === t) | (+(x[i0 + 1] === t) << 1) | (+(x[i0 + R] === t) << 2) |
                (+(x[i0 + R + 1] === t) << 3);
            }
            argmax[k++] = a;
          }
        }
      } else {
        for (let py = 0; py < OH; py++) {
          const r0 = py * SH, r1 = Math.min(r0 + PH, H);
          for (let px = 0; px < OW; px++) {
            const c0 = px * SW, c1 = Math.min(c0 + PW, W);
            let best = base + r0 * R + c0;
            let bestV = Math.fround(x[best] + b);
            for (let r = r0; r < r1; r++) {
              const row = base + r * R;
              for (let col = c0; col < c1; col++) {
                const v = Math.fround(x[row + col] + b);
                if (v > bestV) (bestV = v), (best = row + col);
              }
            }
            out[k] = bestV;
            if (ties !== null) {
              const words = ties.length / argmax.length, at = k * words;
              ties.fill(0, at, at + words);
              for (let r = r0; r < r1; r++) {
                const row = base + r * R;
                for (let col = c0; col < c1; col++) {
                  if (x[row + col] === x[best]) {
                    const j = (r - r0) * PW + (col - c0);
                    ties[at + (j >>> 5)] |= 1 << (j & 31);
                  }
                }
              }
            }
            argmax[k++] = best;
          }
        }
      }
    }
  }
  // a separate pass: tanh inside the loop above measured 2x slower than after it
  activateInPlace(act, out, N * C * outP);
}
