/**
 * Images per second of one LeNet training step (batch 500) on each backend:
 * median of N timed steps after 2 warm-ups, each step ending with the loss read
 * back (the protocol of ../shared/peers).
 *
 *   deno run -A bench/train_step.ts [--steps 7] [--backends native,webgpu,cpu] [--json]
 */
import { parseArgs } from "node:util";
import { benchModel, lenetBenchData } from "./_train_step_util.ts";
import type { BackendName } from "../src/backend.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "7" },
    batch: { type: "string", default: "500" },
    backends: { type: "string", default: "native,webgpu,cpu" },
    json: { type: "boolean", default: false },
  },
}).values;
const steps = Number(args.steps), batch = Number(args.batch);
const { x, labels } = lenetBenchData(batch);
const results: Record<string, unknown>[] = [];
for (const backend of args.backends.split(",") as BackendName[]) {
  const model = await benchModel(backend, batch);
  if (!model) continue;
  const n = backend === "cpu" ? Math.min(steps, 3) : steps;
  const losses: number[] = [];
  for (let i = 0; i < 2; i++) losses.push(await model.trainStep(x, labels));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    losses.push(await model.trainStep(x, labels));
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  results.push({
    backend,
    batch,
    train_step_s_median: +median.toFixed(4),
    train_img_per_s: +(batch / median).toFixed(1),
    first_losses: losses.slice(0, 3).map((l) => +l.toFixed(4)),
  });
  model.dispose();
}
if (args.json) {
  console.log(JSON.stringify(results));
} else {
  console.log("backend   step (median)   train images/s");
  for (const r of results) {
    console.log(
      `${String(r.backend).padEnd(9)} ${
        (Number(r.train_step_s_median) * 1000).toFixed(1).padStart(9)
      } ms ${String(r.train_img_per_s).padStart(16)}`,
    );
  }
}
