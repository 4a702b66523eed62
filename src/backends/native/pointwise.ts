/**
 * The element-wise and pooling loops of the native backend, on Float32Array ranges:
 * activations (forward in place, backward from the forward output), bias sums, and max
 * pooling that records where each maximum came from so backward is a scatter.
 *
 * @module
 */

/** An activation fused after a layer, or none. */
export type Activation = "tanh" | "sigmoid" | null;

/**
 * tanh to float32 accuracy (relative error < 3e-7, about 2 ulp of float32), 3-5x faster than
 * `Math.tanh` in V8: Eigen's rational approximation `x·P(x²)/Q(x²)` on [-7.9, 7.9], its value
 * at 7.9 up to 9, and ±1 beyond (where float32 tanh is ±1).
 *
 * @param x The argument.
 * @returns tanh(x).
 */
export function tanh(x: number): number {
  if (x > 7.90531110763549805) return x > 9 ? 1 : 0.9999997368879;
  if (x < -7.90531110763549805) return x < -9 ? -1 : -0.9999997368879;
  const x2 = x * x;
  let p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = x2 * p - 8.60467152213735e-11;
  p = x2 * p + 5.12229709037114e-8;
  p = x2 * p + 1.48572235717979e-5;
  p = x2 * p + 6.37261928875436e-4;
  p = x2 * p + 4.89352455891786e-3;
  let q = x2 * 1.19825839466702e-6 + 1.18534705686654e-4;
  q = x2 * q + 2.26843463243900e-3;
  q = x2 * q + 4.89352518554385e-3;
  return x * p / q;
}

/**
 * Applies an activation in place to `y[0, len)`: the values of `cpu/tanh.ts` (to float32
 * accuracy, see {@link tanh}) and `cpu/sigmoid.ts`.
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
  }
}

/**
 * `dPre[k] = dOut[k] · act'(x)` from the forward output `y`, for `k < len`; with no
 * activation a copy.
 *
 * @param act The activation.
 * @param dPre Gradient w.r.t. the activation's input, overwritten (may be `dOut`).
 * @param dOut Gradient w.r.t. the activation's output.
 * @param y The activation's output.
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
  /** Window height (= vertical stride). */
  poolH: number;
  /** Window width (= horizontal stride). */
  poolW: number;
  /** Output plane height. */
  outH: number;
  /** Output plane width. */
  outW: number;
  /** Offset between samples in the input. */
  nStride: number;
  /** Offset between channels in the input. */
  cStride: number;
}

/**
 * Max pooling, with an optional per-channel bias added first and an activation applied last:
 * `out[n, c, py, px] = act(max over the window of fround(x + bias[c]))`, NCHW, and
 * `argmax[…]` = the index into `x` of the FIRST maximum in row-major window order (strict
 * `>`), as `cpu/maxpool2d.ts`. Partial windows at the border are kept when `outH·poolH >
 * height` (Theano's `ignore_border=False`). With 2x2 windows that all lie inside the plane
 * (the tutorial's case) a straight-line path is taken.
 *
 * @param out Output `[N, C, outH, outW]`, overwritten.
 * @param argmax Index into `x` of each output's maximum, overwritten.
 * @param x Input planes, laid out as `g` says.
 * @param g Geometry.
 * @param bias `[C]` added to the input before the max, or null.
 * @param act Activation applied to the maximum, or null.
 */
export function maxPoolForward(
  out: Float32Array,
  argmax: Int32Array,
  x: Float32Array,
  g: PoolGeometry,
  bias: Float32Array | null,
  act: Activation,
): void {
  const { batch: N, channels: C, height: H, width: W, poolH: PH, poolW: PW } = g;
  const { outH: OH, outW: OW, nStride, cStride } = g;
  const fast2x2 = PH === 2 && PW === 2 && 2 * OH <= H && 2 * OW <= W;
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
          let i0 = base + 2 * py * W;
          for (let px = 0; px < OW; px++, i0 += 2) {
            const v0 = Math.fround(x[i0] + b), v1 = Math.fround(x[i0 + 1] + b);
            const v2 = Math.fround(x[i0 + W] + b), v3 = Math.fround(x[i0 + W + 1] + b);
            const s1 = +(v1 > v0), s3 = +(v3 > v2);
            const m01 = s1 * v1 + (1 - s1) * v0, m23 = s3 * v3 + (1 - s3) * v2;
            const s = +(m23 > m01);
            const m = s * m23 + (1 - s) * m01;
            out[k] = m;
            argmax[k++] = i0 + s * (W + s3) + (1 - s) * s1;
          }
        }
      } else {
        for (let py = 0; py < OH; py++) {
          const r0 = py * PH, r1 = Math.min(r0 + PH, H);
          for (let px = 0; px < OW; px++) {
            const c0 = px * PW, c1 = Math.min(c0 + PW, W);
            let best = base + r0 * W + c0;
            let bestV = Math.fround(x[best] + b);
            for (let r = r0; r < r1; r++) {
              const row = base + r * W;
              for (let col = c0; col < c1; col++) {
                const v = Math.fround(x[row + col] + b);
                if (v > bestV) (bestV = v), (best = row + col);
              }
            }
            out[k] = bestV;
            argmax[k++] = best;
          }
        }
      }
    }
  }
  // a separate pass: tanh inside the loop above measured 2x slower than after it
  activateInPlace(act, out, N * C * outP);
}
