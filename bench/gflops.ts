/**
 * Per-kernel table on the current adapter: every WebGPU kernel of the tutorial's LeNet at
 * batch 500, GFLOP/s and GB/s (the minimum bytes each kernel must move), plus the total of one
 * training step's kernels. A kernel's time is (t(1 + K dispatches) - t(1 dispatch)) / K, each
 * the median of `--reps` submissions after a warm-up: the fixed cost of a submission and its
 * wait (about 11 ms on llvmpipe) cancels out. The cases are the per-op benches' (`<op>_bench.ts`).
 *
 *   deno run -A bench/gflops.ts [--reps 5] [--filter conv] [--json]
 *   DENO_WEBGPU_BACKEND=gl deno run -A bench/gflops.ts     (llvmpipe through GL)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { getDevice } from "../src/backends/webgpu/device.ts";
import { gpuRunner } from "./_bench_util.ts";
import { LENET as conv2d } from "./conv2d_bench.ts";
import { LENET as maxpool2d } from "./maxpool2d_bench.ts";
import { LENET as dense } from "./dense_bench.ts";
import { LENET as activations } from "./activations_bench.ts";
import { LENET as softmaxNll } from "./softmax_nll_bench.ts";
import { LENET as sgd } from "./sgd_bench.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    filter: { type: "string", default: "" },
    json: { type: "boolean", default: false },
  },
}).values;
const reps = Number(args.reps);
const device = await getDevice();
const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
const rows: {
  kernel: string;
  op: string;
  shape: string;
  ms: number;
  gflops: number;
  gbs: number;
}[] = [];
for (const c of [conv2d, maxpool2d, dense, activations, softmaxNll, sgd].flat()) {
  if (args.filter && !c.group.includes(args.filter)) continue;
  for (let k = 0; k < c.kernels.length; k++) {
    const call = c.kernels[k];
    const runner = await gpuRunner(c, k);
    const median = async (dispatches: number) => {
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await runner.run(dispatches);
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    };
    await runner.run(1);
    const K = 4;
    const ms = Math.max((await median(1 + K) - await median(1)) / K, 1e-3);
    runner.dispose();
    rows.push({
      kernel: call.spec.shader,
      op: c.group,
      shape: c.shape,
      ms: +ms.toFixed(3),
      gflops: +(call.flops / ms / 1e6).toFixed(2),
      gbs: +(call.bytes / ms / 1e6).toFixed(2),
    });
  }
}
if (args.json) {
  console.log(JSON.stringify({ adapter: info?.description, rows }));
} else {
  console.log(
    `adapter: ${info?.description ?? "?"} (${
      Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default backend"
    })`,
  );
  console.log(
    `${"kernel".padEnd(24)} ${"op".padEnd(30)} ${"ms".padStart(9)} ${"GFLOP/s".padStart(8)} ${
      "GB/s".padStart(7)
    }`,
  );
  for (const r of rows) {
    console.log(
      `${r.kernel.padEnd(24)} ${r.op.padEnd(30)} ${r.ms.toFixed(2).padStart(9)} ${
        r.gflops.toFixed(2).padStart(8)
      } ${r.gbs.toFixed(2).padStart(7)}`,
    );
  }
  const total = rows.filter((r) => !r.op.startsWith("softmax forward")).reduce(
    (a, r) => a + r.ms,
    0,
  );
  console.log(
    `sum of the kernels (a training step, softmax forward excluded): ${total.toFixed(1)} ms`,
  );
}
