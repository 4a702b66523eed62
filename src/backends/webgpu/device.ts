/**
 * The WebGPU device: requested once, kept, and watched. Every validation error and the
 * loss of the device are recorded and turned into exceptions on the next call, so a
 * failing shader can never pass for a result of zeros (tensorflow/tfjs#6842).
 *
 * @module
 */
import { PARTS, PRELUDE, SHADERS } from "./shaders.ts";

/** Name of a kernel: a file `shaders/<name>.wgsl`. */
export type ShaderName = keyof typeof SHADERS;

/** Limits requested from the adapter (as high as it offers). */
const WANTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupsPerDimension",
] as const;

let shared: Promise<GPUDevice> | null = null;

/**
 * The process-wide device, requested on first use and kept. Deno invalidates an adapter
 * once `requestDevice` has been called on it, so the adapter is never reused; a new
 * one is requested only after the device has been lost.
 *
 * @returns The device.
 * @throws {Error} If no WebGPU adapter exists (suggesting `backend: "cpu"`).
 */
export function getDevice(): Promise<GPUDevice> {
  if (!shared) {
    shared = openDevice();
    shared.catch(() => shared = null);
  }
  return shared;
}

/**
 * Requests an adapter and a new device from it, with the limits this library needs (as high
 * as the adapter offers), and watches it. Most code wants the shared {@link getDevice}.
 *
 * @param gpu The WebGPU entry point (default `navigator.gpu`).
 * @returns A new device.
 * @throws {Error} If no adapter is found, suggesting `backend: "cpu"`.
 */
export async function openDevice(
  gpu: GPU | undefined = (globalThis.navigator as Navigator | undefined)?.gpu,
): Promise<GPUDevice> {
  const adapter = gpu ? await gpu.requestAdapter({ powerPreference: "high-performance" }) : null;
  if (!adapter) {
    const why = gpu
      ? "navigator.gpu.requestAdapter() returned null"
      : "this runtime has no navigator.gpu";
    throw new Error(
      `No WebGPU adapter was found (${why}). Use backend: "cpu", ` +
        "or run where a GPU or a software adapter (Mesa llvmpipe/lavapipe) is available.",
    );
  }
  const device = await deviceFrom(adapter);
  device.lost.then(() => {
    // A lost shared device is replaced on the next getDevice() (with a new adapter).
    shared?.then((d) => d === device && (shared = null), () => {});
  });
  return device;
}

/**
 * A device from an adapter the caller already holds (e.g. to show its name), with the limits
 * this library needs (as high as the adapter offers), watched like {@link openDevice}'s.
 *
 * @param adapter The adapter; Deno invalidates it once a device is requested.
 * @returns A new watched device.
 */
export async function deviceFrom(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredLimits });
  watch(device);
  return device;
}

interface Health {
  lost: GPUDeviceLostInfo | null;
  errors: string[];
}
const health = new WeakMap<GPUDevice, Health>();

/**
 * Starts recording the device's uncaptured errors and its loss (idempotent). Called for
 * the shared device and for a device passed in by the caller.
 *
 * @param device The device to watch.
 */
export function watch(device: GPUDevice): void {
  if (health.has(device)) return;
  const h: Health = { lost: null, errors: [] };
  health.set(device, h);
  device.addEventListener("uncapturederror", (e) => {
    h.errors.push((e as GPUUncapturedErrorEvent).error.message);
  });
  device.lost.then((info) => h.lost = info);
}

/**
 * Throws if the device was lost or reported an uncaptured error since the last check.
 *
 * @param device The device.
 * @param what The operation about to run, for the message.
 */
export function checkDevice(device: GPUDevice, what: string): void {
  const h = health.get(device);
  if (!h) return;
  if (h.lost) {
    throw new Error(`WebGPU ${what}: the device was lost (${h.lost.reason}): ${h.lost.message}`);
  }
  if (h.errors.length) {
    const errors = h.errors.splice(0);
    throw new Error(`WebGPU ${what}: the device reported an error: ${errors.join("; ")}`);
  }
}

/**
 * Runs `record` inside validation and out-of-memory error scopes and throws the first
 * error caught, naming `what`.
 *
 * @param device The device.
 * @param what The operation, for the message.
 * @param record Creates objects, records and submits work.
 * @returns What `record` returned.
 */
