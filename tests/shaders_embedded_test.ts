/**
 * The kernels embedded in `src/backends/webgpu/shaders.ts` (so they load with no file-system
 * permission) are exactly the files in `shaders/`, the prelude is `struct Params` as
 * generated from PARAMS_FIELDS plus `shaders/_prelude.wgsl`, and the optional parts are the
 * other `shaders/_<part>.wgsl`: run `deno task embed` after editing one.
 */
import { PARTS, PRELUDE, SHADERS } from "../src/backends/webgpu/shaders.ts";
import { readParts, readPrelude, readShaders, render } from "../shaders/embed.ts";

Deno.test("shaders: the embedded copy matches shaders/*.wgsl exactly", async () => {
  const files = await readShaders();
  const names = files.map(([n]) => n);
  const embedded = Object.keys(SHADERS).sort();
  if (JSON.stringify(names) !== JSON.stringify(embedded)) {
    throw new Error(
      `shaders/ has [${names}] but shaders.ts embeds [${embedded}]: run \`deno task embed\``,
    );
  }
  for (const [name, code] of files) {
    if (SHADERS[name as keyof typeof SHADERS] !== code) {
      throw new Error(
        `shaders/${name}.wgsl differs from its embedded copy: run \`deno task embed\``,
      );
    }
  }
  const generated = await Deno.readTextFile(
    new URL("../src/backends/webgpu/shaders.ts", import.meta.url),
  );
  if (PRELUDE !== await readPrelude()) {
    throw new Error("the embedded PRELUDE is out of date: run `deno task embed`");
  }
  for (const [name, code] of await readParts()) {
    if (PARTS[name as keyof typeof PARTS] !== code) {
      throw new Error(
        `shaders/_${name}.wgsl differs from its embedded copy: run \`deno task embed\``,
      );
    }
  }
  if (generated !== render(files, await readPrelude(), await readParts())) {
    throw new Error("src/backends/webgpu/shaders.ts is not what shaders/embed.ts writes");
  }
});
