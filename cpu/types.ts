/**
 * The element types every CPU reference op accepts: tests run the ops in float64 (for
 * finite-difference gradient checks), the training backend in float32.
 *
 * @module
 */

/** A flat, row-major tensor of floats: Float32Array or Float64Array. */
export type FloatArray = Float32Array | Float64Array;
