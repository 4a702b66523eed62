/**
 * dropout at the shapes of a small modern CNN (batch 500): the CPU reference (baseline), the
 * native backend's twin (the same `cpu/` loop, which it calls) and the WebGPU kernels side by
 * side, one `deno bench` group per op and shape. WebGPU entries are skipped, with a line on
 * stderr saying why, where no adapter is found.
 *
 *   deno bench -A bench/dropout_bench.ts
 *
 * @module
 */
import { dropoutBackward, dropoutForward, dropoutKey } from "../cpu/dropout.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { BATCH, benchCases, F, kernel, type OpCase, rand } from "./_bench_util.ts";

/** Forward and backward of `size` values per sample. */
function dropout(name: string, size: number, rate: number): OpCase[] {
  const n = BATCH * size, key = dropoutKey(1, 1, 0);
  return (["forward", "backward"] as const).map((d) => ({
    group: `dropout ${d} ${name}`,
    shape: `${BATCH}x${size} rate ${rate}`,
    kernels: [kernel(specs.dropout(d, size, rate, 0), 12 * n, F * 2 * n)], // two hashes a value
    cpu() {
      const [x, y] = [rand(n), new Float32Array(n)];
      const run = d === "forward" ? dropoutForward : dropoutBackward;
      return () => run(y, x, rate, key);
    },
    nativeNote: "the cpu/ loop, which the native backend calls",
  }));
}

/** A small modern CNN's dropouts. */
export const MODERN: OpCase[] = [
  ...dropout("after a dense 128", 128, 0.5),
  ...dropout("32x7x7", 32 * 7 * 7, 0.25),
];

await benchCases(MODERN, 3);
