/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors),
 * float32 tensors only.
 *
 * Layout: an 8-byte little-endian u64 `N`, then `N` bytes of UTF-8 JSON header
 * `{"__metadata__": {...}, "name": {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}, ...}` (padded with spaces to a multiple of 8
 * bytes), then the raw little-endian tensor data; offsets are relative to the
 * start of the data. {@linkcode encodeSafetensors} writes tensors in sorted-name
 * order, like the reference implementation.
 *
 * Runtime-agnostic: takes and returns `Uint8Array`s, uses no `Deno.*`.
 *
 * @module
 */

/** A float32 tensor to encode: its shape and row-major data. */
export interface TensorF32 {
  /** Dimensions, outermost first; `[]` is a scalar (one element). */
  shape: number[];
  /** Row-major data; its length must equal the product of `shape`. */
  data: Float32Array;
}

/** A decoded tensor. */
export interface DecodedTensor {
  /** Always `"F32"` (the only dtype supported). */
  dtype: "F32";
  /** Dimensions, outermost first. */
  shape: number[];
  /** A copy of the tensor's data (not a view into the file). */
  data: Float32Array;
}

/** The result of {@linkcode decodeSafetensors}. */
export interface DecodedSafetensors {
  /** The tensors by name. */
  tensors: Record<string, DecodedTensor>;
  /** The `__metadata__` string map (empty when the file has none). */
  metadata: Record<string, string>;
}

const METADATA_KEY = "__metadata__";
/** The reference implementation refuses headers over 100 MB; so do we. */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `JSON.parse` reviver: a number in an array (a shape, data offsets) that is not a safe
 * integer, which no valid shape or offset is, becomes its source text as raw JSON, so that the
 * error refusing it prints it exactly (`JSON.stringify` writes raw JSON as is) rather than
 * rounded (2^64 - 1 as 18446744073709552000). Where the runtime lacks `JSON.rawJSON` the
 * number stays as parsed.
 */
function exactNumbers(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  const raw = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;
  if (!Array.isArray(this) || typeof value !== "number" || Number.isSafeInteger(value)) {
    return value;
  }
  return raw && context?.source !== undefined ? raw(context.source) : value;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) &&
    shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0);
}

