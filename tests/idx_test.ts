import assert from "node:assert/strict";
import { encodeIdx, gunzipIfNeeded, isGzip, parseIdx } from "../src/data/idx.ts";
import {
  MNIST_FILES,
  type MnistFiles,
  parseMnist,
  toFloat,
  validationCount,
} from "../src/data/mnist.ts";

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** n images of h x w where image i is filled with (i*7+pixel)%256, labels i%10. */
function tinySet(n: number, h = 2, w = 3): { images: Uint8Array; labels: Uint8Array } {
  const px = new Uint8Array(n * h * w).map((_, k) => (Math.floor(k / (h * w)) * 7 + k) % 256);
  const lab = new Uint8Array(n).map((_, i) => i % 10);
  return { images: encodeIdx([n, h, w], px), labels: encodeIdx([n], lab) };
}

function tinyFiles(nTrain: number, nTest: number): MnistFiles {
  const tr = tinySet(nTrain);
  const te = tinySet(nTest);
  return {
    trainImages: tr.images,
    trainLabels: tr.labels,
    testImages: te.images,
    testLabels: te.labels,
  };
}

Deno.test("parseIdx: labels and images, raw", () => {
  const labels = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]), "l");
  assert.deepEqual(labels.dims, [3]);
  assert.deepEqual(Array.from(labels.data), [7, 2, 1]);
  const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 11, 12, 13]);
  const images = parseIdx(bytes, "i", { ndim: 3 });
  assert.deepEqual(images.dims, [2, 1, 2]);
  assert.deepEqual(Array.from(images.data), [10, 11, 12, 13]);
  // big-endian dimension sizes above 255
  const big = encodeIdx([300], new Uint8Array(300));
  assert.deepEqual(Array.from(big.subarray(0, 8)), [0, 0, 8, 1, 0, 0, 1, 44]);
  assert.deepEqual(parseIdx(big, "big").dims, [300]);
});

Deno.test("gunzipIfNeeded: gz and raw", async () => {
  const raw = encodeIdx([4, 2, 2], new Uint8Array(16).map((_, i) => i));
  const gz = await gzip(raw);
  assert.ok(isGzip(gz));
  assert.ok(!isGzip(raw));
  assert.equal(await gunzipIfNeeded(raw, "raw"), raw);
  assert.deepEqual(await gunzipIfNeeded(gz, "x.gz"), raw);
  assert.deepEqual(parseIdx(await gunzipIfNeeded(gz, "x.gz"), "x.gz").dims, [4, 2, 2]);
});

Deno.test("gunzipIfNeeded: truncated or corrupt gzip names the file", async () => {
  const raw = encodeIdx([500], new Uint8Array(500).map((_, i) => (i * 31) % 10));
  const gz = await gzip(raw);
  for (const cut of [gz.length - 4, Math.floor(gz.length / 2), 12]) {
    await assert.rejects(
      gunzipIfNeeded(gz.subarray(0, cut), "train-labels-idx1-ubyte.gz"),
      /train-labels-idx1-ubyte\.gz: corrupt or truncated gzip/,
    );
  }
  const bad = gz.slice();
  bad[bad.length - 6] ^= 0xff; // the CRC32 in the trailer
  await assert.rejects(gunzipIfNeeded(bad, "bad.gz"), /bad\.gz: corrupt or truncated gzip/);
});

Deno.test("parseIdx: each corruption gives an error naming the file", () => {
  const good = encodeIdx([2, 2, 3], new Uint8Array(12));
  const err = (bytes: Uint8Array, re: RegExp, ndim?: number) =>
    assert.throws(() => parseIdx(bytes, "f.idx", { ndim }), re);

  const magic = good.slice();
  magic[1] = 1;
  err(magic, /^Error: f\.idx: bad IDX magic 0x00010803/);
  err(new Uint8Array([0x1f, 0x8b, 8, 0]), /f\.idx: bad IDX magic.*gzipped/);
  const type = good.slice();
  type[2] = 0x0d;
  err(type, /f\.idx: unsupported IDX data type byte 0x0d \(float/);
  type[2] = 0x42;
  err(type, /f\.idx: unsupported IDX data type byte 0x42 \(not a valid/);
  err(good, /f\.idx: wrong number of IDX dimensions: expected 1, the header says 3/, 1);
  err(new Uint8Array([0, 0, 8, 0]), /f\.idx: IDX header says 0 dimensions/);
  err(new Uint8Array([0, 0, 8]), /f\.idx: not an IDX file/);
  err(good.subarray(0, 10), /f\.idx: truncated IDX header/);
  err(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 0]), /f\.idx: IDX dimension 1 is zero/);
  err(
    good.subarray(0, good.length - 1),
    /f\.idx: IDX data truncated: dims 2x2x3 need 12 data bytes, the file has 11/,
  );
  const extra = new Uint8Array(good.length + 5);
  extra.set(good);
  err(extra, /f\.idx: IDX data has extra data: dims 2x2x3 need 12 data bytes, the file has 17/);
});

