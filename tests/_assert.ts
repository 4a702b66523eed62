/**
 * Assertion helpers shared by the CPU tests and the GPU parity tests (llm.c style: report the
 * first mismatches, with values, and the worst errors).
 *
 * @module
 */

/** Thrown by the assertions (a plain Error subclass: these helpers also run in a browser page). */
export class AssertionError extends Error {
  /** @param options `message`: what failed. */
  constructor(options: { message: string }) {
    super(options.message);
    this.name = "AssertionError";
  }
}

/** Options of {@linkcode assertAllClose}. */
export interface AllCloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Prefix of the failure message, e.g. the kernel name. */
  msg?: string;
  /** How many mismatching indices to list (default 5). */
  maxReport?: number;
}

/**
 * Asserts `|actual[i] - expected[i]| <= atol + rtol * |expected[i]|` for every i (numpy's
 * `allclose` rule, asymmetric: the tolerance scales with `expected`, the reference). NaN never
 * matches (not even NaN); equal infinities match. On failure the message lists the first
 * `maxReport` mismatching indices with both values, the number of mismatches, and the max
 * absolute and relative errors over the whole array.
 *
 * @param actual The values under test (e.g. read back from the GPU).
 * @param expected The reference values (e.g. the CPU reference).
 * @param options Tolerances and message.
 * @throws {AssertionError} If the lengths differ or an element is out of tolerance.
 */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: AllCloseOptions = {},
): void {
  const { rtol = 1e-5, atol = 1e-8, msg = "", maxReport = 5 } = options;
  const prefix = msg ? `${msg}: ` : "";
  if (actual.length !== expected.length) {
    throw new AssertionError({
      message: `${prefix}length mismatch: actual ${actual.length}, expected ${expected.length}`,
    });
  }
  let mismatches = 0;
  let maxAbs = 0;
  let maxRel = 0;
  const lines: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const abs = a === e ? 0 : Math.abs(a - e); // a === e covers equal infinities
    const ok = abs <= atol + rtol * Math.abs(e); // false for NaN
    if (!Number.isNaN(abs)) {
      maxAbs = Math.max(maxAbs, abs);
      if (e !== 0) maxRel = Math.max(maxRel, abs / Math.abs(e));
    }
    if (!ok) {
      if (mismatches < maxReport) lines.push(`  [${i}] actual ${a}, expected ${e}, |diff| ${abs}`);
      mismatches++;
    }
  }
  if (mismatches > 0) {
    throw new AssertionError({
      message: `${prefix}${mismatches} of ${expected.length} elements not close ` +
        `(atol ${atol}, rtol ${rtol}); max abs err ${maxAbs}, max rel err ${maxRel}\n` +
        lines.join("\n"),
    });
  }
}

/**
 * Asserts that `fn` throws an instance of `ErrorClass` whose message contains `substring`.
 *
 * @param fn The function expected to throw.
 * @param ErrorClass The expected error class, e.g. `RangeError`.
 * @param substring Text the message must contain.
 * @returns The error thrown, for further checks.
 * @throws {AssertionError} If `fn` does not throw, throws another class, or the message lacks `substring`.
 */
export function assertThrowsWith<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => E,
  substring: string,
): E {
  try {
    fn();
  } catch (err) {
    return checkError(err, ErrorClass, substring);
  }
  throw new AssertionError({ message: `expected ${ErrorClass.name} but nothing was thrown` });
}

/**
 * Async variant of {@linkcode assertThrowsWith}: asserts that `fn()` rejects (or throws) with an
 * instance of `ErrorClass` whose message contains `substring`.
 *
 * @param fn The async function expected to reject.
 * @param ErrorClass The expected error class.
 * @param substring Text the message must contain.
 * @returns The error, for further checks.
 * @throws {AssertionError} If `fn` resolves, or rejects with another class or message.
 */
export async function assertRejectsWith<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => E,
  substring: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    return checkError(err, ErrorClass, substring);
  }
  throw new AssertionError({ message: `expected ${ErrorClass.name} but the promise resolved` });
}

function checkError<E extends Error>(
  err: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => E,
  substring: string,
): E {
  if (!(err instanceof ErrorClass)) {
    const got = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new AssertionError({ message: `expected ${ErrorClass.name}, got ${got}` });
  }
  if (!err.message.includes(substring)) {
    throw new AssertionError({
      message:
        `expected ${ErrorClass.name} message to contain "${substring}", got "${err.message}"`,
    });
  }
  return err;
}
