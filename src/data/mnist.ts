/**
 * MNIST / Fashion-MNIST: parsing the four IDX files into the train / valid /
 * test splits the LeNet tutorial uses (its `mnist.pkl.gz`: 50,000 train,
 * 10,000 validation, 10,000 test images).
 *
 * Runtime-agnostic: takes `Uint8Array`s (gzipped or not), uses no `Deno.*`.
 * For downloading and caching under Deno see `mnist_deno.ts`.
 *
 * @module
 */

import { gunzipIfNeeded, parseIdx } from "./idx.ts";

/** A set of labelled greyscale images. */
export interface ImageSet {
  /** Raw u8 pixels, `count * height * width` bytes, image-major, each image row-major. */
  images: Uint8Array;
  /** One label per image, each in `0..9`. */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
  /** Image height in pixels (28 for MNIST). */
  height: number;
  /** Image width in pixels (28 for MNIST). */
  width: number;
}

/** The three splits of the tutorial's data set. */
export interface MnistSplits {
  /** Training images (the first 50,000 of MNIST's 60,000 training images). */
  train: ImageSet;
  /** Validation images (the last 10,000 of MNIST's training images). */
  valid: ImageSet;
  /** Test images (MNIST's 10,000 test images). */
  test: ImageSet;
}

/** The four files of an MNIST-style data set, as named in {@linkcode MNIST_FILES}. */
export type MnistFileKey = "trainImages" | "trainLabels" | "testImages" | "testLabels";

/** The contents of the four files, each raw IDX or gzipped IDX. */
export type MnistFiles = Record<MnistFileKey, Uint8Array>;

/**
 * The standard file names of the four (gzipped) files; the same for MNIST and
 * Fashion-MNIST.
 */
export const MNIST_FILES: Readonly<Record<MnistFileKey, string>> = Object.freeze({
  trainImages: "train-images-idx3-ubyte.gz",
  trainLabels: "train-labels-idx1-ubyte.gz",
  testImages: "t10k-images-idx3-ubyte.gz",
  testLabels: "t10k-labels-idx1-ubyte.gz",
});

/**
 * SHA-256 (lowercase hex) of each MNIST `.gz` file, keyed by file name, as
 * served by the mirrors (e.g. `https://storage.googleapis.com/cvdf-datasets/mnist/`).
 */
export const MNIST_SHA256: Readonly<Record<string, string>> = Object.freeze({
  "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
  "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
  "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
  "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
});

/**
 * SHA-256 (lowercase hex) of each Fashion-MNIST `.gz` file, keyed by file name,
 * as served by Zalando's release at
 * `http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/`.
 *
 * Note: Debian's `dataset-fashion-mnist` package ships the same deflate data
 * but with a normalised gzip header (no file name, a different mtime), so
 * its `.gz` files have other hashes; their decompressed contents are identical.
 */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = Object.freeze({
  "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
  "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
  "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
  "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
});

/** Options of {@linkcode parseMnist}. */
export interface ParseMnistOptions {
  /**
   * Prefix for the file names in error messages, e.g. the directory or the
   * data set's name (`"mnist"` gives `mnist/train-images-idx3-ubyte.gz`).
   */
  name?: string;
  /** File names to use in error messages instead of {@linkcode MNIST_FILES}. */
  fileNames?: Partial<Record<MnistFileKey, string>>;
}

/** Number of validation images the full (60,000-image) training file gives. */
export const MNIST_VALID_COUNT = 10000;

/**
 * How many of `n` training-file images go to the validation split: 10,000 when
 * `n >= 60000` (the tutorial's split), otherwise `min(10000, floor(n / 6))`
 * (the same 5:1 ratio, for tiny test files). The validation images are the
 * *last* ones of the training file.
 *
 * @param n Number of images in the training file.
 * @returns The validation split's size.
 *
 * @example
 * ```ts
 * import { validationCount } from "./mnist.ts";
 * console.log(validationCount(60000), validationCount(12)); // 10000 2
 * ```
 */
export function validationCount(n: number): number {
  return n >= 60000 ? MNIST_VALID_COUNT : Math.min(MNIST_VALID_COUNT, Math.floor(n / 6));
}

function parsePair(
  imagesBytes: Uint8Array,
  labelsBytes: Uint8Array,
  imagesName: string,
  labelsName: string,
): ImageSet {
  const img = parseIdx(imagesBytes, imagesName, { ndim: 3 });
  const lab = parseIdx(labelsBytes, labelsName, { ndim: 1 });
  const [count, height, width] = img.dims;
  if (lab.dims[0] !== count) {
    throw new Error(
      `image/label count mismatch: ${imagesName} has ${count} images but ${labelsName} has ${
        lab.dims[0]
      } labels`,
    );
  }
  for (let i = 0; i < lab.data.length; i++) {
    if (lab.data[i] > 9) {
      throw new Error(`${labelsName}: label ${lab.data[i]} at index ${i} is out of range 0..9`);
    }
  }
  return { images: img.data, labels: lab.data, count, height, width };
}

