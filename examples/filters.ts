/**
 * The LeNet tutorial's "bit of fun": apply a convolutional layer with two random
 * 9x9 filters (initialised exactly as the tutorial does, `RandomState(23455)`)
 * to an RGB image, and look at the two sigmoid feature maps; randomly
 * initialised filters act very much like edge detectors.
 *
 * ```sh
 * deno run -A examples/filters.ts [--image path.png] [--out filters.png] [--raw]
 *
 * Each map is stretched to the full grey range like pylab.imshow; --raw maps 0..1 to 0..255.
 * ```
 *
 * Writes one PNG: the original | feature map 0 | feature map 1, side by side
 * (the maps, which are 8 pixels smaller each way, are placed 4 pixels down so
 * that each output pixel sits over the centre of its 9x9 input window).
 * Without `--image` it uses `examples/sample.png` (a synthetic scene made by
 * `examples/make_sample_image.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { conv2dForward, flipKernels } from "../cpu/conv2d.ts";
import { sigmoidForward } from "../cpu/sigmoid.ts";
import { RandomState } from "../src/random.ts";
import { decodePng, encodePng, type PngImage } from "../src/png.ts";

/** Kernel size of the tutorial's filters. */
export const KERNEL = 9;
/** Number of filters. */
export const FILTERS = 2;

/** Result of {@linkcode randomFilterMaps}. */
export interface FilterMaps {
  /** The two sigmoid feature maps, `[2, outH, outW]` row-major (Theano's `filtered_img[0]`). */
  maps: Float64Array;
  /** `height - 8`. */
  outH: number;
  /** `width - 8`. */
  outW: number;
  /** The weights as drawn, `[2, 3, 9, 9]`, in Theano's (true convolution) orientation. */
  W: Float64Array;
  /** The biases as drawn, `[2]`. */
  b: Float64Array;
}

/**
 * Converts an image to the tutorial's input: float64 `/ 256`, shape
 * `(1, 3, height, width)` (channel-major). Greyscale is repeated into the three
 * channels; alpha is dropped.
 *
 * @param img A decoded image (1, 3 or 4 channels).
 * @returns `3 * height * width` floats in `[0, 1)`.
 *
 * @example
 * ```ts
 * import { imageToInput } from "./filters.ts";
 * const x = imageToInput({ width: 1, height: 1, channels: 3, pixels: new Uint8Array([128, 0, 64]) });
 * console.log(Array.from(x)); // [0.5, 0, 0.25]
 * ```
 */
export function imageToInput(img: PngImage): Float64Array {
  const { width, height, channels, pixels } = img;
  const n = width * height;
  const x = new Float64Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const src = channels === 1 ? 0 : c;
    for (let p = 0; p < n; p++) x[c * n + p] = pixels[p * channels + src] / 256;
  }
  return x;
}

/**
 * The tutorial's random convolutional layer: draws `W` (2, 3, 9, 9) from
 * `uniform(±1/sqrt(3*9*9))` then `b` (2,) from `uniform(-0.5, 0.5)` with
 * `RandomState(seed)`, and computes `sigmoid(conv2d(x, W) + b)` with Theano's
 * true convolution (the kernels are flipped for our cross-correlating
 * `conv2dForward`).
 *
 * @param x The input `(1, 3, height, width)`, e.g. from {@linkcode imageToInput}.
 * @param height Image height (>= 9).
 * @param width Image width (>= 9).
 * @param seed The `RandomState` seed; the tutorial's is 23455.
 * @returns The two feature maps (values in `(0, 1)`) and the drawn parameters.
 * @throws {RangeError} When the image is smaller than the 9x9 kernel.
 *
 * @example
 * ```ts
 * import { randomFilterMaps } from "./filters.ts";
 * const r = randomFilterMaps(new Float64Array(3 * 10 * 12).fill(0.5), 10, 12);
 * console.log(r.outH, r.outW, r.maps.length); // 2 4 16
 * ```
 */
export function randomFilterMaps(
  x: Float64Array,
  height: number,
  width: number,
  seed = 23455,
): FilterMaps {
  const rng = new RandomState(seed);
  const bound = 1 / Math.sqrt(3 * KERNEL * KERNEL);
  const W = rng.uniform(-bound, bound, FILTERS * 3 * KERNEL * KERNEL);
  const b = rng.uniform(-0.5, 0.5, FILTERS);
  const s = {
    batch: 1,
    inChannels: 3,
    height,
    width,
    outChannels: FILTERS,
    kernelH: KERNEL,
    kernelW: KERNEL,
  };
  if (height < KERNEL || width < KERNEL) {
    throw new RangeError(
      `image ${width}x${height} is smaller than the ${KERNEL}x${KERNEL} filters`,
    );
  }
  const outH = height - KERNEL + 1, outW = width - KERNEL + 1;
  const maps = new Float64Array(FILTERS * outH * outW);
  conv2dForward(maps, x, flipKernels(W, s), b, s);
  sigmoidForward(maps, maps);
  return { maps, outH, outW, W, b };
}

