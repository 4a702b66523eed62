/**
 * The native pointwise activations (`src/backends/native/pointwise.ts`): relu's forward on
 * the float bits, on edge values and a subarray. tanh and sigmoid are checked fused into the
 * conv2d, dense, maxpool2d and batchnorm stages, in those tests. Needs no BLAS.
 */
import assert from "node:assert/strict";
import { activateInPlace, activationBackward } from "../src/backends/native/pointwise.ts";

Deno.test("native relu: the bit trick is x < 0 ? 0 : x (NaN stays, -Inf gives 0), on a subarray", () => {
  const buf = Float32Array.of(-3, -1, NaN, -Infinity, Infinity, -0, 2, 1e-45, -1e-45, -5);
  const y = buf.subarray(1, 9);
  activateInPlace("relu", y, y.length);
  assert.deepEqual([...buf], [-3, 0, NaN, 0, Infinity, 0, 2, Math.fround(1e-45), 0, -5]);
  const dx = new Float32Array(3);
  activationBackward("relu", dx, Float32Array.of(5, 6, 7), Float32Array.of(0, 2, 1e-45), 3);
  assert.deepEqual([...dx], [0, 6, 7]);
});