/**
 * Encodes float32 tensors (and optional string metadata) as a safetensors file.
 *
 * @param tensors The tensors by name (any name but `__metadata__`).
 * @param metadata Optional string-to-string metadata, stored as `__metadata__`
 *   (omitted when absent or empty; keys written in sorted order).
 * @returns The file bytes.
 * @throws {Error} When a shape is invalid, a tensor's data length does not match
 *   its shape, a name is `__metadata__`, or a metadata value is not a string.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(
 *   { w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
 *   { epoch: "1" },
 * );
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * console.log(tensors.w.shape, metadata.epoch); // [2, 2] "1"
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, TensorF32>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  // Entries go through a Map + Object.fromEntries so that any name (even "__proto__")
  // becomes an own property.
  const header = new Map<string, unknown>();
  if (metadata && Object.keys(metadata).length > 0) {
    const meta: [string, string][] = [];
    for (const k of Object.keys(metadata).sort()) {
      if (typeof metadata[k] !== "string") {
        throw new Error(`safetensors: metadata value for "${k}" is not a string`);
      }
      meta.push([k, metadata[k]]);
    }
    header.set(METADATA_KEY, Object.fromEntries(meta));
  }
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) {
      throw new Error(`safetensors: "${METADATA_KEY}" cannot be a tensor name`);
    }
    const t = tensors[name];
    if (!t || !(t.data instanceof Float32Array)) {
      throw new Error(`safetensors: tensor "${name}" has no Float32Array data`);
    }
    if (!isValidShape(t.shape)) {
      throw new Error(
        `safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(t.shape)}`,
      );
    }
    const n = numel(t.shape);
    if (n !== t.data.length) {
      throw new Error(
        `safetensors: tensor "${name}" has shape [${t.shape}] (${n} elements) but ${t.data.length} data elements`,
      );
    }
    header.set(name, { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] });
    offset += 4 * n;
  }
  let json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(header)));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const d = tensors[name].data;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    } else {
      for (let i = 0; i < d.length; i++) view.setFloat32(pos + 4 * i, d[i], true);
    }
    pos += d.byteLength;
  }
  return out;
}

/**
 * Decodes a safetensors file of float32 tensors, validating it.
 *
 * @param bytes The file bytes.
 * @returns The tensors (data copied out of `bytes`) and the metadata.
 * @throws {Error} Saying what is wrong: file shorter than 8 bytes, header length
 *   beyond the end of the file, invalid JSON or a header that is not an
 *   object, a dtype other than F32, a bad shape, data offsets that are not
 *   contiguous from 0 or do not cover the data exactly, or a byte length
 *   different from `product(shape) * 4`.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ b: { shape: [3], data: new Float32Array([1, 2, 3]) } });
 * console.log(Array.from(decodeSafetensors(bytes).tensors.b.data)); // [1, 2, 3]
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (bytes.length < 8) {
    throw new Error(
      `safetensors: file too short (${bytes.length} bytes; the header length alone is 8)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A u64: read as a BigInt, so that a corrupt length (up to 2^64 - 1) prints exactly.
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER)) {
    throw new Error(`safetensors: header length ${length} is too large (limit ${MAX_HEADER})`);
  }
  const n = Number(length);
  if (8 + n > bytes.length) {
    throw new Error(
      `safetensors: header length ${n} goes beyond the end of the file (${bytes.length} bytes)`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text, exactNumbers);
  } catch (e) {
    throw new Error(
      `safetensors: header is not valid UTF-8 JSON: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error("safetensors: header is not a JSON object");
  }
  const h = header as Record<string, unknown>;
  const meta: [string, string][] = [];
  if (Object.hasOwn(h, METADATA_KEY)) {
    const m = h[METADATA_KEY];
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      throw new Error(`safetensors: "${METADATA_KEY}" is not an object`);
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== "string") throw new Error(`safetensors: metadata "${k}" is not a string`);
      meta.push([k, v]);
    }
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(h)) {
    if (name === METADATA_KEY) continue;
    if (typeof info !== "object" || info === null) {
      throw new Error(`safetensors: tensor "${name}": header entry is not an object`);
    }
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (dtype !== "F32") {
      throw new Error(
        `safetensors: tensor "${name}": unsupported dtype ${JSON.stringify(dtype)} (only F32)`,
      );
    }
    if (!isValidShape(shape)) {
      throw new Error(`safetensors: tensor "${name}": invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0) ||
      offs[1] < offs[0]
    ) {
      throw new Error(
        `safetensors: tensor "${name}": invalid data_offsets ${JSON.stringify(offs)}`,
      );
    }
    const [begin, end] = offs as number[];
    if (end - begin !== numel(shape) * 4) {
      throw new Error(
        `safetensors: tensor "${name}": ${end - begin} data bytes but shape [${shape}] needs ${
          numel(shape) * 4
        }`,
      );
    }
    entries.push({ name, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const e of entries) {
    if (e.begin !== expect) {
      throw new Error(
        `safetensors: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] are not contiguous (expected to begin at ${expect})`,
      );
    }
    if (e.end > dataLen) {
      throw new Error(
        `safetensors: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] go beyond the data (${dataLen} bytes)`,
      );
    }
    expect = e.end;
  }
  if (expect !== dataLen) {
    throw new Error(
      `safetensors: the tensors cover ${expect} data bytes but the file has ${dataLen} after the header`,
    );
  }
  const out: [string, DecodedTensor][] = [];
  for (const e of entries) {
    const count = (e.end - e.begin) / 4;
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      data = new Float32Array(bytes.slice(dataStart + e.begin, dataStart + e.end).buffer);
    } else {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + e.begin + 4 * i, true);
    }
    out.push([e.name, { dtype: "F32", shape: e.shape.slice(), data }]);
  }
  return { tensors: Object.fromEntries(out), metadata: Object.fromEntries(meta) };
}
