/**
 * The library in a Chromium page (WebGPU on SwiftShader): five LeNet training steps equal
 * to the `cpu` backend (tests/_train_cases.ts, the tolerances of tests/train_webgpu_test.ts),
 * and the failures a page can meet: no adapter (a clear error that suggests "cpu"; `auto`
 * falls back to cpu), a lost device (an error, never zeros), `backend: "native"` (needs Deno).
 * `backend: "auto"` takes WebGPU and says that the BLAS backend needs Deno.
 */
import { browserTest, withBrowserPage } from "./_browser.ts";

const entry = new URL("./_page.ts", import.meta.url);

function expectIncludes(text: string, part: string, what: string) {
  if (!text.includes(part)) throw new Error(`${what}: expected "${part}" in:\n${text}`);
}

browserTest(
  "train browser: 5 SGD steps of LeNet (batch 16) on WebGPU match the cpu backend",
  async () => {
    const losses = await withBrowserPage(({ call }) => call<[number, number][]>("lenetFiveSteps"), {
      entry,
    });
    console.log(
      "losses cpu / webgpu:",
      losses.map(([a, b]) => `${a.toFixed(6)} / ${b.toFixed(6)}`).join(", "),
    );
  },
);

browserTest(
  "train browser: auto takes WebGPU (no FFI in a page); native says it needs Deno",
  () =>
    withBrowserPage(async ({ call }) => {
      const { backend, reason } = await call<{ backend: string; reason: string }>("autoChoice");
      if (backend !== "webgpu") throw new Error(`auto chose ${backend}: ${reason}`);
      expectIncludes(reason, "skipped native: this runtime has no FFI", "auto's reason");
      expectIncludes(await call<string>("createError", "native"), "needs Deno", "native");
    }, { entry }),
);

browserTest(
  "train browser: a lost device makes the next step throw, never return zeros",
  () =>
    withBrowserPage(async ({ call }) => {
      const r = await call<{ before: number; step: string; predict: string }>("lostDevice");
      if (!Number.isFinite(r.before)) throw new Error(`loss before destroy: ${r.before}`);
      expectIncludes(r.step, "the device was lost", "trainStep after destroy");
      expectIncludes(r.predict, "the device was lost", "predict after destroy");
    }, { entry }),
);

browserTest(
  "train browser: no adapter gives the error suggesting cpu; auto falls back to cpu",
  () =>
    withBrowserPage(async ({ page, call }) => {
      // Before the test module loads (it requests the shared device on import).
      await page.evaluate(() => {
        navigator.gpu.requestAdapter = () => Promise.resolve(null);
      });
      const message = await call<string>("createError", "webgpu");
      expectIncludes(message, "No WebGPU adapter was found", "webgpu without adapter");
      expectIncludes(message, 'backend: "cpu"', "webgpu without adapter");
      const { backend, reason } = await call<{ backend: string; reason: string }>("autoChoice");
      if (backend !== "cpu") throw new Error(`auto chose ${backend}: ${reason}`);
      expectIncludes(reason, "skipped webgpu: No WebGPU adapter was found", "auto's reason");
    }, { entry }),
);
