/**
 * The demo page (examples/web/) in headless Chromium, WebGPU on SwiftShader: it loads with no
 * console error; the shipped checkpoint classifies the first 100 MNIST test images, pushed
 * through the page's own drawing pad, preprocessing and inference, exactly as Deno does on the
 * `cpu` backend; pointer strokes of a 1, a 0 and a 7 get their class; a few training steps in
 * the page lower the loss; without WebGPU the page says so and runs on `cpu`. Writes a
 * screenshot of the page to $SCREENSHOT when set (the README's examples/web/screenshot.png is
 * made with `SCREENSHOT=examples/web/screenshot.png deno test -A tests/web_demo_browser_test.ts`),
 * else to a temporary file, so a test run never changes the tree.
 */
import { skipReason, withBrowserPage } from "./_browser.ts";
import { demoHandler } from "../examples/web/serve.ts";
import { mnistFromInk } from "../examples/web/preprocess.ts";
import {
  decodeSafetensors,
  lenet5,
  MNIST_FILES,
  parseMnist,
  Sequential,
  type Tensor,
} from "../mod.ts";
import { AssertionError } from "./_assert.ts";
import type { Page } from "puppeteer-core";

const DATA = new URL("../../shared/data/mnist/", import.meta.url);
const WEB = new URL("../examples/web/", import.meta.url);
const PAD = 280; // the pad's canvas size (examples/web/index.html)
const N = 100;

const haveData = Object.values(MNIST_FILES).every((f) => {
  try {
    return Deno.statSync(new URL(f, DATA)).isFile;
  } catch {
    return false;
  }
});
if (!haveData) console.log(`web demo browser test skipped: no MNIST files in ${DATA.pathname}`);

function assert(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new AssertionError({ message: msg });
}

const argmax = (p: ArrayLike<number>) => Array.from(p).indexOf(Math.max(...Array.from(p)));

/** The first `N` MNIST test images, and each as the pad shows it (10x, nearest). */
async function testImages(): Promise<{ images: Uint8Array[]; labels: number[] }> {
  const f = MNIST_FILES;
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [f.trainImages, f.trainLabels, f.testImages, f.testLabels].map((n) =>
      Deno.readFile(new URL(n, DATA))
    ),
  );
  const { test } = await parseMnist({ trainImages, trainLabels, testImages, testLabels });
  const images = Array.from({ length: N }, (_, i) => test.images.slice(i * 784, (i + 1) * 784));
  return { images, labels: Array.from(test.labels.subarray(0, N)) };
}

/** What Deno computes for the same images: the page's upscaling, preprocessing, `cpu` model. */
async function denoPredictions(images: Uint8Array[]) {
  const { tensors } = decodeSafetensors(
    await Deno.readFile(new URL("lenet-mnist.safetensors", WEB)),
  );
  const weights: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) weights[name] = { shape: t.shape, data: t.data };
  const model = await Sequential.create({
    inputShape: [1, 28, 28],
    layers: lenet5(),
    batchSize: N,
    backend: "cpu",
  });
  await model.setWeights(weights);
  const pre = images.map((src) => {
    const big = new Uint8Array(PAD * PAD);
    for (let y = 0; y < PAD; y++) {
      for (let x = 0; x < PAD; x++) {
        big[y * PAD + x] = src[Math.floor(y * 28 / PAD) * 28 + Math.floor(x * 28 / PAD)];
      }
    }
    return mnistFromInk({ width: PAD, height: PAD, data: big })!;
  });
  const x = new Float32Array(N * 784);
  pre.forEach((p, i) => {
    for (let j = 0; j < 784; j++) x[i * 784 + j] = p[j] / 256; // the tutorial's k/256
  });
  const probs = await model.predict(x);
  model.dispose();
  return { pre, probs: pre.map((_, i) => probs.subarray(i * 10, (i + 1) * 10)) };
}

/** In the page: paints each image on the pad and classifies the pad, as after a stroke. */
function pageClassifies(page: Page, images: Uint8Array[]) {
  return page.evaluate(async (imgs: number[][]) => {
    // deno-lint-ignore no-explicit-any
    const demo = (globalThis as any).lenetDemo;
    const out = [];
    for (const img of imgs) {
      demo.paintPad(new Uint8Array(img), 28, 28);
      const r = await demo.classifyPad();
      out.push({
        image: Array.from(r.image as Uint8Array),
        probs: Array.from(r.probs as Float32Array),
      });
    }
    return out;
  }, images.map((a) => Array.from(a)));
}

/** Draws strokes on the pad with the mouse (pointer events); points in pad fractions. */
async function draw(page: Page, strokes: [number, number][][]): Promise<number[]> {
  await page.click("#clear");
  const box = (await (await page.$("#pad"))!.boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(p), { steps: 6 });
    await page.mouse.up();
  }
  const r = await page.evaluate(
    "globalThis.lenetDemo.lastClassification().then((r) => r && Array.from(r.probs))",
  ) as number[] | null;
  assert(r !== null, "the stroke was not classified");
  const shown = await page.$$eval(
    "#bars .bar",
    (bars) => bars.findIndex((b) => b.classList.contains("top")),
  );
  assert(shown === argmax(r), `the bars show ${shown} on top, the probabilities say ${argmax(r)}`);
  return r;
}

