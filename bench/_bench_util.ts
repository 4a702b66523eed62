/**
 * What the per-op benches share: an {@link OpCase} is one op at one shape (WebGPU kernels,
 * `cpu/` twin, native twin, FLOP and byte counts); {@link benchCases} registers it on every
 * backend in one `deno bench` group. An op's shapes, and the glue that runs it at a shape,
 * live in its `bench/<op>_bench.ts`, which exports its cases (`gflops.ts` reads the LeNet's):
 * a new shape is one line there, a new op one such file.
 *
 * The native backend fuses what follows a GEMM (conv + pool + tanh, dense + tanh), but its
 * building blocks run alone too: a `ConvStage` or `DenseStage` without pooling or activation
 * is exactly the unfused op, a `PoolStage` without activation exactly the pooling, and a lone
 * activation a copy plus the in-place loop. Where the native backend calls a `cpu/` loop
 * itself (softmax, NLL, dropout, the optimizers) its entry runs that loop. Each native
 * entry's name says what it runs; `native_bench.ts` times the fused stages themselves.
 *
 * @module
 */
import { type Blas, BlasNotFoundError, tryLoadBlas } from "../src/backends/native/blas.ts";
import { getDevice, upload } from "../src/backends/webgpu/device.ts";
import {
  type Dispatch,
  Kernel,
  type KernelSpec,
  packParams,
  PARAMS_SIZE,
  type PoolDims,
} from "../src/backends/webgpu/kernels.ts";
import type { ParamsName } from "../src/backends/webgpu/params.ts";
import { poolOutputSize } from "../src/shapes.ts";
import { RandomState } from "../src/random.ts";

/** The batch of every case: the tutorial's. */
export const BATCH = 500;
/** Bytes per float. */
export const F = 4;

const rng = new RandomState(42);
/** `n` random floats in [-1, 1), from one fixed seed. */
export const rand = (n: number): Float32Array => Float32Array.from(rng.uniform(-1, 1, n));
/** `n` class labels in 0..9. */
export const labels = (n: number): Int32Array =>
  Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);

/** One kernel launch of a case: its spec, bound at the sizes `spec.sizes(BATCH)` gives. */
export interface KernelCall {
  spec: KernelSpec;
  /** Work of this kernel alone, for the per-kernel table. */
  flops: number;
  /** Bytes this kernel must move at least (each input read once, each output written once). */
  bytes: number;
}

/** A kernel call of `flops` work; `bytes` defaults to every binding moved once. */
export function kernel(spec: KernelSpec, flops: number, bytes?: number): KernelCall {
  const sizes = Object.values(spec.sizes!(BATCH));
  return { spec, flops, bytes: bytes ?? F * sizes.reduce((a, b) => a + b, 0) };
}

/** One run of an op's twin (the conv stages await GEMMs on another thread). */
export type Run = () => void | Promise<void>;

/** An op at one shape: the WebGPU kernels, the CPU and native twins. */
export interface OpCase {
  /** Bench group, e.g. `"conv2d forward conv1"`. */
  group: string;
  /** Shapes, for the tables. */
  shape: string;
  /** The WebGPU kernels that together equal the CPU twin. */
  kernels: KernelCall[];
  /** Other uniform fields of the kernels (`count` is the batch, `lr` 0.01 unless given). */
  params?: Partial<Record<ParamsName, number>>;
  /** Builds the CPU twin on preallocated arrays; the returned function runs it once. */
  cpu(): () => void;
  /** What the native entry runs, e.g. `"im2col + sgemm"`. */
  nativeNote: string;
  /** Builds the native twin; absent where the native backend calls the `cpu/` twin. */
  native?(blas: Blas): Run | Promise<Run>;
}

/** A pooling's shape before its output size, which {@link pooled} adds. */
export type PoolSize = Omit<PoolDims, "OH" | "OW">;

/**
 * A pooling at batch {@link BATCH}: its kernel dims, `cpu/` shape, sizes and table label.
 *
 * @param p The pooling's shape.
 * @returns Everything the pooling benches bind.
 */
export function pooled(p: PoolSize) {
  const [SH, SW] = [p.SH ?? p.PH, p.SW ?? p.PW];
  const OH = poolOutputSize(p.H, p.PH, SH, p.ignoreBorder);
  const d: PoolDims = { ...p, OH, OW: poolOutputSize(p.W, p.PW, SW, p.ignoreBorder) };
  const s = {
    batch: BATCH,
    channels: d.C,
    height: d.H,
    width: d.W,
    poolH: d.PH,
    poolW: d.PW,
    strideH: SH,
    strideW: SW,
    ignoreBorder: d.ignoreBorder,
  };
  const shape = `${BATCH}x${d.C}x${d.H}x${d.W} / ${d.PH}x${d.PW}` +
    (SH !== d.PH || SW !== d.PW ? ` stride ${SH}x${SW}` : "");
  const [xs, ys] = [BATCH * d.C * d.H * d.W, BATCH * d.C * OH * d.OW];
  const geometry = {
    inShape: [d.C, d.H, d.W],
    outShape: [d.C, OH, d.OW],
    poolH: d.PH,
    poolW: d.PW,
  };
  return { d, s, xs, ys, shape, geometry: { ...geometry, strideH: SH, strideW: SW } };
}

