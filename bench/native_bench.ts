/**
 * The native backend at the tutorial's batch of 500: each fused stage of LeNet forward and
 * backward, and the whole training step (images/s = 500 / step time; the peers README puts
 * PyTorch 1.13 + OpenBLAS at ~3000 train images/s on 2 cores).
 *
 *   deno bench -A bench/native_bench.ts
 *
 * Skipped where no CBLAS can be loaded.
 */
import { Conv2D, Dense, MaxPool2D, RandomState, Sequential, Softmax, Tanh } from "../mod.ts";
import { tryLoadBlas } from "../src/backends/native/blas.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import { DenseStage } from "../src/backends/native/dense.ts";

const B = 500;
const probe = tryLoadBlas();
const ignore = !("blas" in probe);
if ("error" in probe) console.log(`native benches skipped, no BLAS: ${probe.error.message}`);
const blas = "blas" in probe ? probe.blas : null;
if (blas) console.log(`native benches: ${blas.path}, ${blas.config() ?? "not OpenBLAS"}`);
const rng = new RandomState(23455);
const rand = (n: number, lo = -0.1, hi = 0.1) => Float32Array.from(rng.uniform(lo, hi, n));

async function convBench(
  name: string,
  C: number,
  H: number,
  O: number,
  first: boolean,
): Promise<void> {
  if (!blas) return;
  const s = {
    batch: B,
    inChannels: C,
    height: H,
    width: H,
    outChannels: O,
    kernelH: 5,
    kernelW: 5,
  };
  const stage = new ConvStage(blas, s, { poolH: 2, poolW: 2, ignoreBorder: true }, "tanh", !first);
  const x = rand(B * C * H * H, 0, 1), w = rand(O * C * 25), b = rand(O);
  const out = new Float32Array(B * stage.outSize), dOut = rand(B * stage.outSize, -1e-3, 1e-3);
  const dx = first ? null : new Float32Array(x.length);
  const dw = new Float32Array(w.length), db = new Float32Array(O);
  await stage.forward(out, x, w, b, B);
  Deno.bench(`${name} conv+pool+tanh forward`, { group: "native stages", ignore }, async () => {
    await stage.forward(out, x, w, b, B);
  });
  Deno.bench(`${name} conv+pool+tanh backward`, { group: "native stages", ignore }, async () => {
    await stage.backward(dx, dw, db, dOut, out, w, B);
  });
}

function denseBench(name: string, I: number, J: number, tanh: boolean): void {
  if (!blas) return;
  const stage = new DenseStage(blas, I, J, tanh ? "tanh" : null, B);
  const x = rand(B * I), w = rand(I * J), b = rand(J);
  const out = new Float32Array(B * J), dOut = rand(B * J, -1e-3, 1e-3);
  const dx = new Float32Array(B * I), dw = new Float32Array(w.length), db = new Float32Array(J);
  stage.forward(out, x, w, b, B);
  Deno.bench(
    `${name} dense${tanh ? "+tanh" : ""} forward`,
    { group: "native stages", ignore },
    () => {
      stage.forward(out, x, w, b, B);
    },
  );
  Deno.bench(
    `${name} dense${tanh ? "+tanh" : ""} backward`,
    { group: "native stages", ignore },
    () => {
      stage.backward(dx, dw, db, dOut, out, x, w, B);
    },
  );
}

await convBench("conv0 1x28x28->20", 1, 28, 20, true);
await convBench("conv1 20x12x12->50", 20, 12, 50, false);
denseBench("dense0 800->500", 800, 500, true);
denseBench("dense1 500->10", 500, 10, false);

const model = ignore ? null : await Sequential.create({
  inputShape: [1, 28, 28],
  batchSize: B,
  backend: "native",
  layers: [
    new Conv2D({ filters: 20, kernelSize: 5 }),
    new MaxPool2D({ poolSize: 2 }),
    new Tanh(),
    new Conv2D({ filters: 50, kernelSize: 5 }),
    new MaxPool2D({ poolSize: 2 }),
    new Tanh(),
    new Dense({ units: 500 }),
    new Tanh(),
    new Dense({ units: 10 }),
    new Softmax(),
  ],
});
const x = rand(B * 784, 0, 1), labels = rng.randint(0, 10, B);

Deno.bench(
  "LeNet training step, batch 500 (native)",
  { group: "step", baseline: true, ignore },
  async () => {
    await model!.trainStep(x, labels, { learningRate: 0.1 });
  },
);

Deno.bench("LeNet inference, batch 500 (native)", { group: "step", ignore }, async () => {
  await model!.predict(x);
});