// Issue 18.3: the data size of huge dimensions (a product beyond 2^53) was printed rounded.
Deno.test("parseIdx: the data size of huge dimensions is printed exactly", () => {
  const header = new Uint8Array([0, 0, 8, 3, ...new Array(12).fill(0xff), 1, 2]);
  assert.throws(
    () => parseIdx(header, "big.idx"),
    (e) =>
      e instanceof Error &&
      e.message ===
        "big.idx: IDX data truncated: dims 4294967295x4294967295x4294967295 need " +
          "79228162458924105385300197375 data bytes, the file has 2 (after the 16-byte header)",
  );
});

Deno.test("parseMnist: splits, raw and gzipped input", async () => {
  const files = tinyFiles(12, 5);
  const s = await parseMnist(files);
  assert.equal(s.train.count, 10);
  assert.equal(s.valid.count, 2);
  assert.equal(s.test.count, 5);
  for (const set of [s.train, s.valid, s.test]) {
    assert.equal(set.height, 2);
    assert.equal(set.width, 3);
    assert.equal(set.images.length, set.count * 6);
    assert.equal(set.labels.length, set.count);
  }
  // valid = the last images of the training file
  assert.deepEqual(Array.from(s.valid.labels), [0, 1]);
  assert.equal(s.valid.images[0], (10 * 7 + 60) % 256);
  assert.equal(s.train.images[6], 7 + 6);

  const gz: MnistFiles = {
    trainImages: await gzip(files.trainImages),
    trainLabels: await gzip(files.trainLabels),
    testImages: files.testImages,
    testLabels: await gzip(files.testLabels),
  };
  assert.deepEqual(await parseMnist(gz), s);
});

Deno.test("parseMnist: tutorial split sizes", async () => {
  assert.equal(validationCount(60000), 10000);
  assert.equal(validationCount(70000), 10000);
  assert.equal(validationCount(59999), 9999);
  assert.equal(validationCount(5), 0);
  assert.equal(validationCount(6), 1);
  // A full-size 60,000-image training file with 1x1 images: 50,000 / 10,000.
  const n = 60000;
  const s = await parseMnist({
    trainImages: encodeIdx([n, 1, 1], new Uint8Array(n)),
    trainLabels: encodeIdx([n], new Uint8Array(n)),
    testImages: encodeIdx([10000, 1, 1], new Uint8Array(10000)),
    testLabels: encodeIdx([10000], new Uint8Array(10000)),
  });
  assert.deepEqual([s.train.count, s.valid.count, s.test.count], [50000, 10000, 10000]);
});

Deno.test("parseMnist: count mismatch names both files", async () => {
  const files = tinyFiles(12, 5);
  files.trainLabels = encodeIdx([11], new Uint8Array(11));
  await assert.rejects(
    parseMnist(files, { name: "data/" }),
    /image\/label count mismatch: data\/train-images-idx3-ubyte\.gz has 12 images but data\/train-labels-idx1-ubyte\.gz has 11 labels/,
  );
});

Deno.test("parseMnist: label out of range, wrong ndim, size mismatch", async () => {
  const files = tinyFiles(12, 5);
  files.testLabels = encodeIdx([5], new Uint8Array([1, 2, 10, 3, 4]));
  await assert.rejects(
    parseMnist(files, { fileNames: { testLabels: "t10k-labels-idx1-ubyte" } }),
    /t10k-labels-idx1-ubyte: label 10 at index 2 is out of range 0\.\.9/,
  );
  const f2 = tinyFiles(12, 5);
  f2.trainImages = f2.trainLabels;
  await assert.rejects(
    parseMnist(f2),
    /train-images-idx3-ubyte\.gz: wrong number of IDX dimensions: expected 3, the header says 1/,
  );
  const f3 = tinyFiles(12, 5);
  f3.testImages = encodeIdx([5, 3, 2], new Uint8Array(30));
  await assert.rejects(parseMnist(f3), /image size mismatch/);
});

Deno.test("toFloat scales by 1/255", () => {
  const f = toFloat(new Uint8Array([0, 51, 255]));
  assert.deepEqual(Array.from(f), [0, Math.fround(0.2), 1]);
  const into = new Float32Array(5).fill(-1);
  const g = toFloat(new Uint8Array([255, 0]), into);
  assert.equal(g.buffer, into.buffer);
  assert.deepEqual(Array.from(into), [1, 0, -1, -1, -1]);
  assert.throws(() => toFloat(new Uint8Array(3), new Float32Array(2)), /output has 2/);
});

const REAL = "/work/shared/data/mnist";
const realExists = (() => {
  try {
    return Object.values(MNIST_FILES).every((f) => Deno.statSync(`${REAL}/${f}`).isFile);
  } catch {
    return false;
  }
})();

Deno.test({
  name: `real MNIST from ${REAL}` +
    (realExists ? "" : " (skipped: that folder is not on this machine)"),
  ignore: !realExists,
  fn: async () => {
    const { loadMnist } = await import("../src/data/mnist_deno.ts");
    const s = await loadMnist({ dataDir: REAL });
    assert.deepEqual([s.train.count, s.valid.count, s.test.count], [50000, 10000, 10000]);
    assert.equal(s.train.height, 28);
    assert.equal(s.train.width, 28);
    // The well-known first labels of the training and test files.
    assert.deepEqual(Array.from(s.train.labels.subarray(0, 5)), [5, 0, 4, 1, 9]);
    assert.deepEqual(Array.from(s.test.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  },
});