/** Runs a case's kernels on the GPU: `run(reps)` records `reps` rounds, submits, waits. */
export interface GpuRunner {
  run(reps: number): Promise<void>;
  dispose(): void;
}

/**
 * Compiles and binds a case's kernels on random inputs (a binding named `labels` gets labels).
 *
 * @param c The case.
 * @param only Index of one kernel of the case, or all of them.
 * @returns The runner.
 */
export async function gpuRunner(c: OpCase, only?: number): Promise<GpuRunner> {
  const device = await getDevice();
  const calls = only === undefined ? c.kernels : [c.kernels[only]];
  const buffers: GPUBuffer[] = [];
  const make = (size: number, data?: ArrayBufferView, usage: number = GPUBufferUsage.STORAGE) => {
    const b = device.createBuffer({ size, usage: usage | GPUBufferUsage.COPY_DST });
    if (data) upload(device, b, 0, data);
    buffers.push(b);
    return b;
  };
  const fields = { count: BATCH, lr: 0.01, ...c.params };
  const params = make(PARAMS_SIZE, new Uint8Array(packParams(fields)), GPUBufferUsage.UNIFORM);
  const dispatches: Dispatch[] = [];
  for (const call of calls) {
    const kernel = await Kernel.create(device, call.spec);
    const args: Record<string, GPUBuffer> = {};
    for (const [name, n] of Object.entries(call.spec.sizes!(BATCH))) {
      args[name] = make(n * 4, name === "labels" ? labels(n) : rand(n));
    }
    dispatches.push(kernel.bind({ params, ...args }, BATCH));
  }
  return {
    async run(reps: number) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let r = 0; r < reps; r++) for (const d of dispatches) d.record(pass, BATCH);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    dispose() {
      for (const b of buffers) b.destroy();
    },
  };
}

/** Whether a WebGPU adapter exists (one line on stderr says why not). */
export async function hasWebGpu(): Promise<boolean> {
  try {
    await getDevice();
    return true;
  } catch (e) {
    console.error(`webgpu benches skipped: ${(e as Error).message}`);
    return false;
  }
}

let blasProbe: Blas | null | undefined;

/**
 * The system CBLAS for the native entries, loaded once; null (and one line on stderr that
 * says why) when none loads or `--allow-ffi` is missing.
 */
export function nativeBlas(): Blas | null {
  if (blasProbe !== undefined) return blasProbe;
  const probe = tryLoadBlas();
  if ("error" in probe) {
    const e = probe.error;
    let why = e.message;
    if (e instanceof BlasNotFoundError) {
      const reasons = new Set(e.tried.map((t) => t.reason));
      why = reasons.size === 1
        ? `${[...reasons][0]}; tried ${e.tried.map((t) => t.path).join(", ")}`
        : e.tried.map((t) => `${t.path}: ${t.reason}`).join("; ");
    }
    console.error(`native benches skipped, no CBLAS loaded (${why})`);
    return blasProbe = null;
  }
  const { blas } = probe, threads = blas.threads();
  console.error(
    `native benches: ${blas.path}, ${blas.config() ?? "not OpenBLAS"}` +
      (threads === null ? "" : `, ${threads} threads`),
  );
  return blasProbe = blas;
}

/**
 * Registers, for each case, a CPU baseline, its native twin and its WebGPU twin in one
 * `deno bench` group. The native and WebGPU entries are ignored (skipped) where no CBLAS or
 * no adapter is found. Under `deno run` (`gflops.ts` importing the cases) it registers nothing.
 *
 * @param cases The cases.
 * @param cpuRuns `n` of the CPU entries (the reference is slow at batch 500).
 */
export async function benchCases(cases: OpCase[], cpuRuns = 3): Promise<void> {
  const gpu = await hasWebGpu(), blas = nativeBlas();
  for (const c of cases) {
    let cpuRun: (() => void) | null = null;
    Deno.bench({
      name: `${c.group} cpu`,
      group: c.group,
      baseline: true,
      n: cpuRuns,
      warmup: 1,
      fn: () => (cpuRun ??= c.cpu())(),
    });
    const entry = (backend: string, make: () => Run | Promise<Run>, opts: object) => {
      let run: Run | null = null;
      Deno.bench({
        name: `${c.group} ${backend}`,
        group: c.group,
        ...opts,
        async fn() {
          run ??= await make();
          await run();
        },
      });
    };
    const native = () => c.native ? c.native(blas!) : c.cpu();
    entry(`native (${c.nativeNote})`, native, {
      ignore: blas === null,
      n: Math.max(10, cpuRuns),
      warmup: 2,
    });
    entry("webgpu", async () => {
      const runner = await gpuRunner(c);
      return () => runner.run(1);
    }, { ignore: !gpu, n: 10, warmup: 2 });
  }
}
