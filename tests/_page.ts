/**
 * The test code run in a Chromium page by the browser tests: bundled for the browser by
 * tests/_browser.ts and called export by export with `page.call(name, ...args)`. Each export
 * returns JSON and throws (rejecting the call with its message) on a failed check. It reuses
 * the Deno tests' cases: tests/_kernel_cases.ts, tests/_train_cases.ts.
 *
 * Importing this module requests the shared WebGPU device (tests/_webgpu.ts): to test a page
 * without an adapter, stub `navigator.gpu.requestAdapter` before the first call.
 *
 * @module
 */
import { Conv2D, Dense, MaxPool2D, Sequential, Softmax, Tanh } from "../mod.ts";
import { openDevice } from "../src/backends/webgpu/device.ts";
import { KERNEL_CASES } from "./_kernel_cases.ts";
import { lenetFiveSteps } from "./_train_cases.ts";
import { hasAdapter, shaderMessages } from "./_webgpu.ts";

export { lenetFiveSteps, shaderMessages };

/** The adapter of the page: whether there is one, and its info. */
export async function adapter(): Promise<{ name: string; fallback: boolean } | null> {
  const a = await navigator.gpu?.requestAdapter();
  if (!a) return null;
  const name = [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(" ");
  return { name, fallback: a.info.isFallbackAdapter };
}

/** The names of the kernel parity cases, in order. */
export function kernelCaseNames(): string[] {
  return KERNEL_CASES.map((c) => c.name);
}

/**
 * Runs one kernel parity case.
 *
 * @returns Its duration in ms.
 */
export async function kernelCase(name: string): Promise<number> {
  if (!hasAdapter) throw new Error("no WebGPU adapter in this page");
  const c = KERNEL_CASES.find((k) => k.name === name);
  if (!c) throw new Error(`no kernel case "${name}"`);
  const t0 = performance.now();
  await c.run();
  return performance.now() - t0;
}

const small = () => [
  new Conv2D({ filters: 2, kernelSize: 3 }),
  new MaxPool2D({ poolSize: 2 }),
  new Tanh(),
  new Dense({ units: 3 }),
  new Softmax(),
];

/** `backend: "auto"` in this page: what it chose and why. */
export async function autoChoice(): Promise<{ backend: string; reason: string }> {
  const model = await Sequential.create({
    inputShape: [1, 8, 8],
    batchSize: 2,
    backend: "auto",
    layers: small(),
  });
  const loss = await model.trainStep(new Float32Array(128).fill(0.5), [0, 1]);
  if (!Number.isFinite(loss)) throw new Error(`auto (${model.backend}): loss ${loss}`);
  const choice = { backend: model.backend, reason: model.backendReason };
  model.dispose();
  return choice;
}

/**
 * The message of the error `Sequential.create` throws for `backend` (it must throw).
 *
 * @param backend The backend to ask for.
 */
export async function createError(backend: "webgpu" | "native"): Promise<string> {
  try {
    const model = await Sequential.create({
      inputShape: [1, 8, 8],
      batchSize: 2,
      backend,
      layers: small(),
    });
    model.dispose();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`backend "${backend}" was created; an error was expected`);
}

/**
 * A step after the device is destroyed must throw, never return a loss computed from
 * zeros; predict must throw too.
 *
 * @returns The loss before, and the two error messages after.
 */
export async function lostDevice(): Promise<{ before: number; step: string; predict: string }> {
  const device = await openDevice();
  const model = await Sequential.create({
    inputShape: [1, 8, 8],
    batchSize: 2,
    backend: "webgpu",
    device,
    layers: small(),
  });
  const x = new Float32Array(128).map((_, i) => (i % 7) / 7);
  const before = await model.trainStep(x, [0, 1]);
  device.destroy();
  await device.lost;
  const message = async (f: () => Promise<unknown>, what: string) => {
    try {
      const got = await f();
      throw new Error(`${what} after device.destroy() returned ${JSON.stringify(got)}`);
    } catch (e) {
      if ((e as Error).message.includes("after device.destroy() returned")) throw e;
      return (e as Error).message;
    }
  };
  const step = await message(() => model.trainStep(x, [0, 1]), "trainStep");
  const predict = await message(async () => Array.from(await model.predict(x)), "predict");
  model.dispose();
  return { before, step, predict };
}
