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
 * Applies an activation in place to `y[0, len)`; same values as `cpu/tanh.ts` and
 * `cpu/sigmoid.ts`.
 *
 * @param act The activation; null does nothing.
 * @param y Values, overwritten.
 * @param len Number of values.
 */
export function activateInPlace(act: Activation, y: Float32Array, len: number): void {
  if (act === "tanh") {
    for (let k = 0; k < len; k++) y[k] = Math.tanh(y[k]);
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

/** Geometry of a pooling over `planes` planes of `height x width`. */
export interface PoolGeometry {
  planes: number;
  height: number;
  width: number;
  poolH: number;
  poolW: number;
  outH: number;
  outW: number;
}

/**
 * Max pooling with per-plane bias, recording the argmax: for output plane `q`, reads input
 * plane `inPlane(q)` (offset into `x`), writes `out[q·OH·OW + …] = max(fround(x + bias[q % C]))`
 * and `argmax[…]` = the index into `x` of the first maximum in row-major window order
 * (strict `>`), as `cpu/maxpool2d.ts`. Partial windows at the border are kept when
 * `outH·poolH > height` (Theano's `ignore_border=False`).
 *
 * @param out Output planes, overwritten.
 * @param argmax Index into `x` of each output's maximum, overwritten.
 * @param x Input.
 * @param g Geometry.
 * @param inPlane Offset into `x` of output plane q's input plane.
 * @param bias Added to the input before the max (null: none).
 * @param biasOf Index into `bias` for output plane q.
 */
export function maxPoolForward(
  out: Float32Array,
  argmax: Int32Array,
  x: Float32Array,
  g: PoolGeometry,
  inPlane: (q: number) => number,
  bias: Float32Array | null,
  biasOf: (q: number) => number,
): void {
  const { planes, height: H, width: W, poolH: PH, poolW: PW, outH: OH, outW: OW } = g;
  let k = 0;
  for (let q = 0; q < planes; q++) {
    const base = inPlane(q);
    const b = bias === null ? 0 : bias[biasOf(q)];
    for (let py = 0; py < OH; py++) {
      const r0 = py * PH, r1 = Math.min(r0 + PH, H);
      for (let px = 0; px < OW; px++) {
        const c0 = px * PW, c1 = Math.min(c0 + PW, W);
        let best = base + r0 * W + c0;
        let bestV = Math.fround(x[best] + b);
        for (let r = r0; r < r1; r++) {
          const row = base + r * W;
          for (let c = c0; c < c1; c++) {
            const v = Math.fround(x[row + c] + b);
            if (v > bestV) {
              bestV = v;
              best = row + c;
            }
          }
        }
        out[k] = bestV;
        argmax[k++] = best;
      }
    }
  }
}
