/**
 * A small PNG encoder and decoder (https://www.w3.org/TR/png/).
 *
 * Encodes 8-bit greyscale, RGB or RGBA (filter type 0, zlib via the
 * web-standard `CompressionStream("deflate")`). Decodes non-interlaced
 * greyscale, RGB, RGBA, grey+alpha (converted to RGBA) and palette images
 * (converted to RGB, or RGBA when the palette has transparency), at any
 * bit depth (below 8 scaled up, 16 reduced to the high byte), all five row
 * filters and any number of IDAT chunks; CRCs are checked.
 *
 * Runtime-agnostic: takes and returns `Uint8Array`s, uses no `Deno.*`.
 *
 * @module
 */

/** A decoded image: 8-bit samples, row-major, channels interleaved. */
export interface PngImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 = grey, 3 = RGB, 4 = RGBA. */
  channels: 1 | 3 | 4;
  /** `width * height * channels` bytes. */
  pixels: Uint8Array;
}

const SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
/** Refuse images above this many pixels rather than run out of memory. */
const MAX_PIXELS = 1 << 28;

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (the ISO-HDLC / zlib / PNG one, polynomial 0xEDB88320).
 *
 * @param bytes The data.
 * @param crc The running CRC of the data before `bytes` (default: start fresh).
 * @returns The CRC as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { crc32 } from "./png.ts";
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // "cbf43926"
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

