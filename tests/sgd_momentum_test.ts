/**
 * SGD momentum is PyTorch's `torch.optim.SGD` (dampening 0, nesterov off) on every backend:
 *
 *   buf = μ·buf + g      (buf zero before the first step, so the first buf is g: PyTorch's clone)
 *   p  -= lr·buf
 *
 * written out here, independent of cpu/sgd.ts. The learning rate changes at every step: the
 * old rule `v = μ·v - lr·g; p += v` agrees with PyTorch's only while lr is constant.
 *
 * The test computes g with the reference executor in float64 (same batch), applies the formula
 * above in float64, lets the backend take the step, and compares p and `p.m` after every step.
 * The cpu executor in float64 is followed from its initial weights to the end: its state is the
 * formula's exactly, read back rounded to float32 (rtol 1e-7, above 2^-24). Native and webgpu
 * (float32 gradients) are checked a step at a time from their own state read back: rtol 1e-5,
 * atol 1e-5 · max|expected| per tensor (the largest error seen is 10x below). The old rule
 * misses the parameters from the second step by up to 8e-3 and the buffers from the first
 * (it kept -lr·g).
 *
 * Also: a version 0.1 state (old-rule velocities named like the parameters) is refused by
 * `setOptimizerState` with an error that says how to convert it; converted as it says, the
 * run continues as the old rule would have (constant lr).
 */
import assert from "node:assert/strict";
import { CpuExecutor } from "../src/backends/cpu.ts";
import { planNetwork } from "../src/layers.ts";
import {
  Conv2D,
  Dense,
  type Layer,
  MaxPool2D,
  type NetworkPlan,
  Sequential,
  Softmax,
  type StepOptions,
  Tanh,
} from "../mod.ts";
import { tryLoadBlas } from "../src/backends/native/blas.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { device, hasAdapter } from "./_webgpu.ts";

const INPUT = [1, 8, 7], BATCH = 6, MOMENTUM = 0.9;
/** One learning rate per step, changing every time. */
const LRS = [0.1, 0.05, 0.2, 0.02, 0.12];

const layers = (): Layer[] => [
  new Conv2D({ filters: 3, kernelSize: 3 }),
  new Tanh(),
  new MaxPool2D({ poolSize: 2 }),
  new Dense({ units: 6 }),
  new Tanh(),
  new Dense({ units: 4 }),
  new Softmax(),
];

/** A backend under test: its parameters and `.m` buffers, and one SGD-momentum step. */
interface Subject {
  params(): Promise<Map<string, Float32Array>>;
  buffers(): Promise<Map<string, Float32Array>>;
  step(x: Float32Array, labels: Int32Array, lr: number): Promise<void>;
  dispose(): void;
}

function sgdStep(lr: number, step: number): StepOptions {
  return {
    optimizer: { kind: "sgd", learningRate: lr, momentum: MOMENTUM },
    step,
    seed: 0,
    readLoss: true,
  };
}

/** The cpu reference executor in float64, started from `initial`. */
function float64Subject(plan: NetworkPlan, initial: Map<string, Float32Array>): Subject {
  const exec = new CpuExecutor(plan, "float64");
  exec.setParams(initial);
  let t = 0;
  return {
    params: () => exec.getParams(),
    buffers: async () => only(await exec.getOptimizerState(), ".m"),
    async step(x, labels, lr) {
      await exec.trainStep({ x, labels, count: labels.length }, sgdStep(lr, ++t));
    },
    dispose: () => exec.dispose(),
  };
}

async function modelSubject(backend: "native" | "webgpu"): Promise<Subject> {
  const model = await Sequential.create({
    inputShape: INPUT,
    layers: layers(),
    batchSize: BATCH,
    backend,
    device: device ?? undefined,
  });
  return {
    params: async () => tensors(await model.getWeights()),
    buffers: async () => {
      const { step: _, ...state } = await model.getOptimizerState();
      return only(tensors(state), ".m");
    },
    async step(x, labels, lr) {
      await model.trainStep(x, labels, { learningRate: lr, momentum: MOMENTUM });
    },
    dispose: () => model.dispose(),
  };
}

function tensors(t: Record<string, { data: Float32Array }>): Map<string, Float32Array> {
  return new Map(Object.entries(t).map(([k, v]) => [k, v.data]));
}

/** The entries whose name ends with `suffix`, under the parameter's name. */
function only(m: Map<string, Float32Array>, suffix: string): Map<string, Float32Array> {
  return new Map(
    [...m].filter(([k]) => k.endsWith(suffix)).map(([k, v]) => [k.slice(0, -suffix.length), v]),
  );
}

/**
 * Runs LRS.length steps on `subject`, checking each against PyTorch's formula. `anchored`
 * (float32 backends): each step's reference starts from the subject's state read back;
 * otherwise (the float64 executor) the reference keeps its own float64 state throughout.
 */
