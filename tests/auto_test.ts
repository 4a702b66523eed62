/**
 * `backend: "auto"` (src/auto.ts) in Deno: WebGPU on a hardware adapter, else the BLAS
 * backend, else WebGPU on a software adapter, else `cpu`, with the reason. The choice is
 * checked in child processes with and without `--allow-ffi` and with `navigator.gpu` hidden,
 * against what this machine has (a hardware adapter? a CBLAS that loads?).
 * tests/train_browser_test.ts checks the same in a browser page.
 */
import { Conv2D, Dense, Sequential, Softmax, Tanh } from "../mod.ts";
import { loadBlas } from "../src/backends/native/blas.ts";
import { assertRejectsWith } from "./_assert.ts";
import { device, hasAdapter } from "./_webgpu.ts";

const hardware = hasAdapter && device!.adapterInfo?.isFallbackAdapter !== true;
const blas = (() => {
  try {
    loadBlas();
    return true;
  } catch {
    return false;
  }
})();

const layers = () => [
  new Conv2D({ filters: 2, kernelSize: 3 }),
  new Tanh(),
  new Dense({ units: 3 }),
  new Softmax(),
];

async function child(ffi: boolean, gpu: boolean): Promise<{ backend: string; reason: string }> {
  const args = ["run", "--allow-read", "--allow-env", ...(ffi ? ["--allow-ffi"] : [])];
  args.push(new URL("./_auto_child.ts", import.meta.url).pathname, ...(gpu ? [] : ["--no-gpu"]));
  const out = await new Deno.Command(Deno.execPath(), { args, stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`child failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

function expectChoice(
  got: { backend: string; reason: string },
  backend: string,
  skipped: string[],
) {
  const lines = got.reason.split("\n").filter((l) => !l.startsWith(" "));
  if (got.backend !== backend || !lines[0].startsWith(`${backend}: `)) {
    throw new Error(`expected ${backend}, got ${got.backend}: ${got.reason}`);
  }
  for (const s of skipped) {
    if (!lines.some((l) => l.startsWith(`skipped ${s}`))) {
      throw new Error(`reason does not say "skipped ${s}": ${got.reason}`);
    }
  }
}

Deno.test("auto: with every permission, the order is hardware WebGPU, BLAS, software WebGPU, cpu", async () => {
  const got = await child(true, true);
  if (hardware) expectChoice(got, "webgpu", []);
  else if (blas) {
    expectChoice(got, "native", hasAdapter ? ["webgpu: software adapter"] : ["webgpu"]);
  } else {expectChoice(
      got,
      hasAdapter ? "webgpu" : "cpu",
      hasAdapter ? ["native"] : ["webgpu", "native"],
    );}
});

Deno.test("auto: without --allow-ffi the BLAS backend is skipped with the hint", async () => {
  const got = await child(false, true);
  if (hardware) return expectChoice(got, "webgpu", []);
  expectChoice(got, hasAdapter ? "webgpu" : "cpu", ["native: no CBLAS library could be loaded"]);
  if (!got.reason.includes("--allow-ffi")) throw new Error(`no --allow-ffi hint: ${got.reason}`);
});

Deno.test("auto: without WebGPU, BLAS else cpu, saying that no adapter was found", async () => {
  expectChoice(await child(true, false), blas ? "native" : "cpu", ["webgpu: No WebGPU adapter"]);
  expectChoice(await child(false, false), "cpu", ["webgpu: No WebGPU adapter", "native"]);
});

Deno.test({
  name: "auto: a device given in options is used as it is",
  ignore: !hasAdapter,
  async fn() {
    const model = await Sequential.create({
      inputShape: [1, 6, 6],
      batchSize: 2,
      backend: "auto",
      device: device!,
      layers: layers(),
    });
    expectChoice({ backend: model.backend, reason: model.backendReason }, "webgpu", []);
    if (!model.backendReason.includes("options.device")) throw new Error(model.backendReason);
    model.dispose();
  },
});

Deno.test("auto: an explicit backend says so; an unknown one names auto among the choices", async () => {
  const base = { inputShape: [1, 6, 6], batchSize: 2 };
  const byDefault = await Sequential.create({ ...base, layers: layers() });
  const requested = await Sequential.create({ ...base, layers: layers(), backend: "cpu" });
  if (
    byDefault.backendReason !== "cpu: the default" || requested.backendReason !== "cpu: requested"
  ) {
    throw new Error(`reasons: "${byDefault.backendReason}", "${requested.backendReason}"`);
  }
  byDefault.dispose();
  requested.dispose();
  await assertRejectsWith(
    // deno-lint-ignore no-explicit-any
    () => Sequential.create({ ...base, layers: layers(), backend: "tpu" as any }),
    RangeError,
    '"auto"',
  );
});
