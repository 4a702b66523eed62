/**
 * `deno task bundle` writes an ESM bundle of mod.ts for the browser (dist/lenet-webgpu.js and
 * its source map) without the Deno-only code (no `Deno.*`, the native backend left out), and
 * that bundle, imported by a page, trains on WebGPU.
 */
import { browserTest, withBrowserPage } from "./_browser.ts";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);

browserTest(
  "bundle browser: deno task bundle works in a page and holds no Deno-only code",
  async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "bundle"],
      cwd: root.pathname,
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno task bundle: ${new TextDecoder().decode(out.stderr)}`);
    const code = await Deno.readTextFile(new URL("lenet-webgpu.js", dist));
    const map = JSON.parse(await Deno.readTextFile(new URL("lenet-webgpu.js.map", dist)));
    if (!code.includes("//# sourceMappingURL=lenet-webgpu.js.map")) {
      throw new Error(
        "no source map link",
      );
    }
    const sources: string[] = map.sources;
    const denoOnly = sources.filter((s) => /backends\/native\/|_deno\.ts|src\/deno\.ts/.test(s));
    if (denoOnly.length) throw new Error(`Deno-only modules bundled: ${denoOnly.join(", ")}`);
    const uses = code.match(/\bDeno\.\w+/g);
    if (uses) throw new Error(`the bundle uses ${[...new Set(uses)].join(", ")}`);

    const serve = async (req: Request) => {
      const name = new URL(req.url).pathname.slice(1);
      if (!name.startsWith("lenet-webgpu.js")) return null;
      const type = name.endsWith(".map") ? "application/json" : "text/javascript";
      return new Response(await Deno.readFile(new URL(name, dist)), {
        headers: { "content-type": type },
      });
    };
    const result = await withBrowserPage(({ page }) =>
      page.evaluate(async () => {
        const lib = await import(`${location.origin}/lenet-webgpu.js`);
        const model = await lib.Sequential.create({
          inputShape: [1, 28, 28],
          batchSize: 4,
          backend: "auto",
          layers: lib.lenet5(),
        });
        const x = new Float32Array(4 * 784).fill(0.5);
        const loss = await model.trainStep(x, [3, 1, 4, 1]);
        const r = { backend: model.backend, loss };
        model.dispose();
        return r;
      }), { serve });
    if (result.backend !== "webgpu" || Math.abs(result.loss - Math.log(10)) > 1e-5) {
      throw new Error(`from the bundle: ${JSON.stringify(result)}, expected webgpu and ln(10)`);
    }
  },
);
