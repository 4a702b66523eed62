/**
 * Input validation, in one place: what the public API (`Sequential`, `Dataset`) accepts is
 * checked here once, and the executors trust what the model hands them. Wrong types throw
 * `TypeError`, out-of-range values `RangeError`; every message names the call, the argument,
 * the index and the value.
 *
 * Also home of {@link NonFiniteError}, the one way a training step reports that the loss or
 * a parameter stopped being a finite number, on every backend.
 *
 * @module
 */

/**
 * A training step made the loss or a parameter non-finite (NaN or ±Infinity). Thrown
 * (the step's promise rejects) the same way on `cpu`, `native` and `webgpu`.
 *
 * On WebGPU the check runs on the device (exponent bits of the loss and of every updated
 * parameter) and its flag comes back with the loss, in the same 8-byte readback. A step run
 * with `readLoss: false` reads nothing back, so its flag stays on the device and is reported
 * by the next step that reads the loss: {@link NonFiniteError.firstStep} then says from which
 * step on it may have happened. `cpu` and `native` report it at the step itself.
 *
 * @example Catch a diverging step
 * ```ts
 * import { NonFiniteError } from "./validate.ts";
 * const e = new NonFiniteError({ step: 3, firstStep: 3, loss: false, tensors: ["conv0.weight"] });
 * console.log(e instanceof NonFiniteError, e.message);
 * // true "step 3 made parameters non-finite (conv0.weight): ..."
 * ```
 */
export class NonFiniteError extends Error {
  /** The model's step count (1-based) of the step that reported it. */
  readonly step: number;
  /** The earliest step it may have happened in (`step` unless steps skipped the readback). */
  readonly firstStep: number;
  /** True when the loss itself was non-finite. */
  readonly loss: boolean;
  /** The parameter tensors that hold non-finite values (empty when only the loss was). */
  readonly tensors: string[];

  /**
   * Builds the error and its message from what the step's check found.
   *
   * @param info The step, the first step it may come from, whether the loss was non-finite,
   *   the names of the non-finite parameter tensors.
   */
  constructor(info: { step: number; firstStep: number; loss: boolean; tensors: string[] }) {
    const when = info.firstStep < info.step
      ? `one of steps ${info.firstStep}..${info.step} (steps run with readLoss false are checked at the next read)`
      : `step ${info.step}`;
    const what = [
      info.loss ? "the loss" : "",
      info.tensors.length ? `parameters (${info.tensors.join(", ")})` : "",
    ].filter(Boolean).join(" and ");
    super(
      `${when} made ${what || "values"} non-finite: training diverged; ` +
        `try a smaller learning rate`,
    );
    this.name = "NonFiniteError";
    this.step = info.step;
    this.firstStep = info.firstStep;
    this.loss = info.loss;
    this.tensors = info.tensors;
  }
}

/**
 * Index of the first non-finite value (NaN, ±Infinity) of `values`, or -1.
 *
 * @param values Numbers to scan.
 * @returns The index, or -1 when all are finite.
 *
 * @example
 * ```ts
 * import { firstNonFinite } from "./validate.ts";
 * console.log(firstNonFinite(Float32Array.of(1, NaN)), firstNonFinite([1, 2])); // 1 -1
 * ```
 */
