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
  if (i >= 0) {
    throw new RangeError(`${what}: value ${describe(values[i])} at index ${i} is not finite`);
  }
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a plain array";
  if (typeof v === "object") return (v as object).constructor?.name ?? "an object";
  return typeof v;
}

/**
 * Shows a value given to the API in an error message, exactly and with its type when it is
 * not a number: numbers as they print, strings quoted, arrays by their elements (the first 8).
 *
 * @param v Any value.
 * @returns E.g. `1.5`, `null`, `"0.5" (a string)`, `true (a boolean)`, `["3", 3]`, `an object`.
 *
 * @example
 * ```ts
 * import { describe } from "./validate.ts";
 * console.log(describe("0"), describe(null), describe([2, "3"])); // "0" (a string) null [2, "3"]
 * ```
 */
export function describe(v: unknown): string {
  if (typeof v === "number" || v === null || v === undefined) return String(v);
  if (typeof v === "string") return `${JSON.stringify(v)} (a string)`;
  if (typeof v === "boolean") return `${v} (a boolean)`;
  if (typeof v === "bigint") return `${v}n (a bigint)`;
  if (Array.isArray(v)) {
    const shown = v.slice(0, 8).map((x) => typeof x === "string" ? JSON.stringify(x) : describe(x));
    return `[${shown.join(", ")}${v.length > 8 ? `, ... (${v.length} elements)` : ""}]`;
  }
  if (typeof v === "object") {
    const name = Object.getPrototypeOf(v)?.constructor?.name;
    return !name || name === "Object" ? "an object" : `a ${name}`;
  }
  return `a ${typeof v}`;
}

/** The ranges a real-valued option may be asked to lie in; every one is finite. */
export type NumberRange = "positive" | "non-negative" | "[0, 1)" | "(0, 1]";

const RANGES: Record<NumberRange, { text: string; holds: (x: number) => boolean }> = {
  "positive": { text: "a positive number", holds: (x) => x > 0 },
  "non-negative": { text: "a non-negative number", holds: (x) => x >= 0 },
  "[0, 1)": { text: "a number in [0, 1)", holds: (x) => x >= 0 && x < 1 },
  "(0, 1]": { text: "a number in (0, 1]", holds: (x) => x > 0 && x <= 1 },
};

/**
 * Checks a real-valued option: a finite `number` in `range`. An optional option (one with a
 * `fallback`) may be `undefined`, never `null`.
 *
 * @param v The value given.
 * @param what Names the call and option, e.g. `Dropout: rate`.
 * @param range Where the value must lie.
 * @param fallback The default, when the option may be left out.
 * @returns The value, or `fallback` when `v` is undefined.
 * @throws {TypeError} When `v` is not a number (a string, null...).
 * @throws {RangeError} When it is NaN, infinite or out of range.
 *
 * @example
 * ```ts
 * import { checkNumber } from "./validate.ts";
 * console.log(checkNumber(undefined, "Dropout: rate", "[0, 1)", 0)); // 0
 * try { checkNumber("0.5", "Dropout: rate", "[0, 1)"); } catch (e) { console.log((e as Error).message); }
 * // Dropout: rate must be a number in [0, 1), got "0.5" (a string)
 * ```
 */
export function checkNumber(
  v: unknown,
  what: string,
  range: NumberRange,
  fallback?: number,
): number {
  if (v === undefined && fallback !== undefined) return fallback;
  const { text, holds } = RANGES[range];
  if (typeof v !== "number") throw new TypeError(`${what} must be ${text}, got ${describe(v)}`);
  if (!Number.isFinite(v) || !holds(v)) throw new RangeError(`${what} must be ${text}, got ${v}`);
  return v;
}

/**
 * Checks an integer option: a `number` that is an integer in `[min, max]`. An optional option
 * (one with a `fallback`) may be `undefined`, never `null`.
 *
 * @param v The value given.
 * @param what Names the call and option, e.g. `Dense: units`.
 * @param bounds The smallest and (default: none) largest value allowed.
 * @param fallback The default, when the option may be left out.
 * @returns The value, or `fallback` when `v` is undefined.
 * @throws {TypeError} When `v` is not a number.
 * @throws {RangeError} When it is not an integer, or out of range.
 *
 * @example
 * ```ts
 * import { checkInteger } from "./validate.ts";
 * try { checkInteger(2.5, "Dense: units", { min: 1 }); } catch (e) { console.log((e as Error).message); }
 * // Dense: units must be a positive integer, got 2.5
 * ```
 */
