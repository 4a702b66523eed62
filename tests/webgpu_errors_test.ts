/**
 * Failures surface as exceptions that say what failed, never as silent zeros
 * (tensorflow/tfjs#6842): no adapter, a shader that does not compile, a pipeline that does
 * not validate, an uncaptured validation error, a lost device.
 */
import { checkDevice, compileKernel, openDevice } from "../src/backends/webgpu/device.ts";
import { Conv2D, Dense, MaxPool2D, Sequential, Softmax, Tanh } from "../mod.ts";
import { assertRejectsWith, assertThrowsWith } from "./_assert.ts";
import { device, hasAdapter } from "./_webgpu.ts";
import { Kernel, specs } from "../src/backends/webgpu/kernels.ts";
import { PARAMS_SIZE } from "../src/backends/webgpu/params.ts";

Deno.test("webgpu errors: no adapter gives a clear error suggesting the cpu backend", async () => {
  const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  const err = await assertRejectsWith(
    () => openDevice(noAdapter),
    Error,
    "No WebGPU adapter was found",
  );
  if (!err.message.includes('backend: "cpu"')) throw new Error(`no suggestion in: ${err.message}`);
});

Deno.test({
  name: "webgpu errors: a shader that does not compile throws, naming its file and line",
  ignore: !hasAdapter,
  async fn() {
    const code = "@compute @workgroup_size(64)\nfn main() {\n  let x: f32 = 1u;\n}\n";
    const err = await assertRejectsWith(
      () => compileKernel(device!, "conv2d_forward.wgsl", code),
      Error,
      "shaders/conv2d_forward.wgsl",
    );
    if (!err.message.includes("conv2d_forward.wgsl:3")) {
      throw new Error(`no line in: ${err.message}`);
    }
  },
});

Deno.test({
  name: "webgpu errors: a pipeline that fails validation throws, naming its file",
  ignore: !hasAdapter,
  async fn() {
    // Compiles, but the entry point "main" does not exist.
    const code = "@compute @workgroup_size(64)\nfn other() {}\n";
    await assertRejectsWith(
      () => compileKernel(device!, "dense_forward.wgsl", code),
      Error,
      "shaders/dense_forward.wgsl",
    );
  },
});

Deno.test({
  name: "webgpu errors: an uncaptured validation error is thrown by the next check",
  ignore: !hasAdapter,
  async fn() {
    const dev = await openDevice();
    const buf = dev.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(buf, 0, buf, 0, 4); // no COPY_SRC / COPY_DST: invalid
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    assertThrowsWith(() => checkDevice(dev, "test"), Error, "the device reported an error");
    dev.destroy();
  },
});

Deno.test({
  name: "webgpu errors: a lost device makes the next step throw instead of returning zeros",
  ignore: !hasAdapter,
  async fn() {
    const dev = await openDevice();
    const model = await Sequential.create({
      inputShape: [1, 8, 8],
      batchSize: 2,
      backend: "webgpu",
      device: dev,
      layers: [
        new Conv2D({ filters: 2, kernelSize: 3 }),
        new MaxPool2D({ poolSize: 2 }),
        new Tanh(),
        new Dense({ units: 3 }),
        new Softmax(),
      ],
    });
    dev.destroy();
    await dev.lost;
    await assertRejectsWith(
      () => model.trainStep(new Float32Array(128), [0, 1]),
      Error,
      "the device was lost",
    );
    model.dispose();
  },
});

Deno.test({
  name: "webgpu errors: a binding that is missing, unknown or too small for the batch throws",
  ignore: !hasAdapter,
  async fn() {
    const kernel = await Kernel.create(device!, specs.denseForward(8, 4));
    const buf = (bytes: number) =>
      device!.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
    const params = device!.createBuffer({
      size: PARAMS_SIZE,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const ok = { params, x: buf(10 * 8 * 4), w: buf(32 * 4), b: buf(4 * 4), out: buf(10 * 4 * 4) };
    kernel.bind(ok, 10); // exactly what batch 10 needs
    assertThrowsWith(() => kernel.bind(ok, 11), Error, 'binding "x" needs 352 bytes at batch 11');
    const { b: _, ...noBias } = ok;
    assertThrowsWith(() => kernel.bind(noBias, 10), Error, "missing [b]");
    assertThrowsWith(() => kernel.bind({ ...ok, y: buf(4) }, 10), Error, "unknown [y]");
    // The names are the shader's own (SHADER_BINDINGS); a spec's sizes can only name them.
    const base = specs.denseForward(8, 4);
    const wrong = { ...base, sizes: (n: number) => ({ ...base.sizes!(n), inp: n * 8 }) };
    await assertRejectsWith(() => Kernel.create(device!, wrong), Error, "sizes of [inp]");
  },
});