export async function scoped<T>(device: GPUDevice, what: string, record: () => T): Promise<T> {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let value: T;
  try {
    value = record();
  } catch (e) {
    await device.popErrorScope();
    await device.popErrorScope();
    throw e;
  }
  const validation = await device.popErrorScope();
  const outOfMemory = await device.popErrorScope();
  const err = validation ?? outOfMemory;
  if (err) throw new Error(`WebGPU ${what}: ${err.message}`);
  return value;
}

/**
 * Compiles a kernel into a compute pipeline, with its override constants (shapes). WGSL
 * errors are reported with the file name and line; validation errors thrown.
 *
 * @param device The device.
 * @param file The shader's file name, used in messages (e.g. `conv2d_forward.wgsl`).
 * @param code The WGSL source.
 * @param constants Values of the shader's `override` declarations.
 * @param prelude Source prepended to `code` (the kernels' {@link PRELUDE}); line numbers in
 *   messages are those of `code`.
 * @returns The pipeline, with layout `"auto"`.
 * @throws {Error} Naming `shaders/<file>` if the shader fails to compile or validate.
 */
export async function compileKernel(
  device: GPUDevice,
  file: string,
  code: string,
  constants: Record<string, number> = {},
  prelude = "",
): Promise<GPUComputePipeline> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: prelude + code, label: file });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error");
  let pipeline: GPUComputePipeline | null = null;
  let thrown: unknown = null;
  if (!errors.length) {
    try {
      pipeline = await device.createComputePipelineAsync({
        label: file,
        layout: "auto",
        compute: { module, entryPoint: "main", constants },
      });
    } catch (e) {
      thrown = e;
    }
  }
  const scope = await device.popErrorScope();
  if (errors.length) {
    const skip = prelude.split("\n").length - 1;
    const text = errors.map((m) =>
      m.lineNum > skip
        ? `shaders/${file}:${m.lineNum - skip}:${m.linePos}: ${m.message.trim()}`
        : `shaders/${file} (prelude line ${m.lineNum}): ${m.message.trim()}`
    );
    throw new Error(`WebGPU: kernel shaders/${file} failed to compile:\n${text.join("\n")}`);
  }
  if (thrown || scope || !pipeline) {
    const msg = thrown instanceof Error ? thrown.message : scope?.message ?? String(thrown);
    throw new Error(`WebGPU: kernel shaders/${file} failed validation: ${msg.trim()}`);
  }
  return pipeline;
}

/**
 * What is compiled before a kernel's own source: the {@link PRELUDE} (`struct Params`,
 * helpers), then each optional part named by a `// Include: _<part>.wgsl` line of its header.
 *
 * @param name The kernel.
 * @returns WGSL source.
 */
export function preludeOf(name: ShaderName): string {
  let out = PRELUDE;
  for (const m of SHADERS[name].matchAll(/^\/\/ Include: _(\w+)\.wgsl/gm)) {
    const part = PARTS[m[1] as keyof typeof PARTS];
    if (part === undefined) {
      throw new Error(`shaders/${name}.wgsl includes _${m[1]}.wgsl: no such part`);
    }
    out += part + "\n";
  }
  return out;
}

/**
 * The source compiled for a kernel: {@link preludeOf} it, then `shaders/<name>.wgsl`.
 *
 * @param name The kernel.
 * @returns WGSL source.
 */
export function shaderSource(name: ShaderName): string {
  return preludeOf(name) + SHADERS[name];
}

/**
 * Compiles one of the embedded kernels, its prelude prepended.
 *
 * @param device The device.
 * @param name The kernel, `shaders/<name>.wgsl`.
 * @param constants Override constants.
 * @returns The pipeline.
 */
export function pipelineFor(
  device: GPUDevice,
  name: ShaderName,
  constants: Record<string, number> = {},
): Promise<GPUComputePipeline> {
  return compileKernel(device, `${name}.wgsl`, SHADERS[name], constants, preludeOf(name));
}

/**
 * `queue.writeBuffer` for any typed array (the DOM types want an `ArrayBuffer`-backed view).
 *
 * @param device The device.
 * @param buffer Destination (COPY_DST).
 * @param offset Byte offset in `buffer`, a multiple of 4.
 * @param data Values; the byte length must be a multiple of 4.
 */
export function upload(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  data: ArrayBufferView | ArrayBuffer,
): void {
  device.queue.writeBuffer(buffer, offset, data as ArrayBufferView<ArrayBuffer>);
}