export function firstNonFinite(values: ArrayLike<number>): number {
  if (values instanceof Float32Array) {
    // Exponent bits all ones is NaN or +-Inf; a monomorphic integer loop (a parameter scan
    // per training step must cost well under a millisecond).
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
    return -1;
  }
  // A sum of x * 0 is NaN exactly when some x is NaN or infinite: one cheap pass first.
  let probe = 0;
  for (let i = 0; i < values.length; i++) probe += values[i] * 0;
  if (probe === 0) return -1;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/**
 * Throws a `RangeError` when `values` holds a NaN or an infinity, naming `what` and the index.
 *
 * @param values Numbers to scan.
 * @param what Names the values in the message, e.g. `setWeights: "conv0.weight"`.
 *
 * @example
 * ```ts
 * import { checkFinite } from "./validate.ts";
 * checkFinite(Float32Array.of(1, 2), "x"); // fine
 * try { checkFinite([0, Infinity], "x"); } catch (e) { console.log((e as Error).message); }
 * // "x: value Infinity at index 1 is not finite"
 * ```
 */
export function checkFinite(values: ArrayLike<number>, what: string): void {
  const i = firstNonFinite(values);
  if (i >= 0) throw new RangeError(`${what}: value ${values[i]} at index ${i} is not finite`);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a plain array";
  if (typeof v === "object") return (v as object).constructor?.name ?? "an object";
  return typeof v;
}

/**
 * Checks model inputs: a `Float32Array` of finite values, `count * sampleSize` long.
 *
 * @param x The input values.
 * @param what Names the call and argument in messages, e.g. `trainStep: input`.
 * @returns `x` itself.
 * @throws {TypeError} When `x` is not a Float32Array (a plain array, a Float64Array...).
 * @throws {RangeError} When a value is NaN or infinite.
 *
 * @example
 * ```ts
 * import { checkInputValues } from "./validate.ts";
 * try { checkInputValues([0.5], "trainStep: input"); } catch (e) { console.log((e as Error).message); }
 * // "trainStep: input must be a Float32Array, got a plain array (convert with new Float32Array(x))"
 * ```
 */
export function checkInputValues(x: unknown, what: string): Float32Array {
  if (!(x instanceof Float32Array)) {
    throw new TypeError(
      `${what} must be a Float32Array, got ${typeName(x)} (convert with new Float32Array(x))`,
    );
  }
  checkFinite(x, what);
  return x;
}

/**
 * Checks class labels: an array-like of `count` integers in `[0, classes)`.
 *
 * @param labels The labels (any array-like of numbers).
 * @param count How many are expected (undefined: any number).
 * @param classes The number of classes.
 * @param what Names the call in messages.
 * @returns The labels as a new Int32Array.
 * @throws {TypeError} When `labels` is not array-like.
 * @throws {RangeError} When the count differs, or a label is not an integer in range (the
 *   message names its index and value).
 *
 * @example
 * ```ts
 * import { checkLabels } from "./validate.ts";
 * console.log(checkLabels([3, 1], 2, 10, "evaluate")); // Int32Array(2) [ 3, 1 ]
 * try { checkLabels([3, 1.5], 2, 10, "evaluate"); } catch (e) { console.log((e as Error).message); }
 * // "evaluate: label 1.5 at index 1 is not an integer in [0, 10)"
 * ```
 */
export function checkLabels(
  labels: unknown,
  count: number | undefined,
  classes: number,
  what: string,
): Int32Array {
  if (
    labels === null || typeof labels !== "object" ||
    typeof (labels as ArrayLike<number>).length !== "number"
  ) {
    throw new TypeError(
      `${what}: labels must be an array of class indices, got ${typeName(labels)}`,
    );
  }
  const l = labels as ArrayLike<number>;
  if (count !== undefined && l.length !== count) {
    throw new RangeError(`${what}: ${count} samples but ${l.length} labels`);
  }
  const out = new Int32Array(l.length);
  for (let i = 0; i < l.length; i++) {
    const v = l[i];
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
      throw new RangeError(
        `${what}: label ${String(v)} at index ${i} is not an integer in [0, ${classes})`,
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * Checks the images of a dataset: bytes, or finite floats, `count * sampleSize` of them.
 * When their number is a whole multiple of `count` but of another size per sample, the
 * message says so (e.g. 32x32 images for a model of 28x28).
 *
 * @param images The images.
 * @param count Number of samples (the number of labels).
 * @param inputShape The model's shape of one sample.
 * @param what Names the call in messages.
 * @returns `images` itself.
 *
 * @example
 * ```ts
 * import { checkImages } from "./validate.ts";
 * try { checkImages(new Uint8Array(2 * 1024), 2, [1, 28, 28], "createDataset"); }
 * catch (e) { console.log((e as Error).message); }
 * // "createDataset: wrong image size: 2 labels and 2048 image values make 1024 values per image (32x32), ..."
 * ```
 */
export function checkImages(
  images: unknown,
  count: number,
  inputShape: readonly number[],
  what: string,
): Uint8Array | Float32Array {
  if (!(images instanceof Uint8Array) && !(images instanceof Float32Array)) {
    throw new TypeError(
      `${what}: images must be a Uint8Array (bytes) or a Float32Array, got ${typeName(images)}`,
    );
  }
  const sample = inputShape.reduce((a, b) => a * b, 1);
  if (count < 1) throw new RangeError(`${what}: a dataset needs at least one sample, got 0 labels`);
  if (images.length !== count * sample) {
    const per = images.length / count;
    const channels = inputShape.length === 3 ? inputShape[0] : 1;
    const side = Math.sqrt(per / channels);
    if (Number.isInteger(per) && per > 0) {
      throw new RangeError(
        `${what}: wrong image size: ${count} labels and ${images.length} image values make ` +
          `${per} values per image${Number.isInteger(side) ? ` (${side}x${side})` : ""}, ` +
          `but the model takes [${inputShape.join(", ")}] = ${sample} values per sample`,
      );
    }
    throw new RangeError(
      `${what}: ${count} labels need ${count} samples of [${inputShape.join(", ")}] = ${
        count * sample
      } values, got ${images.length}`,
    );
  }
  if (images instanceof Float32Array) checkFinite(images, `${what}: images`);
  return images;
}

/**
 * Checks a slice `[start, start + count)` of a dataset of `size` samples.
 *
 * @param start First sample.
 * @param count Number of samples (at least 1).
 * @param size Samples in the dataset.
 * @param what Names the call in messages.
 *
 * @example
 * ```ts
 * import { checkSlice } from "./validate.ts";
 * try { checkSlice(0, 20, 16, "evaluateDataset"); } catch (e) { console.log((e as Error).message); }
 * // "evaluateDataset: samples [0, 20) are outside the dataset of 16"
 * ```
 */
export function checkSlice(start: number, count: number, size: number, what: string): void {
  if (!Number.isInteger(start) || start < 0) {
    throw new RangeError(`${what}: start must be an integer >= 0, got ${start}`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`${what}: count must be an integer >= 1, got ${count}`);
  }
  if (start + count > size) {
    throw new RangeError(
      `${what}: samples [${start}, ${start + count}) are outside the dataset of ${size}`,
    );
  }
}
