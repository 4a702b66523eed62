/**
 * The demo page's speed in headless Chromium (WebGPU on SwiftShader there), beside Deno's
 * WebGPU adapter: opens examples/web/ with `?train=1&batch=B` and reads the page's own marks.
 *
 * Per page load (run): ms from navigation to the shipped checkpoint ready (its shaders
 * compiled), to MNIST fetched and parsed, to the training model built (shaders compiled
 * again), to the first trained step; the median training step after the first; then the
 * batch-1 prediction latency (the model's predict, and the whole pad path: canvas read,
 * preprocessing, predict, bars). Then Deno: batch-1 predict latency on its own adapter.
 * Training images/s in Deno: `deno run -A bench/train_step.ts --backends webgpu`.
 *
 *   deno run -A bench/browser.ts [--runs 3] [--steps 6] [--batch 500] [--data DIR]
 */
import { parseArgs } from "node:util";
import { withBrowserPage } from "../tests/_browser.ts";
import { demoHandler } from "../examples/web/serve.ts";
import { decodeSafetensors, lenet5, Sequential, type Tensor } from "../mod.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    steps: { type: "string", default: "6" },
    batch: { type: "string", default: "500" },
    predictions: { type: "string", default: "30" },
    data: {
      type: "string",
      default: new URL("../../shared/data/mnist/", import.meta.url).pathname,
    },
  },
}).values;
const runs = Number(args.runs), steps = Number(args.steps), batch = Number(args.batch);
const reps = Number(args.predictions);

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A digit-like test image: a ring. */
const ring = new Uint8Array(784).map((_, i) => {
  const r = Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5);
  return r > 5 && r < 8 ? 255 : 0;
});

interface Run {
  marks: Record<string, number>;
  stepMs: number;
  predictMs: number;
  padMs: number;
  adapter: string;
}

const handler = await demoHandler(args.data);
const results: Run[] = [];
for (let r = 0; r < runs; r++) {
  const run = await withBrowserPage(async ({ page }) => {
    await page.evaluate("globalThis.lenetDemo.ready");
    // Training started at load (train=1); wait for `steps` more steps, then stop.
    for (;;) {
      const t = await page.evaluate("globalThis.lenetDemo.training()") as
        | { step: number; stepSeconds: number[] }
        | null;
      if (t && t.step >= steps + 1) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    await page.evaluate("globalThis.lenetDemo.stop()");
    const t = await page.evaluate("globalThis.lenetDemo.training()") as { stepSeconds: number[] };
    const timing = await page.evaluate(
      async (image: number[], reps: number) => {
        // deno-lint-ignore no-explicit-any
        const demo = (globalThis as any).lenetDemo;
        const img = new Uint8Array(image);
        const predict: number[] = [], pad: number[] = [];
        await demo.classify(img, "shipped"); // warm-up
        for (let i = 0; i < reps; i++) {
          const t0 = performance.now();
          await demo.classify(img, "shipped");
          predict.push(performance.now() - t0);
        }
        demo.paintPad(img, 28, 28);
        for (let i = 0; i < reps; i++) {
          const t0 = performance.now();
          await demo.classifyPad();
          pad.push(performance.now() - t0);
        }
        return { predict, pad, marks: demo.marks, adapter: demo.backend().label };
      },
      Array.from(ring),
      reps,
    );
    return {
      marks: timing.marks,
      stepMs: median(t.stepSeconds.slice(1)) * 1000,
      predictMs: median(timing.predict),
      padMs: median(timing.pad),
      adapter: timing.adapter,
    };
  }, { serve: handler, path: `/?train=1&batch=${batch}&validEvery=1000000` });
  console.log(`run ${r + 1}: ${JSON.stringify(run)}`);
  results.push(run);
}

// Deno, same checkpoint and model size as the page's, on Deno's own adapter.
const info = (await navigator.gpu.requestAdapter())?.info;
const denoAdapter = info ? [info.vendor, info.architecture, info.description].join(" ") : "none";
const { tensors } = decodeSafetensors(
  await Deno.readFile(new URL("../examples/web/lenet-mnist.safetensors", import.meta.url)),
);
const weights: Record<string, Tensor> = {};
for (const [name, t] of Object.entries(tensors)) weights[name] = { shape: t.shape, data: t.data };
const model = await Sequential.create({
  inputShape: [1, 28, 28],
  layers: lenet5(),
  batchSize: 100,
  backend: "webgpu",
});
await model.setWeights(weights);
const x = Float32Array.from(ring, (v) => v / 256);
await model.predict(x);
const denoTimes: number[] = [];
for (let i = 0; i < reps; i++) {
  const t0 = performance.now();
  await model.predict(x);
  denoTimes.push(performance.now() - t0);
}
model.dispose();

const m = (k: string) => median(results.map((r) => r.marks[k]));
const stepMs = median(results.map((r) => r.stepMs));
console.log(`\nheadless Chromium, ${results[0]?.adapter}; medians of ${runs} page loads:`);
console.log(`  navigation -> shipped checkpoint ready     ${(m("ready") / 1000).toFixed(1)} s`);
console.log(
  `  navigation -> MNIST fetched and parsed     ${(m("dataLoaded") / 1000).toFixed(1)} s`,
);
console.log(
  `  navigation -> training model built         ${(m("modelBuilt") / 1000).toFixed(1)} s`,
);
console.log(
  `  navigation -> first trained step (b ${batch})  ${(m("firstStep") / 1000).toFixed(1)} s`,
);
console.log(
  `  training step, batch ${batch} (median of ${steps} after the first, each run): ${
    stepMs.toFixed(0)
  } ms = ${(batch / stepMs * 1000).toFixed(1)} images/s`,
);
console.log(
  `  batch-1 prediction (model.predict, median of ${reps}): ${
    median(results.map((r) => r.predictMs)).toFixed(1)
  } ms; pad -> bars: ${median(results.map((r) => r.padMs)).toFixed(1)} ms`,
);
console.log(
  `Deno ${Deno.version.deno}, ${denoAdapter}: batch-1 prediction ${
    median(denoTimes).toFixed(1)
  } ms`,
);