function slice(set: ImageSet, start: number, end: number): ImageSet {
  const px = set.height * set.width;
  return {
    images: set.images.subarray(start * px, end * px),
    labels: set.labels.subarray(start, end),
    count: end - start,
    height: set.height,
    width: set.width,
  };
}

/**
 * Parses the four MNIST-style files into the tutorial's three splits.
 *
 * Split (like the tutorial's `mnist.pkl.gz`): the first 50,000 training-file
 * images are `train`, the last 10,000 are `valid`, the test file is `test`.
 * When the training file has fewer than 60,000 images (e.g. tiny test files),
 * the last `min(10000, floor(n / 6))` go to `valid` (see
 * {@linkcode validationCount}) and the rest to `train`.
 *
 * The returned arrays are views into the (decompressed) input; no copy is made
 * for raw input.
 *
 * @param files The four files' contents, each raw IDX or gzipped.
 * @param opts Optional names for error messages.
 * @returns The train, valid and test splits.
 * @throws {Error} Naming the file(s) concerned: bad IDX data or gzip, images and
 *   labels counts that differ (names both files), labels outside `0..9`, or
 *   test images of another size than the training images.
 *
 * @example
 * ```ts
 * import { parseMnist } from "./mnist.ts";
 * import { encodeIdx } from "./idx.ts";
 * const n = 12;
 * const splits = await parseMnist({
 *   trainImages: encodeIdx([n, 2, 2], new Uint8Array(n * 4)),
 *   trainLabels: encodeIdx([n], new Uint8Array(n)),
 *   testImages: encodeIdx([3, 2, 2], new Uint8Array(12)),
 *   testLabels: encodeIdx([3], new Uint8Array(3)),
 * });
 * console.log(splits.train.count, splits.valid.count, splits.test.count); // 10 2 3
 * ```
 */
export async function parseMnist(
  files: MnistFiles,
  opts: ParseMnistOptions = {},
): Promise<MnistSplits> {
  const name = (k: MnistFileKey) => {
    const base = opts.fileNames?.[k] ?? MNIST_FILES[k];
    return opts.name ? `${opts.name.replace(/\/+$/, "")}/${base}` : base;
  };
  const [trI, trL, teI, teL] = await Promise.all(
    (["trainImages", "trainLabels", "testImages", "testLabels"] as const).map((k) =>
      gunzipIfNeeded(files[k], name(k))
    ),
  );
  const all = parsePair(trI, trL, name("trainImages"), name("trainLabels"));
  const test = parsePair(teI, teL, name("testImages"), name("testLabels"));
  if (test.height !== all.height || test.width !== all.width) {
    throw new Error(
      `image size mismatch: ${name("trainImages")} has ${all.height}x${all.width} images but ${
        name("testImages")
      } has ${test.height}x${test.width}`,
    );
  }
  const nValid = validationCount(all.count);
  const nTrain = all.count - nValid;
  return { train: slice(all, 0, nTrain), valid: slice(all, nTrain, all.count), test };
}

/**
 * Converts u8 pixels to floats: divided by 255 (default, into `[0, 1]`), or times
 * `scale`; the tutorial's `mnist.pkl.gz` holds `k / 256` (`scale` 1/256).
 *
 * @param images The u8 pixels.
 * @param into Optional output buffer of at least `images.length` floats.
 * @param scale Factor per byte (default 1/255).
 * @returns The floats: `into` (a view of its first `images.length` elements when
 *   it is longer), or a new `Float32Array`.
 * @throws {Error} When `into` is too short.
 *
 * @example
 * ```ts
 * import { toFloat } from "./mnist.ts";
 * console.log(Array.from(toFloat(new Uint8Array([0, 255])))); // [0, 1]
 * ```
 */
export function toFloat(images: Uint8Array, into?: Float32Array, scale = 1 / 255): Float32Array {
  const n = images.length;
  if (into && into.length < n) {
    throw new Error(`toFloat: output has ${into.length} elements, need ${n}`);
  }
  const out = into ? (into.length === n ? into : into.subarray(0, n)) : new Float32Array(n);
  // Division by 255 (not multiplication by its float reciprocal) keeps 255 -> exactly 1.
  if (scale === 1 / 255) { for (let i = 0; i < n; i++) out[i] = images[i] / 255; }
  else for (let i = 0; i < n; i++) out[i] = images[i] * scale;
  return out;
}

/**
 * SHA-256 of `bytes` as lowercase hex, with the web-standard `crypto.subtle`.
 *
 * @param bytes The data to hash.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./mnist.ts";
 * console.log(await sha256Hex(new Uint8Array())); // "e3b0c442...b855"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
