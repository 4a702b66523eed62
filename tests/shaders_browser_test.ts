/**
 * Every shader compiles in Chromium (Tint, stricter than Deno's naga: it refuses `a >= b & c`
 * without parentheses) with no error and no warning. The failure names file:line:column.
 */
import { browserTest, withBrowserPage } from "./_browser.ts";

const entry = new URL("./_page.ts", import.meta.url);

browserTest(
  "shaders browser: every shader compiles under Tint with no error or warning",
  () =>
    withBrowserPage(async ({ call }) => {
      const adapter = await call<{ name: string } | null>("adapter");
      if (!adapter) throw new Error("Chromium offered no WebGPU adapter (SwiftShader expected)");
      const messages = await call<string[]>("shaderMessages");
      if (messages.length) throw new Error(`Tint (${adapter.name}):\n${messages.join("\n")}`);
    }, { entry }),
);
