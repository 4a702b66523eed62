/**
 * The WebGPU kernel parity cases of the Deno tests (tests/_kernel_cases.ts: every kernel
 * against `cpu/`, odd shapes and the tutorial's batch-500 shapes, same tolerances) run in a
 * Chromium page on SwiftShader, one step per case.
 */
import { browserTest, withBrowserPage } from "./_browser.ts";

const entry = new URL("./_page.ts", import.meta.url);

browserTest("kernels browser: every kernel matches cpu/ in Chromium (the Deno cases)", async () => {
  const times = await withBrowserPage(async ({ call }) => {
    const names = await call<string[]>("kernelCaseNames");
    const times: string[] = [];
    for (const name of names) {
      try {
        times.push(`${name}: ${((await call<number>("kernelCase", name)) / 1000).toFixed(1)} s`);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
    return times;
  }, { entry });
  console.log(times.join("\n"));
});
