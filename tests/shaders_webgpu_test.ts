/**
 * Every shader compiles under naga (Deno's WGSL compiler) with no error and no warning;
 * tests/shaders_browser_test.ts checks the same under Tint (Chromium), which is stricter.
 */
import { hasAdapter, shaderMessages } from "./_webgpu.ts";

Deno.test({
  name: "shaders webgpu: every shader compiles under naga with no error or warning",
  ignore: !hasAdapter,
  async fn() {
    const messages = await shaderMessages();
    if (messages.length) throw new Error(`shader messages:\n${messages.join("\n")}`);
  },
});