const ellipse = (cx: number, cy: number, rx: number, ry: number) =>
  Array.from({ length: 33 }, (_, i) => {
    const a = (i / 32) * 2 * Math.PI;
    return [cx + rx * Math.sin(a), cy - ry * Math.cos(a)] as [number, number];
  });
const DIGITS: [number, [number, number][][]][] = [
  [1, [[[0.52, 0.18], [0.48, 0.82]]]],
  [0, [ellipse(0.5, 0.5, 0.2, 0.3)]],
  [7, [[[0.3, 0.22], [0.7, 0.22], [0.45, 0.82]]]],
];

Deno.test({
  name:
    "web demo: loads, matches Deno on 100 MNIST digits, reads strokes, trains, falls back to cpu",
  ignore: skipReason !== null || !haveData,
  async fn() {
    const [{ images, labels }, handler] = await Promise.all([
      testImages(),
      demoHandler(DATA.pathname),
    ]);
    const deno = await denoPredictions(images);
    await withBrowserPage(async ({ page, origin, consoleErrors }) => {
      await page.setViewport({ width: 1060, height: 760 });
      const demo = <T>(f: string) => page.evaluate(`globalThis.lenetDemo.${f}`) as Promise<T>;
      await demo("ready");
      const backend = await demo<{ name: string; label: string }>("backend()");
      assert(backend.name === "webgpu", `backend ${backend.name}: ${backend.label}`);
      assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join("; ")}`);

      // The shipped checkpoint through the page's pad, preprocessing and WebGPU inference.
      const t0 = performance.now();
      const got = await pageClassifies(page, images);
      let maxDiff = 0, agree = 0, right = 0;
      got.forEach((g, i) => {
        const same = g.image.every((v, j) => v === deno.pre[i][j]);
        assert(same, `image ${i}: the page's preprocessed pixels differ from Deno's`);
        for (let k = 0; k < 10; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(g.probs[k] - deno.probs[i][k]));
        }
        if (argmax(g.probs) === argmax(deno.probs[i])) agree++;
        if (argmax(g.probs) === labels[i]) right++;
      });
      console.log(
        `100 MNIST test digits through the page: ${agree} classified as in Deno (cpu), ` +
          `${right} right, largest probability difference ${maxDiff.toExponential(2)}, ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      assert(agree === N, `${N - agree} of ${N} digits classified differently from Deno`);
      assert(maxDiff < 1e-4, `probabilities differ from Deno's by ${maxDiff}`);

      // Digits drawn with the mouse.
      for (const [digit, strokes] of DIGITS) {
        const p = await draw(page, strokes);
        console.log(`drawn ${digit}: classified ${argmax(p)} (p = ${p[argmax(p)].toFixed(3)})`);
        assert(argmax(p) === digit, `a drawn ${digit} was classified ${argmax(p)}`);
      }

      // A few training steps in the page (a tiny batch: SwiftShader is slow).
      await demo("train(12)");
      const t = await demo<{ losses: number[]; errors: number[] }>("training()");
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      const first = mean(t.losses.slice(0, 3)), last = mean(t.losses.slice(-3));
      console.log(
        `12 training steps in the page: loss ${t.losses.map((l) => l.toFixed(3)).join(" ")}; ` +
          `validation error ${t.errors.map((e) => (e * 100).toFixed(0) + " %").join(", ")}`,
      );
      assert(last < first - 0.1, `mean loss of the first 3 steps ${first}, of the last 3 ${last}`);
      // The model just trained classifies too.
      await page.select("#model-choice", "trained");
      const p = await draw(page, DIGITS[2][1]);
      assert(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to ${p}`);
      await page.select("#model-choice", "shipped");
      await draw(page, DIGITS[2][1]);
      const shot = Deno.env.get("SCREENSHOT") ?? await Deno.makeTempFile({ suffix: ".png" });
      await page.screenshot({ path: shot });
      console.log(`screenshot of the page: ${shot}`);

      // Without WebGPU: said on the page, runs on cpu, same result as Deno.
      await page.evaluateOnNewDocument(() =>
        Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined })
      );
      await page.goto(`${origin}/`);
      await demo("ready");
      const cpu = await demo<{ name: string; label: string }>("backend()");
      assert(cpu.name === "cpu", `without navigator.gpu the page chose ${cpu.name}`);
      const text = await page.$eval("#backend", (e) => `${e.className}|${e.textContent}`);
      assert(/warn\|.*no WebGPU.*running on the CPU/.test(text), `the page says "${text}"`);
      const [c] = await pageClassifies(page, images.slice(0, 1));
      assert(argmax(c.probs) === argmax(deno.probs[0]), "cpu in the page disagrees with Deno");
    }, { serve: handler, path: "/?batch=20&lr=0.1&momentum=0&limit=200&valid=100&validEvery=4" });
  },
});
