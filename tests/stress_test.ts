/**
 * Calls that are not awaited (issue 18): the rule is that queued work never reads an array or a
 * dataset after the call returns unless the model owns it (README, "Use it"). On every backend
 * available here (cpu always; native when a BLAS loads; webgpu when an adapter exists), a
 * sequence of operations is issued WITHOUT awaiting, mutating the caller's arrays right after
 * each call and disposing datasets while work on them is queued; the same sequence then runs on
 * a fresh identical model, each call awaited before the next and the arrays mutated only after.
 * Every result (losses, probabilities, evaluations, weights, optimiser state) must be identical,
 * bit for bit, and every call that fails must fail with the same error in both runs.
 */
import assert from "node:assert/strict";
import { Conv2D, Dense, MaxPool2D, Sequential, Softmax, Tanh } from "../mod.ts";
import type { Dataset, Tensor, TrainOptions } from "../mod.ts";
import type { BackendName } from "../src/backend.ts";
import { tryLoadBlas } from "../src/backends/native/blas.ts";
import { RandomState } from "../src/random.ts";
import { hasAdapter } from "./_webgpu.ts";

const BACKENDS: BackendName[] = ["cpu"];
const blas = tryLoadBlas();
if ("blas" in blas) BACKENDS.push("native");
else console.log(`stress test skips native: ${blas.error.message}`);
if (hasAdapter) BACKENDS.push("webgpu");
else console.log("stress test skips webgpu: no WebGPU adapter");

const SHAPE = [1, 8, 8], SAMPLE = 64, BATCH = 8, CLASSES = 10;

function tinyModel(backend: BackendName): Promise<Sequential> {
  return Sequential.create({
    inputShape: SHAPE,
    batchSize: BATCH,
    backend,
    seed: 7,
    layers: [
      new Conv2D({ filters: 2, kernelSize: 3 }),
      new MaxPool2D({ poolSize: 2 }),
      new Tanh(),
      new Dense({ units: CLASSES }),
      new Softmax(),
    ],
  });
}

/** One call of the sequence; `seed` draws its arrays, `mutate` spoils them after the call. */
type Op =
  | { kind: "trainStep"; n: number; seed: number; train: TrainOptions; bad?: "nan" | "label" }
  | { kind: "trainBatch"; ds: number; start: number; count: number; train: TrainOptions }
  | { kind: "predict" | "evaluate"; n: number; seed: number }
  | { kind: "evaluateDataset"; ds: number }
  | { kind: "getWeights" | "getOptimizerState" }
  | { kind: "setWeights"; seed: number; bad?: boolean }
  | { kind: "setOptimizerState"; seed: number }
  | { kind: "createDataset"; n: number; seed: number; bytes: boolean }
  | { kind: "dispose"; ds: number };

const TRAIN: TrainOptions[] = [
  { learningRate: 0.05 },
  { learningRate: 0.05, momentum: 0.9 },
  { learningRate: 0.05, readLoss: false },
  { optimizer: "adam", learningRate: 0.01 },
  { optimizer: "adamw", learningRate: 0.01, readLoss: false },
];

/** A random sequence of `length` calls; datasets are numbered in creation order. */
function randomOps(seed: number, length: number): Op[] {
  const rng = new RandomState(seed);
  const int = (lo: number, hi: number) => rng.randint(lo, hi, 1)[0];
  const sizes: number[] = [];
  const ops: Op[] = [{ kind: "createDataset", n: 20, seed: 1, bytes: true }];
  sizes.push(20);
  while (ops.length < length) {
    const r = rng.nextDouble(), s = int(0, 1 << 30);
    const train = TRAIN[int(0, TRAIN.length)];
    const ds = int(0, sizes.length);
    if (r < 0.2) {
      const bad = r < 0.01 ? "nan" : r < 0.02 ? "label" : undefined;
      ops.push({ kind: "trainStep", n: int(2, BATCH + 1), seed: s, train, bad });
    } else if (r < 0.4) {
      const count = int(2, Math.min(BATCH, sizes[ds]) + 1);
      ops.push({ kind: "trainBatch", ds, start: int(0, sizes[ds] - count + 1), count, train });
      // Dispose the dataset while the step on it is queued (issue 18, finding 1).
      if (rng.nextDouble() < 0.15) ops.push({ kind: "dispose", ds });
    } else if (r < 0.5) ops.push({ kind: "predict", n: int(1, 3 * BATCH), seed: s });
    else if (r < 0.6) ops.push({ kind: "evaluate", n: int(1, 3 * BATCH), seed: s });
    else if (r < 0.65) ops.push({ kind: "evaluateDataset", ds });
    else if (r < 0.72) ops.push({ kind: "getWeights" });
    else if (r < 0.78) ops.push({ kind: "setWeights", seed: s, bad: r < 0.73 });
    else if (r < 0.83) ops.push({ kind: "getOptimizerState" });
    else if (r < 0.88) ops.push({ kind: "setOptimizerState", seed: s });
    else if (r < 0.95) {
      const n = int(2, 3 * BATCH);
      ops.push({ kind: "createDataset", n, seed: s, bytes: rng.nextDouble() < 0.5 });
      sizes.push(n);
    } else ops.push({ kind: "dispose", ds });
  }
  ops.push({ kind: "getWeights" }, { kind: "getOptimizerState" });
  return ops;
}

