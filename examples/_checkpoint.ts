/**
 * The one checkpoint reader of the training examples (`lenet.ts` through `_training_state.ts`,
 * and `modern.ts`): it reads the safetensors file, checks its format, refuses non-finite
 * tensors, parses the JSON metadata and checks every field, each error naming the file and the
 * key (`ck.safetensors: settings.width must be a positive integer, got 0`).
 *
 * @module
 */
import type { Tensor } from "../mod.ts";
import { loadCheckpoint } from "../src/checkpoint_deno.ts";
import { firstNonFinite } from "../src/validate.ts";

/** What a metadata field must be: the words for messages and the test. */
export interface Check<T> {
  /** E.g. "a positive integer", read as "must be a positive integer". */
  what: string;
  /** True when `v` is acceptable. */
  ok: (v: unknown) => v is T;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** A number for which `test` holds, described as `what`. */
export function numberCheck(what: string, test: (x: number) => boolean): Check<number> {
  return { what, ok: (v): v is number => isNumber(v) && test(v) };
}

/** An integer >= 1. */
export const positiveInt: Check<number> = numberCheck(
  "a positive integer",
  (x) => Number.isInteger(x) && x >= 1,
);
/** An integer >= 0. */
export const count: Check<number> = numberCheck(
  "an integer >= 0",
  (x) => Number.isInteger(x) && x >= 0,
);
/** A finite number > 0. */
export const positive: Check<number> = numberCheck("a positive number", (x) => x > 0);
/** An error rate, in [0, 1]. */
export const fraction: Check<number> = numberCheck("in [0, 1]", (x) => x >= 0 && x <= 1);
/** A seed of RandomState: an integer in [0, 2^32). */
export const seed: Check<number> = numberCheck(
  "an integer in [0, 2^32)",
  (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32,
);
/** `true` or `false`. */
export const boolean: Check<boolean> = {
  what: "true or false",
  ok: (v): v is boolean => typeof v === "boolean",
};

/** One of the given strings. */
export function oneOf<T extends string>(...values: T[]): Check<T> {
  return {
    what: values.map((v) => JSON.stringify(v)).join(" or "),
    ok: (v): v is T => values.includes(v as T),
  };
}

/** What `check` accepts, or null. */
export function orNull<T>(check: Check<T>): Check<T | null> {
  return { what: `${check.what} or null`, ok: (v): v is T | null => v === null || check.ok(v) };
}

/** What `check` accepts, or nothing (the key left out, as older formats do). */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return { what: check.what, ok: (v): v is T | undefined => v === undefined || check.ok(v) };
}

/** The values a schema of checks describes. */
export type Fields<S> = { [K in keyof S]: S[K] extends Check<infer T> ? T : never };

/**
 * Checks the fields of a metadata object, in the schema's order.
 *
 * @param path The checkpoint, for messages.
 * @param key The metadata key the object came from, e.g. "settings".
 * @param json The object, from {@link metadataJson}.
 * @param schema A check per field.
 * @returns The fields the schema names (others are left out).
 * @throws {Error} On the first missing or wrong field, naming the file, `key.field`, what it
 *   must be and what it is.
 */
export function readFields<S extends Record<string, Check<unknown>>>(
  path: string,
  key: string,
  json: Record<string, unknown>,
  schema: S,
): Fields<S> {
  const out: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(schema)) {
    const v = json[name];
    if (!check.ok(v)) {
      throw new Error(
        v === undefined
          ? `${path}: ${key}.${name} is missing (it must be ${check.what})`
          : `${path}: ${key}.${name} must be ${check.what}, got ${JSON.stringify(v)}`,
      );
    }
    if (v !== undefined) out[name] = v;
  }
  return out as Fields<S>;
}

/**
 * Parses the JSON object stored under metadata key `key`.
 *
 * @param path The checkpoint, for messages.
 * @param metadata The checkpoint's metadata.
 * @param key The key, e.g. "state".
 * @returns The object.
 * @throws {Error} When the key is missing or its text is not a JSON object, naming both.
 */
export function metadataJson(
  path: string,
  metadata: Record<string, string>,
  key: string,
): Record<string, unknown> {
  const text = metadata[key];
  if (text === undefined) {
    throw new Error(`${path} has no "${key}" in its metadata (was it written by --save?)`);
  }
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new Error(`not an object: ${text.slice(0, 40)}`);
    }
    return v;
  } catch (e) {
    throw new Error(
      `${path}: corrupt "${key}" metadata (not the JSON --save writes): ${(e as Error).message}`,
    );
  }
}

/** A checkpoint read back, before its metadata is checked. */
export interface RawCheckpoint {
  /** The format found (one of those asked for). */
  format: string;
  /** All the metadata, as stored. */
  metadata: Record<string, string>;
  /** The tensors outside the optimiser's prefix: parameters and state of the layers. */
  weights: Record<string, Tensor>;
  /** The tensors under the optimiser's prefix, the prefix removed; null when there are none. */
  optimizer: Record<string, Tensor> | null;
}

/**
 * Reads a checkpoint of one of `formats` and splits its tensors.
 *
 * @param path The checkpoint file.
 * @param formats The formats this example reads (its metadata key `format`), newest first.
 * @param optimizerPrefix The prefix of the optimiser state's tensors, e.g. "optimizer.".
 * @returns The format, metadata, weights and optimiser state.
 * @throws {Error} On an unreadable file, another format or a non-finite tensor, naming the file.
 */
export async function readCheckpoint(
  path: string,
  formats: string[],
  optimizerPrefix: string,
): Promise<RawCheckpoint> {
  const { tensors, metadata } = await loadCheckpoint(path);
  const format = metadata.format ?? "unknown";
  if (!formats.includes(format)) {
    throw new Error(
      `${path}: unknown checkpoint format "${format}" (expected ${formats.join(" or ")}): ` +
        `not a checkpoint of this example`,
    );
  }
  const weights: Record<string, Tensor> = {};
  let optimizer: Record<string, Tensor> | null = null;
  for (const [name, t] of Object.entries(tensors)) {
    const i = firstNonFinite(t.data);
    if (i >= 0) {
      throw new Error(
        `${path}: tensor "${name}" holds ${t.data[i]} at index ${i}: refusing a checkpoint ` +
          `with non-finite values`,
      );
    }
    if (name.startsWith(optimizerPrefix)) {
      (optimizer ??= {})[name.slice(optimizerPrefix.length)] = { shape: t.shape, data: t.data };
    } else {
      weights[name] = { shape: t.shape, data: t.data };
    }
  }
  return { format, metadata, weights, optimizer };
}