async function checkAgainstPytorch(
  name: string,
  plan: NetworkPlan,
  subject: Subject,
  tol: { anchored: boolean; rtol: number; atolScale: number; atolMin: number },
): Promise<void> {
  const oracle = new CpuExecutor(plan, "float64");
  const rng = new RandomState(5);
  const size = INPUT.reduce((a, b) => a * b, 1);
  const f64 = (m: Map<string, Float32Array>) =>
    new Map([...m].map(([k, v]) => [k, Float64Array.from(v)]));
  let p = new Map<string, Float64Array>(), buf = new Map<string, Float64Array>();
  for (let t = 0; t < LRS.length; t++) {
    const count = t === 3 ? BATCH - 2 : BATCH;
    const x = Float32Array.from(rng.uniform(-1, 1, count * size));
    const labels = Int32Array.from(rng.randint(0, 4, count));
    if (t === 0 || tol.anchored) {
      [p, buf] = [f64(await subject.params()), f64(await subject.buffers())];
    }
    if (t === 0) {
      for (const b of buf.values()) assert.ok(b.every((v) => v === 0), "zero at start");
    }
    await oracle.setParams(p);
    const { grads } = oracle.lossAndGradients(x, labels);
    const lr = LRS[t];
    for (const { name } of plan.params) {
      const g = grads.get(name)!, b = buf.get(name)!, value = p.get(name)!;
      for (let k = 0; k < b.length; k++) {
        b[k] = MOMENTUM * b[k] + g[k];
        value[k] -= lr * b[k];
      }
    }
    await subject.step(x, labels, lr);
    const [p1, buf1] = [await subject.params(), await subject.buffers()];
    for (const param of plan.params) {
      for (
        const [what, actual, expected] of [
          ["param", p1.get(param.name)!, p.get(param.name)!],
          ["momentum buffer", buf1.get(param.name)!, buf.get(param.name)!],
        ] as const
      ) {
        const max = expected.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        assertAllClose(actual, expected, {
          rtol: tol.rtol,
          atol: Math.max(tol.atolMin, tol.atolScale * max),
          msg: `${name} step ${t + 1} (lr ${lr}) ${what} ${param.name}`,
        });
      }
    }
  }
  subject.dispose();
}

const plan = (): NetworkPlan => planNetwork(INPUT, layers(), BATCH);

/** The initial weights every subject starts from (Sequential's default seed). */
async function initialWeights(): Promise<Map<string, Float32Array>> {
  const m = await Sequential.create({ inputShape: INPUT, layers: layers(), batchSize: BATCH });
  const w = tensors(await m.getWeights());
  m.dispose();
  return w;
}

Deno.test("sgd momentum cpu (float64): PyTorch's buf = μ·buf + g; p -= lr·buf, lr changing", async () => {
  const pl = plan();
  await checkAgainstPytorch("cpu float64", pl, float64Subject(pl, await initialWeights()), {
    anchored: false,
    rtol: 1e-7,
    atolScale: 0,
    atolMin: 1e-12,
  });
});

const blas = tryLoadBlas();
if ("error" in blas) console.log(`native momentum test skipped, no BLAS: ${blas.error.message}`);

Deno.test({
  name: "sgd momentum native: PyTorch's buf = μ·buf + g; p -= lr·buf, lr changing",
  ignore: !("blas" in blas),
  fn: async () => {
    await checkAgainstPytorch("native", plan(), await modelSubject("native"), {
      anchored: true,
      rtol: 1e-5,
      atolScale: 1e-5,
      atolMin: 1e-8,
    });
  },
});

Deno.test({
  name: "sgd momentum webgpu: PyTorch's buf = μ·buf + g; p -= lr·buf, lr changing",
  ignore: !hasAdapter,
  fn: async () => {
    await checkAgainstPytorch("webgpu", plan(), await modelSubject("webgpu"), {
      anchored: true,
      rtol: 1e-5,
      atolScale: 1e-5,
      atolMin: 1e-8,
    });
  },
});

Deno.test("setOptimizerState refuses a version 0.1 state; converted as the error says, it continues the old run", async () => {
  const create = () =>
    Sequential.create({ inputShape: INPUT, layers: layers(), batchSize: BATCH, backend: "cpu" });
  const model = await create();
  const rng = new RandomState(9);
  const lr = 0.05, size = INPUT.reduce((a, b) => a * b, 1);
  const batch = () => ({
    x: Float32Array.from(rng.uniform(-1, 1, BATCH * size)),
    labels: Int32Array.from(rng.randint(0, 4, BATCH)),
  });
  // Version 0.1 velocities (old rule, constant lr): v = -lr·buf after some steps.
  for (let t = 0; t < 2; t++) {
    const { x, labels } = batch();
    await model.trainStep(x, labels, { learningRate: lr, momentum: MOMENTUM });
  }
  const state = await model.getOptimizerState();
  const legacy: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const p of model.plan.params) {
    const m = state[`${p.name}.m`];
    legacy[p.name] = { shape: m.shape, data: m.data.map((b) => -lr * b) };
  }
  const fresh = await create();
  await assert.rejects(
    () => fresh.setOptimizerState(legacy),
    (e: Error) =>
      e instanceof RangeError && /version 0\.1/.test(e.message) &&
      e.message.includes(`"<param>.m" = -v / lr`),
  );
  // Refused means untouched: the buffers are still zero.
  for (const [k, t] of Object.entries(await fresh.getOptimizerState())) {
    assert.ok(t.data.every((v) => v === 0), k);
  }
  // Converted as the message says: "<param>.m" = -v / lr, zero "<param>.v", and "step".
  const converted: Record<string, { shape: number[]; data: Float32Array }> = {
    step: state.step,
  };
  for (const [name, v] of Object.entries(legacy)) {
    converted[`${name}.m`] = { shape: v.shape, data: v.data.map((x) => -x / lr) };
    converted[`${name}.v`] = { shape: v.shape, data: new Float32Array(v.data.length) };
  }
  await fresh.setWeights(await model.getWeights());
  await fresh.setOptimizerState(converted);
  const { x, labels } = batch();
  for (const m of [model, fresh]) {
    await m.trainStep(x, labels, { learningRate: lr, momentum: MOMENTUM });
  }
  const [a, b] = [await model.getWeights(), await fresh.getWeights()];
  for (const k of Object.keys(a)) {
    assertAllClose(b[k].data, a[k].data, { rtol: 1e-6, atol: 1e-8, msg: k });
  }
  model.dispose();
  fresh.dispose();
});