function floats(rng: RandomState, n: number, lo = 0, hi = 1): Float32Array {
  return Float32Array.from(rng.uniform(lo, hi, n));
}

function tensors(
  specs: { name: string; shape: number[] }[],
  draw: (name: string, size: number) => Float32Array,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const p of specs) {
    out[p.name] = { shape: [...p.shape], data: draw(p.name, p.shape.reduce((a, b) => a * b, 1)) };
  }
  return out;
}

/** Every array a call was given, spoilt: NaN floats, out-of-range labels, 255 bytes. */
function spoil(arrays: (Float32Array | Int32Array | Uint8Array)[]): void {
  for (const a of arrays) {
    a.fill(a instanceof Float32Array ? NaN : a instanceof Int32Array ? 99 : 255);
  }
}

/** Makes the call of `op`; returns its result (or promise) and the arrays it was given. */
function call(
  model: Sequential,
  op: Op,
  datasets: Dataset[],
): { result: unknown; given: (Float32Array | Int32Array | Uint8Array)[] } {
  const rng = new RandomState("seed" in op ? op.seed : 0);
  switch (op.kind) {
    case "trainStep": {
      const x = floats(rng, op.n * SAMPLE), labels = Int32Array.from(rng.randint(0, 10, op.n));
      if (op.bad === "nan") x[3] = NaN;
      if (op.bad === "label") labels[1] = CLASSES;
      return { result: model.trainStep(x, labels, op.train), given: [x, labels] };
    }
    case "trainBatch":
      return {
        result: model.trainBatch(datasets[op.ds], op.start, op.count, op.train),
        given: [],
      };
    case "predict": {
      const x = floats(rng, op.n * SAMPLE);
      return { result: model.predict({ shape: [op.n, ...SHAPE], data: x }), given: [x] };
    }
    case "evaluate": {
      const x = floats(rng, op.n * SAMPLE), labels = Int32Array.from(rng.randint(0, 10, op.n));
      return { result: model.evaluate(x, labels), given: [x, labels] };
    }
    case "evaluateDataset":
      return { result: model.evaluateDataset(datasets[op.ds]), given: [] };
    case "getWeights":
      return { result: model.getWeights(), given: [] };
    case "getOptimizerState":
      return { result: model.getOptimizerState(), given: [] };
    case "setWeights": {
      const w = tensors(
        [...model.plan.params, ...model.plan.state],
        (_, size) => floats(rng, size, -0.3, 0.3),
      );
      if (op.bad) delete w["dense0.bias"];
      return { result: model.setWeights(w), given: Object.values(w).map((t) => t.data) };
    }
    case "setOptimizerState": {
      const s = tensors(
        model.plan.params.flatMap((p) =>
          [`${p.name}.m`, `${p.name}.v`].map((name) => ({ ...p, name }))
        ),
        (name, size) =>
          name.endsWith(".v") ? floats(rng, size, 0, 0.01) : floats(rng, size, -0.1, 0.1),
      );
      s.step = { shape: [1], data: Float32Array.of(rng.randint(0, 20, 1)[0]) };
      return { result: model.setOptimizerState(s), given: Object.values(s).map((t) => t.data) };
    }
    case "createDataset": {
      const images = op.bytes
        ? Uint8Array.from(rng.randint(0, 256, op.n * SAMPLE))
        : floats(rng, op.n * SAMPLE);
      const labels = Int32Array.from(rng.randint(0, 10, op.n));
      datasets.push(model.createDataset(images, labels));
      return { result: "created", given: [images, labels] };
    }
    case "dispose":
      datasets[op.ds].dispose();
      return { result: "disposed", given: [] };
  }
}

type Outcome = { value: unknown } | { error: string };

/**
 * Plays `ops` on `model`: `queued` issues every call at once and spoils each call's arrays
 * right after it returns; otherwise each call is awaited before its arrays are spoilt and
 * before the next call.
 */
async function play(model: Sequential, ops: Op[], queued: boolean): Promise<Outcome[]> {
  const datasets: Dataset[] = [];
  const results: Promise<unknown>[] = [];
  for (const op of ops) {
    let result: Promise<unknown>, given: (Float32Array | Int32Array | Uint8Array)[] = [];
    try {
      const made = call(model, op, datasets);
      result = Promise.resolve(made.result);
      given = made.given;
    } catch (e) {
      result = Promise.reject(e);
    }
    result.catch(() => {});
    results.push(result);
    if (!queued) await result.catch(() => {});
    spoil(given);
  }
  return (await Promise.allSettled(results)).map((r) =>
    r.status === "fulfilled"
      ? { value: r.value }
      : { error: `${(r.reason as Error).name}: ${(r.reason as Error).message}` }
  );
}

