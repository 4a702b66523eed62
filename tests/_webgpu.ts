/**
 * Shared by the WebGPU tests: whether an adapter exists (tests are skipped, with one line
 * saying why, where none does), the shared device, and a runner that dispatches one kernel
 * on host arrays and reads every binding back.
 *
 * @module
 */
import { getDevice, upload } from "../src/backends/webgpu/device.ts";
import { Kernel, type KernelSpec } from "../src/backends/webgpu/kernels.ts";
import { packParams, PARAMS_SIZE, type ParamsName } from "../src/backends/webgpu/params.ts";
import type { RandomState } from "../src/random.ts";
import { SHADERS } from "../src/backends/webgpu/shaders.ts";
import { preludeOf, shaderSource } from "../src/backends/webgpu/device.ts";

async function probe(): Promise<GPUDevice | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), 20_000));
  try {
    return await Promise.race([getDevice(), timeout]);
  } catch (e) {
    console.log(`WebGPU tests skipped: ${(e as Error).message}`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** The shared device, or null where there is no WebGPU adapter. */
export const device: GPUDevice | null = await probe();
/** True where WebGPU tests can run. */
export const hasAdapter = device !== null;

/** Random floats uniform in [lo, hi), from a fixed seed. */
export function randomArray(rng: RandomState, size: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from(rng.uniform(lo, hi, size));
}

/** Input of {@link runKernel}: an array to upload, or the size in values of an output. */
export type KernelArg = Float32Array | Uint32Array | number;

/**
 * Compiles `spec`, uploads the arguments (bound by name), dispatches it once for a batch of
 * `count` and reads every argument back.
 *
 * @param spec The kernel.
 * @param count Batch size written in the uniform block.
 * @param args Every binding of the shader but `params`, by name: arrays are uploaded, numbers
 *   allocate that many values filled with NaN (so an output the kernel forgets to write
 *   fails the test).
 * @param extra Other fields of the uniform block.
 * @returns Every argument's buffer read back as floats, by name.
 */
export async function runKernel(
  spec: KernelSpec,
  count: number,
  args: Record<string, KernelArg>,
  extra: Partial<Record<ParamsName, number>> = {},
): Promise<Record<string, Float32Array>> {
  const dev = device!;
  const kernel = await Kernel.create(dev, spec);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffers: Record<string, GPUBuffer> = {};
  for (const [name, a] of Object.entries(args)) {
    const data = typeof a === "number" ? new Float32Array(a).fill(NaN) : a;
    const buf = dev.createBuffer({ size: Math.max(4, data.byteLength), usage });
    if (data.byteLength > 0) upload(dev, buf, 0, data); // Deno panics on an empty write
    buffers[name] = buf;
  }
  const params = dev.createBuffer({
    size: PARAMS_SIZE,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  dev.queue.writeBuffer(params, 0, packParams({ count, ...extra }));
  dev.pushErrorScope("validation");
  const dispatch = kernel.bind({ params, ...buffers }, count);
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  dispatch.record(pass, count);
  pass.end();
  const reads = Object.entries(buffers).map(([name, b]) => {
    const r = dev.createBuffer({
      size: b.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    enc.copyBufferToBuffer(b, 0, r, 0, b.size);
    return [name, r] as const;
  });
  dev.queue.submit([enc.finish()]);
  const err = await dev.popErrorScope();
  if (err) throw new Error(`${spec.shader}: ${err.message}`);
  const out: Record<string, Float32Array> = {};
  for (const [name, r] of reads) {
    await r.mapAsync(GPUMapMode.READ);
    out[name] = new Float32Array(r.getMappedRange().slice(0));
    r.unmap();
    r.destroy();
  }
  for (const b of [...Object.values(buffers), params]) b.destroy();
  return out;
}

/** Tolerances of the parity tests (float32 GPU against the float64-accumulating CPU). */
export const RTOL = 1e-4;

/**
 * Absolute tolerance for sums: `1e-5` times the largest magnitude of the reference, so a
 * value that cancels to near zero is judged against the size of its terms.
 */
export function atolFor(expected: ArrayLike<number>, factor = 1e-5): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(expected[i]));
  return factor * Math.max(m, 1e-30);
}

/**
 * Compiles every embedded shader on `dev` and lists the compiler's errors and warnings as
 * `shaders/<file>.wgsl:<line>:<column>: <type>: <message>` (naga in Deno, Tint in Chromium).
 *
 * @param dev The device (default the shared one).
 * @returns One line per error or warning; empty when every shader compiles cleanly.
 */
export async function shaderMessages(dev: GPUDevice = device!): Promise<string[]> {
  const out: string[] = [];
  for (const name of Object.keys(SHADERS) as (keyof typeof SHADERS)[]) {
    const code = shaderSource(name);
    const skip = preludeOf(name).split("\n").length - 1;
    const module = dev.createShaderModule({ code, label: `${name}.wgsl` });
    for (const m of (await module.getCompilationInfo()).messages) {
      if (m.type === "info") continue;
      const line = m.lineNum - skip; // lines of the prelude count <= 0
      out.push(`shaders/${name}.wgsl:${line}:${m.linePos}: ${m.type}: ${m.message.trim()}`);
    }
  }
  return out;
}