export function checkInteger(
  v: unknown,
  what: string,
  bounds: { min: number; max?: number },
  fallback?: number,
): number {
  if (v === undefined && fallback !== undefined) return fallback;
  const { min, max = Infinity } = bounds;
  const text = max < Infinity
    ? `an integer in [${min}, ${max}]`
    : min === 1
    ? "a positive integer"
    : min === 0
    ? "a non-negative integer"
    : `an integer >= ${min}`;
  if (typeof v !== "number") throw new TypeError(`${what} must be ${text}, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${what} must be ${text}, got ${v}`);
  }
  return v;
}

/**
 * Checks a boolean option: `true` or `false`, not a truthy or falsy stand-in (`"false"`, 0).
 *
 * @param v The value given.
 * @param what Names the call and option, e.g. `MaxPool2D: ignoreBorder`.
 * @param fallback The default, when `v` is undefined.
 * @returns The value, or `fallback`.
 * @throws {TypeError} When `v` is anything else, null included.
 *
 * @example
 * ```ts
 * import { checkBoolean } from "./validate.ts";
 * try { checkBoolean("false", "MaxPool2D: ignoreBorder", true); }
 * catch (e) { console.log((e as Error).message); }
 * // MaxPool2D: ignoreBorder must be true or false, got "false" (a string)
 * ```
 */
export function checkBoolean(v: unknown, what: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") {
    throw new TypeError(`${what} must be true or false, got ${describe(v)}`);
  }
  return v;
}

/**
 * Checks an option that names one of a few choices.
 *
 * @param v The value given.
 * @param what Names the call and option, e.g. `MaxPool2D: ties`.
 * @param choices The allowed strings.
 * @param fallback The default, when the option may be left out.
 * @returns The value, or `fallback` when `v` is undefined.
 * @throws {TypeError} When `v` is not a string.
 * @throws {RangeError} When it is another string.
 *
 * @example
 * ```ts
 * import { checkChoice } from "./validate.ts";
 * try { checkChoice("max", "MaxPool2D: ties", ["first", "all"], "first"); }
 * catch (e) { console.log((e as Error).message); }
 * // MaxPool2D: ties must be "first" or "all", got "max"
 * ```
 */
export function checkChoice<T extends string>(
  v: unknown,
  what: string,
  choices: readonly T[],
  fallback?: T,
): T {
  if (v === undefined && fallback !== undefined) return fallback;
  const quoted = choices.map((c) => `"${c}"`);
  const text = quoted.length > 1
    ? `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`
    : quoted.join("");
  if (typeof v !== "string") throw new TypeError(`${what} must be ${text}, got ${describe(v)}`);
  if (!choices.includes(v as T)) {
    throw new RangeError(`${what} must be ${text}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/**
 * Checks an optional string option (a layer's name, a path): undefined, or a non-empty string.
 *
 * @param v The value given.
 * @param what Names the call and option, e.g. `Conv2D: name`.
 * @returns The string, or undefined.
 * @throws {TypeError} When `v` is not a string (null included), or is empty.
 *
 * @example
 * ```ts
 * import { checkString } from "./validate.ts";
 * console.log(checkString("conv_a", "Conv2D: name"), checkString(undefined, "Conv2D: name"));
 * // conv_a undefined
 * ```
 */
export function checkString(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new TypeError(`${what} must be a non-empty string, got ${describe(v)}`);
  }
  return v;
}

/**
 * Checks that an options argument is an object (not null, an array or a bare number such as
 * `new Dropout(0.5)`); an optional one may be undefined.
 *
 * @param v The value given.
 * @param what Names the call, e.g. `Dropout`.
 * @param optional Whether `v` may be undefined.
 * @throws {TypeError} When it is anything else.
 *
 * @example
 * ```ts
 * import { checkOptions } from "./validate.ts";
 * try { checkOptions(0.5, "Dropout", false); } catch (e) { console.log((e as Error).message); }
 * // Dropout: options must be an object, got 0.5
 * ```
 */
export function checkOptions(v: unknown, what: string, optional: boolean): void {
  if (v === undefined && optional) return;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${what}: options must be an object, got ${describe(v)}`);
  }
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
 * @throws {TypeError} When `labels` is not array-like, or a label is not a number (the
 *   message quotes it and names its type and index).
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
      const message = `${what}: label ${
        describe(v)
      } at index ${i} is not an integer in [0, ${classes})`;
      throw typeof v === "number" ? new RangeError(message) : new TypeError(message);
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
  for (const [name, v, min] of [["start", start, 0], ["count", count, 1]] as const) {
    if (!Number.isInteger(v) || v < min) {
      const message = `${what}: ${name} must be an integer >= ${min}, got ${describe(v)}`;
      throw typeof v === "number" ? new RangeError(message) : new TypeError(message);
    }
  }
  if (start + count > size) {
    throw new RangeError(
      `${what}: samples [${start}, ${start + count}) are outside the dataset of ${size}`,
    );
  }
}
