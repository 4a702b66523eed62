/**
 * The demo page's preprocessing (examples/web/preprocess.ts): MNIST's recipe, bounding box
 * fitted into 20x20 with grey levels, centre of mass at the centre of 28x28.
 */
import {
  BOX,
  centreByMass,
  FIELD,
  fitToBox,
  inkBounds,
  inkFromRgba,
  type InkImage,
  mnistFromInk,
} from "../examples/web/preprocess.ts";
import { parseMnist } from "../mod.ts";
import { AssertionError } from "./_assert.ts";

function assert(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new AssertionError({ message: msg });
}

/** Ink image of `w` x `h` with rectangles of full ink. */
function rects(w: number, h: number, ...boxes: [number, number, number, number][]): InkImage {
  const data = new Uint8Array(w * h);
  for (const [x0, y0, x1, y1] of boxes) {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = 255;
  }
  return { width: w, height: h, data };
}

/** Bounds of the non-zero pixels of a 28x28 image and its centre of mass. */
function describe(img: Uint8Array) {
  const b = inkBounds({ width: FIELD, height: FIELD, data: img })!;
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < FIELD; y++) {
    for (let x = 0; x < FIELD; x++) {
      const v = img[y * FIELD + x];
      m += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  return { bounds: b, cx: mx / m, cy: my / m };
}

Deno.test("preprocess: a blank pad gives null", () => {
  assert(mnistFromInk(rects(50, 40)) === null, "blank image should give null");
});

Deno.test("preprocess: inkFromRgba is the mean of R, G, B and checks its size", () => {
  const ink = inkFromRgba([30, 60, 90, 255, 255, 255, 255, 0], 2, 1);
  assert(ink.data[0] === 60 && ink.data[1] === 255, `got ${Array.from(ink.data)}`);
  let threw = false;
  try {
    inkFromRgba([0, 0, 0], 1, 1);
  } catch (e) {
    threw = e instanceof RangeError && /1x1 needs 4 bytes, got 3/.test(e.message);
  }
  assert(threw, "a short RGBA array must throw a RangeError naming the sizes");
});

Deno.test("preprocess: a tall bar keeps its aspect ratio, 20 high and centred", () => {
  // 48 x 160 ink in a 300 x 300 pad: scaled by 20/160 -> 6 x 20.
  const img = mnistFromInk(rects(300, 300, [200, 100, 248, 260]))!;
  const { bounds: [x0, y0, x1, y1], cx, cy } = describe(img);
  assert(y1 - y0 === BOX, `height ${y1 - y0}, expected ${BOX}`);
  assert(x1 - x0 === 6, `width ${x1 - x0}, expected 6`);
  assert(Math.abs(cx - 14) <= 0.5 && Math.abs(cy - 14) <= 0.5, `centre of mass ${cx}, ${cy}`);
  assert(img[14 * FIELD + Math.floor(cx)] === 255, "the bar's inside is full ink");
});

Deno.test("preprocess: edges that fall between pixels get grey levels (area averaging)", () => {
  // 30 x 100 ink -> 6 x 20, its edges on box pixel boundaries: no grey.
  const clean = fitToBox(rects(200, 200, [50, 50, 80, 150]), [50, 50, 80, 150]);
  assert(Math.round(clean[10 * BOX + 7]) === 255 && clean[10 * BOX + 6] === 0, "aligned edges");
  // 31 x 100 -> 6.2 x 20, centred: 0.1 of a pixel on each side is grey.
  const img = rects(200, 200, [50, 50, 81, 150]);
  const grey = fitToBox(img, inkBounds(img)!);
  const values = Array.from(grey.subarray(10 * BOX, 11 * BOX), Math.round);
  const partial = values.filter((v) => v > 0 && v < 255);
  assert(partial.length === 2, `expected two grey edge pixels, got ${values}`);
});

Deno.test("preprocess: the centre of mass, not the box, is centred", () => {
  // An L: a heavy bottom bar pulls the centre of mass down, so the box moves up.
  const img = mnistFromInk(rects(200, 200, [40, 20, 60, 180], [40, 140, 200, 180]))!;
  const { bounds: [, y0, , y1], cx, cy } = describe(img);
  assert(Math.abs(cx - 14) <= 0.5 && Math.abs(cy - 14) <= 0.5, `centre of mass ${cx}, ${cy}`);
  assert(y0 < FIELD - y1, `box rows ${y0}..${y1} should sit above the middle`);
});

Deno.test("preprocess: centreByMass drops what a whole-pixel shift pushes out", () => {
  const box = new Float32Array(BOX * BOX);
  box[0] = 255; // a single ink pixel at the corner: shifted by 14 - 0.5 -> 13 or 14
  const img = centreByMass(box);
  assert(img[13 * FIELD + 13] === 255 || img[14 * FIELD + 14] === 255, "corner pixel centred");
  assert(img.reduce((a, b) => a + b, 0) === 255, "one pixel only");
});

const DATA = new URL("../../shared/data/mnist/", import.meta.url);
const files = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
];
const haveData = files.every((f) => {
  try {
    return Deno.statSync(new URL(f, DATA)).isFile;
  } catch {
    return false;
  }
});
if (!haveData) console.log(`preprocess MNIST test skipped: no MNIST files in ${DATA.pathname}`);

Deno.test({
  name: "preprocess: MNIST test digits, drawn 10x larger, come back 20 pixels tall and centred",
  ignore: !haveData,
  async fn() {
    const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
      files.map((f) => Deno.readFile(new URL(f, DATA))),
    );
    const { test } = await parseMnist({ trainImages, trainLabels, testImages, testLabels });
    let sameBox = 0;
    for (let i = 0; i < 100; i++) {
      const src = test.images.subarray(i * 784, (i + 1) * 784);
      const big = new Uint8Array(280 * 280);
      for (let y = 0; y < 280; y++) {
        for (let x = 0; x < 280; x++) {
          big[y * 280 + x] = src[Math.floor(y / 10) * 28 + Math.floor(x / 10)];
        }
      }
      const img = mnistFromInk({ width: 280, height: 280, data: big })!;
      const { bounds: [x0, y0, x1, y1], cx, cy } = describe(img);
      assert(Math.max(x1 - x0, y1 - y0) <= BOX + 1, `image ${i}: box ${x1 - x0} x ${y1 - y0}`);
      assert(
        Math.abs(cx - 14) <= 0.5 && Math.abs(cy - 14) <= 0.5,
        `image ${i}: centre ${cx}, ${cy}`,
      );
      const [a0, b0, a1, b1] = inkBounds({ width: 28, height: 28, data: src })!;
      if (Math.max(a1 - a0, b1 - b0) === Math.max(x1 - x0, y1 - y0)) sameBox++;
    }
    // MNIST digits were made this way: most keep their longer side (20 pixels) exactly.
    assert(sameBox >= 90, `only ${sameBox} of 100 digits kept the size of their longer side`);
  },
});
