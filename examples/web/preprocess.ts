/**
 * Turns a drawn digit into an MNIST-like 28x28 image, the way MNIST's digits were made
 * from NIST's: the ink's bounding box is fitted into a 20x20 box keeping its aspect ratio,
 * with anti-aliased grey levels (area averaging), then the 20x20 box is placed in a 28x28
 * field so that its centre of mass is the field's centre.
 *
 * Pure functions on plain arrays: the demo page runs them on its canvas, the tests in Deno.
 *
 * @module
 */

/** A greyscale raster of ink: 0 is background, 255 full ink. */
export interface InkImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height` ink values in 0..255, row-major. */
  data: ArrayLike<number>;
}

/** Side of the box the digit is fitted into (MNIST: 20). */
export const BOX = 20;
/** Side of the output field (MNIST: 28). */
export const FIELD = 28;

/**
 * Ink of an RGBA raster (a canvas's `ImageData`): the mean of red, green and blue,
 * for white ink on black.
 *
 * @param rgba `width * height * 4` bytes.
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @returns The ink image.
 */
export function inkFromRgba(rgba: ArrayLike<number>, width: number, height: number): InkImage {
  if (rgba.length !== width * height * 4) {
    throw new RangeError(
      `inkFromRgba: ${width}x${height} needs ${width * height * 4} bytes, got ${rgba.length}`,
    );
  }
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) {
    data[i] = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3;
  }
  return { width, height, data };
}

/**
 * The smallest rectangle holding every pixel with ink above 0.
 *
 * @param img The ink image.
 * @returns `[x0, y0, x1, y1)` (end exclusive), or null for a blank image.
 */
export function inkBounds(img: InkImage): [number, number, number, number] | null {
  let x0 = img.width, y0 = img.height, x1 = -1, y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[y * img.width + x] > 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}

/** Length of the overlap of [a0, a1) and [b0, b1). */
function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/**
 * Weights of an area-averaging resampling of `n` source cells starting at `start`
 * (a square of side `side` in source pixels) into `BOX` cells.
 */
function areaWeights(start: number, side: number, n: number): { from: number; w: number }[][] {
  const scale = side / BOX;
  const rows: { from: number; w: number }[][] = [];
  for (let o = 0; o < BOX; o++) {
    const s0 = start + o * scale, s1 = s0 + scale;
    const row: { from: number; w: number }[] = [];
    for (let i = Math.max(0, Math.floor(s0)); i < Math.min(n, Math.ceil(s1)); i++) {
      const w = overlap(s0, s1, i, i + 1) / scale;
      if (w > 0) row.push({ from: i, w });
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Fits the ink's bounding box into a `BOX` x `BOX` box keeping the aspect ratio: the
 * longer side fills the box, the shorter is centred; each box pixel is the mean ink over
 * the source area it covers (anti-aliasing).
 *
 * @param img The ink image.
 * @param bounds Its ink bounds, from {@link inkBounds}.
 * @returns `BOX * BOX` ink values, row-major.
 */
export function fitToBox(img: InkImage, bounds: [number, number, number, number]): Float32Array {
  const [x0, y0, x1, y1] = bounds;
  const side = Math.max(x1 - x0, y1 - y0);
  const sx = (x0 + x1 - side) / 2, sy = (y0 + y1 - side) / 2;
  const cols = areaWeights(sx, side, img.width), rows = areaWeights(sy, side, img.height);
  // Columns first (height x BOX), then rows (BOX x BOX).
  const tmp = new Float32Array(img.height * BOX);
  for (let y = y0; y < y1; y++) {
    for (let o = 0; o < BOX; o++) {
      let s = 0;
      for (const { from, w } of cols[o]) s += w * img.data[y * img.width + from];
      tmp[y * BOX + o] = s;
    }
  }
  const out = new Float32Array(BOX * BOX);
  for (let o = 0; o < BOX; o++) {
    for (let x = 0; x < BOX; x++) {
      let s = 0;
      for (const { from, w } of rows[o]) s += w * tmp[from * BOX + x];
      out[o * BOX + x] = s;
    }
  }
  return out;
}

/**
 * Places a `BOX` x `BOX` image in a `FIELD` x `FIELD` field, shifted by whole pixels so
 * that its centre of mass lands on the field's centre, and rounds it to bytes.
 *
 * @param box `BOX * BOX` ink values.
 * @returns `FIELD * FIELD` bytes.
 */
export function centreByMass(box: Float32Array): Uint8Array {
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < BOX; y++) {
    for (let x = 0; x < BOX; x++) {
      const v = box[y * BOX + x];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const half = FIELD / 2;
  const dx = mass > 0 ? Math.round(half - mx / mass) : (FIELD - BOX) / 2;
  const dy = mass > 0 ? Math.round(half - my / mass) : (FIELD - BOX) / 2;
  const out = new Uint8Array(FIELD * FIELD);
  for (let y = 0; y < BOX; y++) {
    const fy = y + dy;
    if (fy < 0 || fy >= FIELD) continue;
    for (let x = 0; x < BOX; x++) {
      const fx = x + dx;
      if (fx < 0 || fx >= FIELD) continue;
      out[fy * FIELD + fx] = Math.min(255, Math.max(0, Math.round(box[y * BOX + x])));
    }
  }
  return out;
}

/**
 * The whole MNIST preprocessing: bounding box, fit into 20x20 with grey levels, centre of
 * mass at the centre of 28x28.
 *
 * @param img The drawn ink.
 * @returns `28 * 28` bytes like an MNIST image, or null when nothing is drawn.
 *
 * @example A square blob lands in the middle, 20 pixels wide
 * ```ts
 * import { mnistFromInk } from "./preprocess.ts";
 * const data = new Uint8Array(100 * 100);
 * for (let y = 10; y < 50; y++) for (let x = 30; x < 70; x++) data[y * 100 + x] = 255;
 * const img = mnistFromInk({ width: 100, height: 100, data })!;
 * console.log(img[14 * 28 + 4], img[14 * 28 + 3]); // 255 0
 * ```
 */
export function mnistFromInk(img: InkImage): Uint8Array | null {
  const bounds = inkBounds(img);
  return bounds ? centreByMass(fitToBox(img, bounds)) : null;
}
