/**
 * The kernels embedded in `src/backends/webgpu/shaders.ts` (so they load with no file-system
 * permission) are exactly the files in `shaders/` plus the activation kernels that
 * `shaders/embed.ts` generates from `ACTIVATIONS` (`src/activations.ts`), the prelude is `struct Params` as
 * generated from PARAMS_FIELDS plus `shaders/_prelude.wgsl`, and the optional parts are the
 * other `shaders/_<part>.wgsl`, and the binding names are the shaders' `var`s: run
 * `deno task embed` after editing one.
 */
import { PARTS, PRELUDE, SHADER_BINDINGS, SHADERS } from "../src/backends/webgpu/shaders.ts";
import { bindingsOf, readParts, readPrelude, readShaders, render } from "../shaders/embed.ts";
import { assertThrowsWith } from "./_assert.ts";

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

Deno.test("shaders: SHADER_BINDINGS is every shader's var declarations, in binding order", async () => {
  const files = await readShaders();
  const listed = Object.keys(SHADER_BINDINGS).sort();
  if (JSON.stringify(files.map(([n]) => n)) !== JSON.stringify(listed)) {
    throw new Error(`SHADER_BINDINGS lists [${listed}]: run \`deno task embed\``);
  }
  for (const [name, code] of files) {
    // Read here without embed.ts: every `@binding(i) var<...> name` outside comments.
    const declared: string[] = [];
    const source = code.replace(/\/\/.*$/gm, "");
    for (const m of source.matchAll(/@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)/g)) {
      declared[Number(m[1])] = m[2];
    }
    const generated = SHADER_BINDINGS[name as keyof typeof SHADER_BINDINGS];
    if (JSON.stringify(declared) !== JSON.stringify(generated)) {
      throw new Error(
        `shaders/${name}.wgsl declares [${declared}], SHADER_BINDINGS has [${generated}]: ` +
          "run `deno task embed`",
      );
    }
  }
});

Deno.test("shaders: embed rejects bindings it cannot list in order", () => {
  const decl = (i: number, name: string, group = 0) =>
    `@group(${group}) @binding(${i}) var<storage, read> ${name}: array<f32>;\n`;
  const params = "@group(0) @binding(0) var<uniform> params: Params; // count\n";
  const ok = params + "// @binding(7) in a comment is ignored\n" + decl(1, "x") + decl(2, "y");
  if (bindingsOf("k", ok).join() !== "params,x,y") throw new Error("misread the bindings");
  assertThrowsWith(() => bindingsOf("k", params + decl(2, "y")), Error, "k.wgsl:2: binding 2");
  assertThrowsWith(() => bindingsOf("k", params + decl(0, "x")), Error, 'binding 0 of "x"');
  assertThrowsWith(() => bindingsOf("k", decl(0, "x")), Error, "binding 0 must be");
  assertThrowsWith(() => bindingsOf("k", params + decl(1, "x", 1)), Error, "k.wgsl:2: declare");
  const swapped = "@binding(1) @group(0) var<storage, read> x: array<f32>;\n";
  assertThrowsWith(() => bindingsOf("k", params + swapped), Error, "k.wgsl:2: declare");
});
