/**
 * Parsing of IDX files, the format the MNIST and Fashion-MNIST data sets are
 * distributed in (see http://yann.lecun.com/exdb/mnist/).
 *
 * An IDX file is: two zero bytes, a type byte (only `0x08`, unsigned byte, is
 * supported here), a byte giving the number of dimensions `ndim`, then `ndim`
 * big-endian u32 sizes, then the data in row-major order. Labels files have
 * magic `0x00000801` (1 dimension), images files `0x00000803` (3 dimensions).
 *
 * Runtime-agnostic: takes and returns `Uint8Array`s, uses no `Deno.*`.
 *
 * @module
 */

/** The result of {@linkcode parseIdx}: the dimensions and the raw u8 data. */
export interface IdxArray {
  /** Size of each dimension, outermost first (e.g. `[60000, 28, 28]`). */
  dims: number[];
  /** The data, row-major, `dims.reduce((a, b) => a * b)` bytes long. */
  data: Uint8Array;
}

/** Options of {@linkcode parseIdx}. */
export interface ParseIdxOptions {
  /** When given, the number of dimensions the file must have. */
  ndim?: number;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "short (2 bytes)",
  0x0c: "int (4 bytes)",
  0x0d: "float (4 bytes)",
  0x0e: "double (8 bytes)",
};

function hex(n: number, width: number): string {
  return "0x" + n.toString(16).padStart(width, "0");
}

/**
 * Parses an (already decompressed) IDX file of unsigned bytes.
 *
 * The returned `data` is a view into `bytes` (no copy).
 *
 * @param bytes The file contents, not gzipped (see {@linkcode gunzipIfNeeded}).
 * @param name The file's name, used in error messages.
 * @param opts Optional `ndim`: the number of dimensions the file must have.
 * @returns The dimensions and a view of the data bytes.
 * @throws {Error} Naming the file, when the magic is wrong, the type byte is not
 *   `0x08`, the number of dimensions is wrong or zero, a dimension is zero, or
 *   the data is shorter or longer than the dimensions say.
 *
 * @example Parse a tiny labels file
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
 * const { dims, data } = parseIdx(bytes, "labels.idx");
 * console.log(dims, Array.from(data)); // [3] [7, 2, 1]
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string, opts: ParseIdxOptions = {}): IdxArray {
  if (bytes.length < 4) {
    throw new Error(
      `${name}: not an IDX file: only ${bytes.length} bytes, the header alone needs at least 4`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? " (it looks gzipped; gunzip it first)" : "";
    throw new Error(
      `${name}: bad IDX magic ${hex(magic, 8)}: the first two bytes must be zero${gz}`,
    );
  }
  const type = bytes[2];
  if (type !== 0x08) {
    const what = TYPE_NAMES[type] ? ` (${TYPE_NAMES[type]})` : " (not a valid IDX type)";
    throw new Error(
      `${name}: unsupported IDX data type byte ${
        hex(type, 2)
      }${what}; only 0x08 (unsigned byte) is supported`,
    );
  }
  const ndim = bytes[3];
  if (ndim === 0) {
    throw new Error(`${name}: IDX header says 0 dimensions`);
  }
  if (opts.ndim !== undefined && ndim !== opts.ndim) {
    throw new Error(
      `${name}: wrong number of IDX dimensions: expected ${opts.ndim}, the header says ${ndim} (magic ${
        hex(0x800 | ndim, 8)
      })`,
    );
  }
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new Error(
      `${name}: truncated IDX header: ${ndim} dimensions need ${headerLen} header bytes, the file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  // A BigInt: the product of up to 255 u32 sizes goes far beyond 2^53, and must print exactly.
  let expected = 1n;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) {
      throw new Error(`${name}: IDX dimension ${i} is zero (dims ${dims.concat(d).join("x")}...)`);
    }
    dims.push(d);
    expected *= BigInt(d);
  }
  const actual = BigInt(bytes.length - headerLen);
  if (actual !== expected) {
    const how = actual < expected ? "truncated" : "has extra data";
    throw new Error(
      `${name}: IDX data ${how}: dims ${
        dims.join("x")
      } need ${expected} data bytes, the file has ${actual} (after the ${headerLen}-byte header)`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/**
 * Decompresses `bytes` with gzip when they start with the gzip magic `1f 8b`,
 * otherwise returns them unchanged. Uses the web-standard
 * `DecompressionStream("gzip")`.
 *
 * @param bytes The file contents, gzipped or not.
 * @param name The file's name, used in error messages.
 * @returns The decompressed bytes (or `bytes` itself when not gzipped).
 * @throws {Error} Naming the file, when the gzip data is truncated or corrupt, or followed by
 *   other bytes.
 *
 * @example
 * ```ts
 * import { gunzipIfNeeded } from "./idx.ts";
 * const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 5]);
 * const gz = new Uint8Array(
 *   await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("gzip")))
 *     .arrayBuffer(),
 * );
 * console.log((await gunzipIfNeeded(gz, "x.gz")).length); // 9
 * console.log((await gunzipIfNeeded(raw, "x")) === raw); // true
 * ```
 */
export async function gunzipIfNeeded(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // Deno's DecompressionStream says "failed to write whole buffer" when bytes follow the
    // end of the gzip stream (trailing garbage, or a second gzip member).
    const why = /failed to write whole buffer/.test(message)
      ? "unexpected bytes after the end of the gzip data (trailing garbage, or a second " +
        "concatenated gzip stream, which is not supported)"
      : `corrupt or truncated gzip data: ${message}`;
    throw new Error(`${name}: ${why} (${bytes.length} bytes)`, { cause: e });
  }
}

/**
 * Whether `bytes` start with the gzip magic number `1f 8b`.
 *
 * @param bytes Any bytes.
 * @returns `true` when the first two bytes are `0x1f 0x8b`.
 *
 * @example
 * ```ts
 * import { isGzip } from "./idx.ts";
 * console.log(isGzip(new Uint8Array([0x1f, 0x8b, 8]))); // true
 * ```
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Encodes an unsigned-byte IDX file (the inverse of {@linkcode parseIdx}); handy
 * for writing small test files.
 *
 * @param dims The dimensions, outermost first (1 to 255 of them, each > 0).
 * @param data The row-major data; its length must equal the product of `dims`.
 * @returns The IDX file bytes (not gzipped).
 * @throws {Error} When `data.length` does not match `dims`.
 *
 * @example
 * ```ts
 * import { encodeIdx, parseIdx } from "./idx.ts";
 * const bytes = encodeIdx([2], new Uint8Array([3, 4]));
 * console.log(parseIdx(bytes, "t").dims); // [2]
 * ```
 */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > 255) throw new Error(`encodeIdx: bad ndim ${dims.length}`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new Error(`encodeIdx: dims ${dims.join("x")} need ${n} bytes, got ${data.length}`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + n);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
