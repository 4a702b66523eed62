/// <reference types="@webgpu/types" />
/**
 * `backend: "auto"`: the fastest backend that works where the model is created, and why the
 * others were skipped. In order: WebGPU on a hardware adapter; the BLAS backend (Deno with
 * FFI); WebGPU on a software adapter (`isFallbackAdapter`: llvmpipe, lavapipe, SwiftShader);
 * the TypeScript reference. In a browser (no FFI) that is WebGPU, else `cpu`.
 *
 * The WebGPU device is probed once and kept (Deno invalidates an adapter once a device has
 * been requested from it): the executor runs on the very device that was probed.
 *
 * @module
 */
import type { BackendName, Executor, NetworkPlan } from "./backend.ts";
import { createCpuExecutor } from "./backends/cpu.ts";

/** Options of {@link createAutoExecutor} (those of `ModelOptions` it uses). */
export interface AutoOptions {
  /** A WebGPU device to use instead of the shared one; it is taken as it is. */
  device?: GPUDevice;
  /** A CBLAS shared library for the native backend to try first. */
  blasPath?: string;
}

/** The executor chosen by {@link createAutoExecutor}, and why. */
export interface AutoChoice {
  /** The executor created. */
  exec: Executor;
  /**
   * One line per backend considered: the one taken first, then each one skipped with why,
   * e.g. `native: BLAS through FFI` then `skipped webgpu: software adapter "llvmpipe"`.
   */
  reason: string;
}

/**
 * Whether this runtime can load the native backend: Deno, with its FFI API. False in a
 * browser, where the native backend is never imported.
 *
 * @returns True in Deno.
 *
 * @example
 * ```ts
 * import { hasFfi } from "./auto.ts";
 * console.log(hasFfi()); // true in Deno, false in a browser
 * ```
 */
export function hasFfi(): boolean {
  const deno = (globalThis as { Deno?: { dlopen?: unknown } }).Deno;
  return typeof deno?.dlopen === "function";
}

/** The WebGPU device probed: kept, with its adapter's name and kind. */
interface Probe {
  device: GPUDevice;
  name: string;
  software: boolean;
}

/**
 * Names a WebGPU adapter from its info: the description where it has one, else vendor and
 * architecture (Chrome leaves SwiftShader's description empty).
 */
function adapterName(info: GPUAdapterInfo | undefined): string {
  const name = info?.description || [info?.vendor, info?.architecture].filter(Boolean).join(" ");
  return `"${name || "unnamed adapter"}"`;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Creates the executor of `backend: "auto"` for a plan (see the module doc for the order).
 *
 * @param plan The resolved network.
 * @param options A WebGPU device (taken as it is, hardware or not) or a BLAS path.
 * @returns The executor and the reason for the choice.
 *
 * @example Whatever this runtime has, a backend is chosen and the reason names it first
 * ```ts
 * import { createAutoExecutor } from "./auto.ts";
 * import { lenet5, planNetwork } from "./layers.ts";
 * const { exec, reason } = await createAutoExecutor(planNetwork([1, 28, 28], lenet5(), 4));
 * console.log(reason.startsWith(`${exec.backend}: `)); // true
 * exec.dispose();
 * ```
 */
export async function createAutoExecutor(
  plan: NetworkPlan,
  options: AutoOptions = {},
): Promise<AutoChoice> {
  const skipped: string[] = [];
  const choose = (exec: Executor, why: string): AutoChoice => ({
    exec,
    reason: [`${exec.backend}: ${why}`, ...skipped.map((s) => `skipped ${s}`)].join("\n"),
  });
  const attempt = async (name: BackendName, create: () => Promise<Executor>) => {
    try {
      return await create();
    } catch (e) {
      skipped.push(`${name}: ${message(e)}`);
      return null;
    }
  };
  const onDevice = async (device: GPUDevice) => {
    const { createWebGpuExecutor } = await import("./backends/webgpu/executor.ts");
    return await createWebGpuExecutor(plan, { device });
  };

  // 1. WebGPU on a hardware adapter (or on the caller's device).
  let gpu: Probe | null = null;
  try {
    const { getDevice } = await import("./backends/webgpu/device.ts");
    const device = options.device ?? await getDevice();
    const software = !options.device && device.adapterInfo?.isFallbackAdapter === true;
    gpu = { device, name: adapterName(device.adapterInfo), software };
  } catch (e) {
    skipped.push(`webgpu: ${message(e)}`);
  }
  if (gpu && !gpu.software) {
    const exec = await attempt("webgpu", () => onDevice(gpu.device));
    const why = options.device ? "the device given in options.device" : "hardware adapter";
    if (exec) return choose(exec, `${why} ${gpu.name}`);
  }

  // 2. BLAS through FFI, only where the runtime has FFI (never imported in a browser).
  if (hasFfi()) {
    const exec = await attempt("native", async () => {
      const { createNativeExecutor } = await import("./backends/native/executor.ts");
      return await createNativeExecutor(plan, { blasPath: options.blasPath });
    });
    if (exec) {
      if (gpu?.software) skipped.unshift(`webgpu: software adapter ${gpu.name}, slower than BLAS`);
      return choose(exec, `BLAS through FFI${exec.detail ? ` (${exec.detail})` : ""}`);
    }
  } else {
    skipped.push("native: this runtime has no FFI (the BLAS backend needs Deno)");
  }

  // 3. WebGPU on the software adapter.
  if (gpu?.software) {
    const exec = await attempt("webgpu", () => onDevice(gpu.device));
    if (exec) return choose(exec, `software adapter ${gpu.name}`);
  }

  // 4. The TypeScript reference always works.
  return choose(await createCpuExecutor(plan), "the TypeScript reference (cpu/)");
}