/**
 * Lays out the original image and the two maps side by side on white, as RGB.
 *
 * @param img The original image.
 * @param r The feature maps.
 * @param stretch When true, stretch each map's min..max to 0..255 (like
 *   pylab's `imshow`); otherwise map the sigmoid's 0..1 to 0..255.
 * @returns `{ pixels, width, height }` of an RGB image.
 *
 * @example
 * ```ts
 * import { panel, randomFilterMaps } from "./filters.ts";
 * const img = { width: 10, height: 10, channels: 1 as const, pixels: new Uint8Array(100) };
 * const p = panel(img, randomFilterMaps(new Float64Array(300), 10, 10), false);
 * console.log(p.width, p.height); // 30 10
 * ```
 */
export function panel(
  img: PngImage,
  r: FilterMaps,
  stretch: boolean,
): { pixels: Uint8Array; width: number; height: number } {
  const gap = 8;
  const off = (KERNEL - 1) / 2;
  const width = img.width + FILTERS * (gap + r.outW);
  const height = img.height;
  const pixels = new Uint8Array(width * height * 3).fill(255);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * width + x) * 3;
      const i = (y * img.width + x) * img.channels;
      for (let c = 0; c < 3; c++) pixels[o + c] = img.pixels[i + (img.channels === 1 ? 0 : c)];
    }
  }
  const n = r.outH * r.outW;
  for (let m = 0; m < FILTERS; m++) {
    const map = r.maps.subarray(m * n, (m + 1) * n);
    let lo = 0, hi = 1;
    if (stretch) {
      [lo, hi] = minMax(map);
      if (hi <= lo) hi = lo + 1;
    }
    const x0 = img.width + gap + m * (r.outW + gap);
    for (let y = 0; y < r.outH; y++) {
      for (let x = 0; x < r.outW; x++) {
        const v = Math.round((255 * (map[y * r.outW + x] - lo)) / (hi - lo));
        const o = ((y + off) * width + x0 + x) * 3;
        pixels[o] = pixels[o + 1] = pixels[o + 2] = Math.max(0, Math.min(255, v));
      }
    }
  }
  return { pixels, width, height };
}

function minMax(a: Float64Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Reads and decodes a PNG; the error names the file and what is wrong. */
async function readImage(src: string | URL): Promise<PngImage> {
  const name = src instanceof URL ? src.pathname : src;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(src);
  } catch (e) {
    throw new Error(
      e instanceof Deno.errors.NotFound
        ? `--image ${name}: no such file`
        : `--image ${name}: cannot read it: ${(e as Error).message}`,
    );
  }
  try {
    return await decodePng(bytes);
  } catch (e) {
    throw new Error(`--image ${name}: not a PNG image we can read: ${(e as Error).message}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      image: { type: "string" },
      out: { type: "string", default: "filters.png" },
      raw: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno run -A examples/filters.ts [--image path.png] [--out filters.png] [--raw]",
    );
    return;
  }
  const src = values.image ?? new URL("./sample.png", import.meta.url);
  const img = await readImage(src);
  const t0 = performance.now();
  const r = randomFilterMaps(imageToInput(img), img.height, img.width);
  const ms = performance.now() - t0;
  // Like pylab.imshow, stretch each map to the full grey range unless --raw.
  const p = panel(img, r, !values.raw);
  await Deno.writeFile(values.out, await encodePng(p.pixels, p.width, p.height, 3));
  const range = (m: number) => {
    const map = r.maps.subarray(m * r.outH * r.outW, (m + 1) * r.outH * r.outW);
    const [lo, hi] = minMax(map);
    return `[${lo.toFixed(3)}, ${hi.toFixed(3)}]`;
  };
  console.log(
    `input ${src instanceof URL ? src.pathname : src}: ${img.width}x${img.height}; ` +
      `2 maps of ${r.outW}x${r.outH} in ${ms.toFixed(0)} ms, ranges ${range(0)} ${range(1)}`,
  );
  console.log(`wrote ${values.out} (${p.width}x${p.height}: original | map 0 | map 1)`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
