/**
 * Shared by the native sections of the op tests (`tests/<op>_test.ts`): the CBLAS library, or
 * null where none can be loaded (tests that need it are then ignored, with one line saying
 * why), the tolerances, random inputs and the `cpu/` activations a fused stage is compared with.
 *
 * Inputs are float32 on both sides. Tolerances (|a - e| <= atol + rtol·|e|):
 *   forward  rtol 1e-4, atol 1e-5   (float32 GEMM sums vs the reference's float64 sums)
 *   backward rtol 1e-3, atol 1e-4   (weight gradients sum up to N·OH·OW products)
 *
 * @module
 */
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { reluBackward, reluForward } from "../cpu/relu.ts";
import type { RandomState } from "../src/random.ts";
import { type Blas, tryLoadBlas } from "../src/backends/native/blas.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";

const probe = tryLoadBlas();
/** The CBLAS library, or null where none can be loaded (or without --allow-ffi). */
export const blas: Blas | null = "blas" in probe ? probe.blas : null;
if (!blas) {
  console.log(`native op tests skipped, no BLAS: ${(probe as { error: Error }).error.message}`);
}
/** True where the tests that need BLAS are skipped. */
export const ignore = blas === null;

/** Forward tolerance. */
export const FWD = { rtol: 1e-4, atol: 1e-5 };
/** Backward tolerance. */
export const BWD = { rtol: 1e-3, atol: 1e-4 };

/** `n` uniform float32 values in [lo, hi). */
export function rand(rng: RandomState, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from(rng.uniform(lo, hi, n));
}

/** The `cpu/` forward of an activation (null: identity). */
export function act(kind: Activation, y: Float32Array, x: Float32Array): void {
  if (kind === "tanh") tanhForward(y, x);
  else if (kind === "sigmoid") sigmoidForward(y, x);
  else if (kind === "relu") reluForward(y, x);
  else y.set(x);
}

/** The `cpu/` backward of an activation, from its output `y` (null: identity). */
export function actBack(
  kind: Activation,
  dx: Float32Array,
  dy: Float32Array,
  y: Float32Array,
): void {
  if (kind === "tanh") tanhBackward(dx, dy, y);
  else if (kind === "sigmoid") sigmoidBackward(dx, dy, y);
  else if (kind === "relu") reluBackward(dx, dy, y);
  else dx.set(dy);
}