/** Plays `ops` queued and awaited on two fresh models and compares every outcome. */
async function compare(backend: BackendName, ops: Op[]): Promise<Outcome[]> {
  const [queuedModel, awaitedModel] = [await tinyModel(backend), await tinyModel(backend)];
  try {
    const queued = await play(queuedModel, ops, true);
    const awaited = await play(awaitedModel, ops, false);
    ops.forEach((op, i) => {
      assert.deepStrictEqual(
        queued[i],
        awaited[i],
        `call ${i} (${JSON.stringify(op)}): not awaited gave ${
          JSON.stringify(queued[i]).slice(0, 300)
        }, awaited ${JSON.stringify(awaited[i]).slice(0, 300)}`,
      );
    });
    return awaited;
  } finally {
    queuedModel.dispose();
    awaitedModel.dispose();
  }
}

function each(name: string, fn: (backend: BackendName) => Promise<void>): void {
  for (const backend of BACKENDS) {
    Deno.test({
      name: `${name} [${backend}]`,
      sanitizeResources: false,
      sanitizeOps: false,
      fn: () => fn(backend),
    });
  }
}

const errorOf = (o: Outcome) => "error" in o ? o.error : "";

each("finding 1: a dataset disposed while a trainBatch on it is queued", async (backend) => {
  const train = { learningRate: 0.1 };
  const out = await compare(backend, [
    { kind: "createDataset", n: 16, seed: 1, bytes: true },
    { kind: "trainStep", n: 8, seed: 2, train },
    { kind: "trainBatch", ds: 0, start: 0, count: 8, train },
    { kind: "dispose", ds: 0 },
    { kind: "trainBatch", ds: 0, start: 8, count: 8, train },
    { kind: "getWeights" },
  ]);
  assert.equal(typeof (out[2] as { value: unknown }).value, "number");
  assert.equal(errorOf(out[4]), "Error: trainBatch: the dataset has been disposed");
});

each("finding 2: arrays changed right after a call do not change its result", async (b) => {
  const train = { learningRate: 0.1 };
  const out = await compare(b, [
    { kind: "predict", n: 3 * BATCH, seed: 1 },
    { kind: "setWeights", seed: 2 },
    { kind: "getWeights" },
    { kind: "trainStep", n: 8, seed: 3, train },
    { kind: "evaluate", n: 2 * BATCH + 3, seed: 4 },
    { kind: "setOptimizerState", seed: 5 },
    { kind: "getOptimizerState" },
    { kind: "trainStep", n: 8, seed: 6, train: { optimizer: "adam" } },
    { kind: "createDataset", n: 16, seed: 7, bytes: true },
    { kind: "createDataset", n: 16, seed: 8, bytes: false },
    { kind: "trainBatch", ds: 0, start: 2, count: 8, train },
    { kind: "evaluateDataset", ds: 1 },
    { kind: "getWeights" },
    { kind: "getOptimizerState" },
  ]);
  const probs = (out[0] as { value: Float32Array }).value;
  assert.equal(probs.filter(Number.isNaN).length, 0);
});

each("stress: 250 random calls not awaited equal the same calls awaited", async (backend) => {
  const ops = randomOps(18, 250);
  const out = await compare(backend, ops);
  const failed = out.map(errorOf).filter(Boolean);
  // The sequence exercises the failures too: disposed datasets, NaN inputs, bad labels...
  assert.ok(failed.some((e) => e.includes("the dataset has been disposed")), failed.join("\n"));
  assert.ok(failed.some((e) => e.includes("is not finite")), failed.join("\n"));
  assert.ok(failed.length < ops.length / 4, failed.join("\n"));
  const disposedWhileQueued = ops.filter((op, i) =>
    op.kind === "trainBatch" && ops[i + 1]?.kind === "dispose" && !("error" in out[i])
  );
  assert.ok(disposedWhileQueued.length > 0);
});

each("a model disposed while calls are queued finishes them, then refuses new ones", async (b) => {
  const model = await tinyModel(b), reference = await tinyModel(b);
  try {
    const rng = new RandomState(9);
    const sample = model.plan.inputShape.reduce((p, d) => p * d, 1);
    const x = floats(rng, 8 * sample), labels = Int32Array.from(rng.randint(0, 3, 8));
    const ds = model.createDataset(new Uint8Array(8 * sample).fill(7), labels);
    const queued = [
      model.trainStep(x, labels, { learningRate: 0.1 }),
      model.trainBatch(ds, 0, 8, { learningRate: 0.1 }),
      model.predict(x),
      model.getWeights(),
    ];
    model.dispose();
    await assert.rejects(model.predict(x), /disposed/);
    const [l1, l2, probs, weights] = await Promise.all(queued);
    const rds = reference.createDataset(new Uint8Array(8 * sample).fill(7), labels);
    assert.equal(l1, await reference.trainStep(x, labels, { learningRate: 0.1 }));
    assert.equal(l2, await reference.trainBatch(rds, 0, 8, { learningRate: 0.1 }));
    assert.deepEqual(probs, await reference.predict(x));
    assert.deepEqual(weights, await reference.getWeights());
  } finally {
    reference.dispose();
  }
});
