/**
 * Writes the demo page's shipped checkpoint: the weights of a checkpoint written by
 * `examples/lenet.ts --save`, measured on MNIST's 10,000 test images with the library, saved
 * weights-only with metadata (convention, source command, measured test error).
 *
 *   deno run -A examples/web/make_checkpoint.ts --from run.safetensors --data DIR \
 *     --source "deno run -A examples/lenet.ts ..." [--out examples/web/lenet-mnist.safetensors]
 *     [--max-error 0.0095] [--backend cpu]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodeSafetensors, lenet5, Sequential, type Tensor, toFloat } from "../../mod.ts";
import type { BackendName } from "../../src/backend.ts";
import { loadMnist } from "../../src/data/mnist_deno.ts";
import { loadCheckpoint, writeFileAtomic } from "../../src/checkpoint_deno.ts";

/** Pixels k/256: the convention `examples/lenet.ts` trains with by default ("tutorial"). */
const SCALE = 1 / 256;

const args = parseArgs({
  args: Deno.args,
  options: {
    from: { type: "string" },
    data: { type: "string" },
    source: { type: "string" },
    out: { type: "string", default: new URL("lenet-mnist.safetensors", import.meta.url).pathname },
    "max-error": { type: "string", default: "0.0095" },
    backend: { type: "string", default: "cpu" },
  },
}).values;
if (!args.from || !args.source) {
  console.error(
    "usage: make_checkpoint.ts --from CHECKPOINT --source COMMAND [--data DIR] [--out FILE]",
  );
  Deno.exit(2);
}

const { tensors, metadata } = await loadCheckpoint(args.from);
const config = JSON.parse(metadata.config ?? "{}");
if ((config.convention ?? "tutorial") !== "tutorial") {
  throw new Error(`${args.from}: convention "${config.convention}"; the page feeds pixels k/256`);
}
const weights: Record<string, Tensor> = {};
for (const [name, t] of Object.entries(tensors)) weights[name] = { shape: t.shape, data: t.data };

const model = await Sequential.create({
  inputShape: [1, 28, 28],
  layers: lenet5(),
  batchSize: 500,
  backend: args.backend as BackendName,
});
await model.setWeights(weights);
const { test } = await loadMnist({ dataDir: args.data });
const t0 = performance.now();
const r = await model.evaluate(toFloat(test.images, undefined, SCALE), test.labels);
model.dispose();
const percent = (r.errorRate * 100).toFixed(2);
console.log(
  `${args.from}: test error ${percent} % (${r.errors} of ${r.count}), loss ${r.loss.toFixed(5)}, ` +
    `${args.backend} backend, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
if (r.errorRate > Number(args["max-error"])) {
  console.error(`refused: test error above --max-error ${args["max-error"]}`);
  Deno.exit(1);
}
const state = metadata.state ? JSON.parse(metadata.state) : {};
await writeFileAtomic(
  args.out,
  encodeSafetensors(tensors, {
    format: "lenet-webgpu/1",
    model: "lenet5() (kernels 20, 50; hidden 500; 10 classes), input [1, 28, 28]",
    convention: "tutorial",
    pixel_scale: "1/256",
    source: args.source,
    epochs: String(state.epoch ?? ""),
    test_error:
      `${percent} % (${r.errors} of ${r.count} MNIST test images, ${args.backend} backend)`,
  }),
);
console.log(`wrote ${args.out}`);