async function pipe(bytes: Uint8Array, t: CompressionStream | DecompressionStream) {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(t);
  return new Uint8Array(await new Response(s).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes 8-bit pixels as a PNG (no interlacing, filter type 0 on every row).
 *
 * @param pixels `width * height * channels` bytes, row-major, channels interleaved.
 * @param width Width in pixels (> 0).
 * @param height Height in pixels (> 0).
 * @param channels 1 (greyscale), 3 (RGB) or 4 (RGBA).
 * @returns The PNG file bytes.
 * @throws {Error} When the sizes are invalid or `pixels` has the wrong length.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * const png = await encodePng(new Uint8Array([0, 128, 255, 64]), 2, 2, 1);
 * const img = await decodePng(png);
 * console.log(img.width, img.height, Array.from(img.pixels)); // 2 2 [0, 128, 255, 64]
 * ```
 */
export async function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
): Promise<Uint8Array> {
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  }
  for (const [k, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v <= 0 || v > 0x7fffffff) {
      throw new Error(`encodePng: invalid ${k} ${v}`);
    }
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new Error(
      `encodePng: ${width}x${height}x${channels} needs ${
        stride * height
      } bytes, got ${pixels.length}`,
    );
  }
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const idat = await pipe(raw, new CompressionStream("deflate"));
  const parts = [
    SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

const ALLOWED_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes a PNG file.
 *
 * Supports non-interlaced images of every colour type: greyscale → 1 channel,
 * RGB → 3, RGBA → 4, grey+alpha → 4 (RGBA), palette → 3 (RGB; 4 when a tRNS
 * chunk gives transparency). Bit depths below 8 are scaled to 0..255, 16-bit
 * samples are reduced to their high byte. Ancillary chunks are ignored
 * (except a palette's tRNS).
 *
 * @param bytes The PNG file.
 * @returns The image, 8 bits per sample.
 * @throws {Error} Saying what is wrong: not a PNG, a bad chunk CRC, a truncated
 *   file, an invalid or missing IHDR, an invalid bit depth / colour type pair,
 *   interlacing (unsupported), a missing palette, an unknown critical chunk,
 *   corrupt zlib data, a bad filter type, or too little or too much image data.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * const rgb = new Uint8Array([255, 0, 0, 0, 255, 0]);
 * const img = await decodePng(await encodePng(rgb, 2, 1, 3));
 * console.log(img.channels, Array.from(img.pixels)); // 3 [255, 0, 0, 0, 255, 0]
 * ```
 */
export async function decodePng(bytes: Uint8Array): Promise<PngImage> {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error("PNG: not a PNG file (bad signature)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0, height = 0, depth = 0, colorType = -1;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idats: Uint8Array[] = [];
  let sawIend = false;
  let first = true;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new Error(`PNG: truncated chunk header at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) {
      throw new Error(`PNG: invalid chunk type at byte ${pos} (corrupt file)`);
    }
    if (pos + 12 + len > bytes.length) {
      throw new Error(`PNG: truncated ${type} chunk at byte ${pos} (${len} bytes declared)`);
    }
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    const want = view.getUint32(pos + 8 + len);
    const got = crc32(bytes.subarray(pos + 4, pos + 8 + len));
    if (want !== got) {
      throw new Error(
        `PNG: CRC mismatch in ${type} chunk at byte ${pos}: stored ${want.toString(16)}, computed ${
          got.toString(16)
        } (corrupt file)`,
      );
    }
    pos += 12 + len;
    if (first && type !== "IHDR") throw new Error(`PNG: first chunk is ${type}, not IHDR`);
    first = false;
    if (type === "IHDR") {
      if (len !== 13) throw new Error(`PNG: IHDR has ${len} bytes, not 13`);
      const d = new DataView(data.buffer, data.byteOffset, 13);
      width = d.getUint32(0);
      height = d.getUint32(4);
      depth = data[8];
      colorType = data[9];
      if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
        throw new Error(`PNG: invalid size ${width}x${height}`);
      }
      if (width * height > MAX_PIXELS) throw new Error(`PNG: image too large (${width}x${height})`);
      if (!ALLOWED_DEPTHS[colorType]?.includes(depth)) {
        throw new Error(`PNG: invalid colour type ${colorType} with bit depth ${depth}`);
      }
      if (data[10] !== 0) throw new Error(`PNG: unknown compression method ${data[10]}`);
      if (data[11] !== 0) throw new Error(`PNG: unknown filter method ${data[11]}`);
      if (data[12] === 1) {
        throw new Error(
          "PNG: interlaced (Adam7) images are not supported; re-save it non-interlaced",
        );
      }
      if (data[12] !== 0) throw new Error(`PNG: unknown interlace method ${data[12]}`);
    } else if (type === "PLTE") {
      if (len % 3 !== 0 || len === 0 || len > 768) {
        throw new Error(`PNG: invalid PLTE chunk length ${len}`);
      }
      palette = data;
    } else if (type === "tRNS") {
      trns = data;
    } else if (type === "IDAT") {
      idats.push(data);
    } else if (type === "IEND") {
      sawIend = true;
      break;
    } else if ((type.charCodeAt(0) & 0x20) === 0) {
      throw new Error(`PNG: unknown critical chunk ${type}`);
    }
  }
  if (first) throw new Error("PNG: no chunks");
  if (!sawIend) throw new Error("PNG: truncated file (no IEND chunk)");
  if (idats.length === 0) throw new Error("PNG: no IDAT chunk");
  if (colorType === 3 && !palette) throw new Error("PNG: palette image without a PLTE chunk");

  const zlib = new Uint8Array(idats.reduce((a, c) => a + c.length, 0));
  let zp = 0;
  for (const c of idats) {
    zlib.set(c, zp);
    zp += c.length;
  }
  let raw: Uint8Array;
  try {
    raw = await pipe(zlib, new DecompressionStream("deflate"));
  } catch (e) {
    throw new Error(`PNG: corrupt compressed image data: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
  const samples = SAMPLES[colorType];
  const bitsPerPixel = samples * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const need = height * (stride + 1);
  if (raw.length !== need) {
    throw new Error(
      `PNG: image data has ${raw.length} bytes after decompression, ${width}x${height} needs ${need}`,
    );
  }
  // Unfilter in place into `img` (height rows of `stride` bytes).
  const img = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const ft = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    const prev = row - stride;
    switch (ft) {
      case 0:
        img.set(src, row);
        break;
      case 1:
        for (let i = 0; i < stride; i++) {
          img[row + i] = src[i] + (i >= bpp ? img[row + i - bpp] : 0);
        }
        break;
      case 2:
        for (let i = 0; i < stride; i++) img[row + i] = src[i] + (y > 0 ? img[prev + i] : 0);
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? img[row + i - bpp] : 0;
          const b = y > 0 ? img[prev + i] : 0;
          img[row + i] = src[i] + ((a + b) >> 1);
        }
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? img[row + i - bpp] : 0;
          const b = y > 0 ? img[prev + i] : 0;
          const c = i >= bpp && y > 0 ? img[prev + i - bpp] : 0;
          img[row + i] = src[i] + paeth(a, b, c);
        }
        break;
      default:
        throw new Error(`PNG: invalid filter type ${ft} on row ${y}`);
    }
  }
  // Samples to 8 bits.
  const n = width * height;
  const sample = (y: number, idx: number): number => {
    // idx: sample index within the row
    if (depth === 8) return img[y * stride + idx];
    if (depth === 16) return img[y * stride + 2 * idx];
    const bit = idx * depth;
    const byte = img[y * stride + (bit >> 3)];
    return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  const scale = depth < 8 && colorType !== 3 ? 255 / ((1 << depth) - 1) : 1;
  if (colorType === 3) {
    const pal = palette!;
    const entries = pal.length / 3;
    const channels = trns ? 4 : 3;
    const out = new Uint8Array(n * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const k = sample(y, x);
        if (k >= entries) {
          throw new Error(
            `PNG: palette index ${k} out of range (${entries} entries) at (${x}, ${y})`,
          );
        }
        const o = (y * width + x) * channels;
        out[o] = pal[3 * k];
        out[o + 1] = pal[3 * k + 1];
        out[o + 2] = pal[3 * k + 2];
        if (trns) out[o + 3] = k < trns.length ? trns[k] : 255;
      }
    }
    return { width, height, channels: channels as 3 | 4, pixels: out };
  }
  const channels: 1 | 3 | 4 = colorType === 0 ? 1 : colorType === 2 ? 3 : 4;
  const out = new Uint8Array(n * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const s = x * samples;
      if (colorType === 4) {
        const g = sample(y, s);
        out[o] = out[o + 1] = out[o + 2] = g;
        out[o + 3] = sample(y, s + 1);
      } else {
        for (let c = 0; c < channels; c++) out[o + c] = Math.round(sample(y, s + c) * scale);
      }
    }
  }
  return { width, height, channels, pixels: out };
}
