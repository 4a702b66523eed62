/**
 * The bad-input suite (issue 9): what a careful, hostile user tries, run on every backend
 * available here (cpu always; native when a BLAS loads; webgpu when an adapter exists).
 * Each test name starts with the item it covers (1-8), or "works" for the cases
 * that already worked and must stay so. Never touches the network.
 */
import assert from "node:assert/strict";
import {
  Conv2D,
  Dense,
  encodeIdx,
  gunzipIfNeeded,
  MaxPool2D,
  NonFiniteError,
  parseMnist,
  Sequential,
  Softmax,
  Tanh,
} from "../mod.ts";
import type { BackendName } from "../src/backend.ts";
import { type Config, parseConfig, run, UsageError } from "../examples/lenet.ts";
import { readTrainingCheckpoint } from "../examples/_training_state.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/checkpoint_deno.ts";
import { tryLoadBlas } from "../src/backends/native/blas.ts";
import { RandomState } from "../src/random.ts";
import { assertRejectsWith, assertThrowsWith } from "./_assert.ts";
import { hasAdapter } from "./_webgpu.ts";

const BACKENDS: BackendName[] = ["cpu"];
if ("blas" in tryLoadBlas()) BACKENDS.push("native");
if (hasAdapter) BACKENDS.push("webgpu");
if (BACKENDS.length < 3) {
  console.log(`bad-input suite runs on ${BACKENDS.join(", ")} (the others are unavailable here)`);
}

const SHAPE = [1, 8, 8];
function tinyModel(backend: BackendName, batchSize = 8): Promise<Sequential> {
  return Sequential.create({
    inputShape: SHAPE,
    batchSize,
    backend,
    layers: [
      new Conv2D({ filters: 2, kernelSize: 3 }),
      new MaxPool2D({ poolSize: 2 }),
      new Tanh(),
      new Dense({ units: 10 }),
      new Softmax(),
    ],
  });
}

function batch(n: number, seed = 1): { x: Float32Array; labels: Int32Array } {
  const rng = new RandomState(seed);
  return {
    x: Float32Array.from(rng.rand(n * 64)),
    labels: Int32Array.from(rng.randint(0, 10, n)),
  };
}

/** Registers one test per available backend. */
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

// ---- 1. non-finite values are caught the same way on every backend -----------------------

each("1: a diverging step rejects with NonFiniteError naming the tensors", async (backend) => {
  const model = await tinyModel(backend);
  const { x, labels } = batch(8);
  let caught: unknown;
  for (let i = 0; i < 6 && !caught; i++) {
    await model.trainStep(x, labels, { learningRate: 1e30 }).catch((e) => caught = e);
  }
  assert.ok(caught instanceof NonFiniteError, `expected a NonFiniteError, got ${caught}`);
  assert.equal(caught.firstStep, caught.step);
  assert.ok(caught.tensors.length > 0 || caught.loss, caught.message);
  assert.match(caught.message, /^step \d+ made .* non-finite: training diverged/);
  for (const t of caught.tensors) assert.match(t, /^(conv0|dense0)\.(weight|bias)$/);
  model.dispose();
});

each("1: steps without a read are checked at the next read (WebGPU) or at once", async (b) => {
  const model = await tinyModel(b);
  const { x, labels } = batch(8);
  const quiet = { learningRate: 1e30, readLoss: false };
  let caught: unknown, quietSteps = 0;
  for (let i = 0; i < 4 && !caught; i++) {
    await model.trainStep(x, labels, quiet).then(() => quietSteps++, (e) => caught = e);
  }
  if (b === "webgpu") {
    assert.equal(caught, undefined, "WebGPU reports at the next read, not before");
    caught = await model.trainStep(x, labels, { learningRate: 1e-9 }).catch((e) => e);
    assert.ok(caught instanceof NonFiniteError, String(caught));
    assert.equal(caught.firstStep, 1);
    assert.equal(caught.step, 5);
    assert.match(caught.message, /one of steps 1\.\.5 \(steps run with readLoss false/);
  } else {
    assert.ok(caught instanceof NonFiniteError, String(caught));
    assert.equal(caught.step, quietSteps + 1);
  }
  model.dispose();
});

each("1: setWeights refuses a NaN weight, naming the tensor and index", async (backend) => {
  const model = await tinyModel(backend);
  const w = await model.getWeights();
  w["conv0.weight"].data[3] = NaN;
  await assertRejectsWith(
    () => model.setWeights(w),
    RangeError,
    'setWeights: "conv0.weight": value NaN at index 3 is not finite',
  );
  model.dispose();
});

// ---- 3. labels must be integers in range ----------------------------------------------------

each("3: non-integer labels are refused, naming index and value", async (backend) => {
  const model = await tinyModel(backend);
  const { x } = batch(4);
  for (
    const [labels, bad] of [
      [[3.5, 1, 1, 2], "3.5 at index 0"],
      [[1, NaN, 1, 2], "NaN at index 1"],
      [
        [1, 2, 1.9, 2],
        "1.9 at index 2",
      ],
      [[1, 2, 3, 2 ** 32 + 9], "4294967305 at index 3"],
    ] as [number[], string][]
  ) {
    await assertRejectsWith(
      () => model.evaluate(x, labels),
      RangeError,
      `evaluate: label ${bad} is not an integer in [0, 10)`,
    );
    await assertRejectsWith(() => model.trainStep(x, labels), RangeError, `label ${bad}`);
  }
  const bytes = new Uint8Array(4 * 64);
  assertThrowsWith(
    () => model.createDataset(bytes, [0, 1, 2.5, 3] as unknown as Int32Array),
    RangeError,
    "createDataset: label 2.5 at index 2",
  );
  assertThrowsWith(
    () => model.createDataset(bytes, Uint8Array.of(0, 1, 12, 3)),
    RangeError,
    "createDataset: label 12 at index 2 is not an integer in [0, 10)",
  );
  model.dispose();
});

// ---- 4. inputs finite, of the right type and length -----------------------------------------

each("4: a non-finite input is refused, naming the index", async (backend) => {
  const model = await tinyModel(backend);
  const { x, labels } = batch(4);
  x[70] = Infinity;
  await assertRejectsWith(
    () => model.trainStep(x, labels),
    RangeError,
    "trainStep: input: value Infinity at index 70 is not finite",
  );
  await assertRejectsWith(() => model.evaluate(x, labels), RangeError, "index 70");
  await assertRejectsWith(() => model.predict(x), RangeError, "predict: input: value Infinity");
  x[70] = NaN;
  assertThrowsWith(
    () => model.createDataset(x, labels),
    RangeError,
    "createDataset: images: value NaN at index 70",
  );
  model.dispose();
});

each("8: a plain array or Float64Array input is a TypeError naming the type", async (backend) => {
  const model = await tinyModel(backend);
  const { x, labels } = batch(2);
  const as = (v: unknown) => v as Float32Array;
  await assertRejectsWith(
    () => model.trainStep(as(Array.from(x)), labels),
    TypeError,
    "trainStep: input must be a Float32Array, got a plain array",
  );
  await assertRejectsWith(
    () => model.evaluate(as(Float64Array.from(x)), labels),
    TypeError,
    "evaluate: input must be a Float32Array, got Float64Array",
  );
  await assertRejectsWith(() => model.predict(as(Array.from(x))), TypeError, "Float32Array");
  assertThrowsWith(
    () => model.createDataset(as(Float64Array.from(x)), labels),
    TypeError,
    "createDataset: images must be a Uint8Array (bytes) or a Float32Array, got Float64Array",
  );
  model.dispose();
});

each("8: 32x32 images are reported as a wrong image size", async (backend) => {
  const model = await tinyModel(backend);
  assertThrowsWith(
    () => model.createDataset(new Uint8Array(3 * 32 * 32), Uint8Array.of(1, 2, 3)),
    RangeError,
    "createDataset: wrong image size: 3 labels and 3072 image values make 1024 values per " +
      "image (32x32), but the model takes [1, 8, 8] = 64 values per sample",
  );
  model.dispose();
});

// ---- 5. disposed datasets and models --------------------------------------------------------

each("5: a disposed dataset or model is refused", async (backend) => {
  const model = await tinyModel(backend);
  const ds = model.createDataset(new Uint8Array(16 * 64).fill(9), new Uint8Array(16).fill(1));
  await model.trainBatch(ds, 0, 8);
  ds.dispose();
  ds.dispose(); // twice is fine
  await assertRejectsWith(
    () => model.trainBatch(ds, 0, 8),
    Error,
    "trainBatch: the dataset has been disposed",
  );
  await assertRejectsWith(() => model.evaluateDataset(ds), Error, "has been disposed");
  model.dispose();
  const { x, labels } = batch(2);
  await assertRejectsWith(() => model.trainStep(x, labels), Error, "disposed");
});

// ---- 6. dataset ranges ------------------------------------------------------------------------

each("6: evaluateDataset checks its range; count 0 is refused", async (backend) => {
  const model = await tinyModel(backend);
  const ds = model.createDataset(new Uint8Array(16 * 64), new Uint8Array(16));
  await assertRejectsWith(
    () => model.evaluateDataset(ds, 0, 20),
    RangeError,
    "evaluateDataset: samples [0, 20) are outside the dataset of 16",
  );
  await assertRejectsWith(
    () => model.evaluateDataset(ds, 0, 0),
    RangeError,
    "evaluateDataset: count must be an integer >= 1, got 0",
  );
  await assertRejectsWith(() => model.evaluateDataset(ds, 16), RangeError, "got 0");
  await assertRejectsWith(() => model.evaluateDataset(ds, 20), RangeError, "got -4");
  await assertRejectsWith(() => model.evaluateDataset(ds, -1, 2), RangeError, "start");
  await assertRejectsWith(() => model.trainBatch(ds, 12, 8), RangeError, "[12, 20) are outside");
  const all = await model.evaluateDataset(ds);
  assert.equal(all.count, 16);
  assertThrowsWith(
    () => model.createDataset(new Uint8Array(0), new Uint8Array(0)),
    RangeError,
    "createDataset: a dataset needs at least one sample",
  );
  model.dispose();
});

// ---- works: shape errors and the WebGPU buffer limit -----------------------------------------

each("works: a wrong input shape names the layer, expected and actual", async (backend) => {
  const model = await tinyModel(backend);
  await assertRejectsWith(
    () => model.trainStep({ shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) }, [0, 1]),
    RangeError,
    'trainStep: layer 0 "conv0" (conv2d) expects input [n, 1, 8, 8], got [2, 1, 28, 28]',
  );
  await assertRejectsWith(
    () => model.trainStep(new Float32Array(16 * 64), new Int32Array(16)),
    RangeError,
    "a batch of 16 samples exceeds the model's batchSize 8",
  );
  model.dispose();
});

Deno.test({
  name: "works: a batch over the WebGPU buffer limit names maxStorageBufferBindingSize [webgpu]",
  ignore: !hasAdapter,
  async fn() {
    await assertRejectsWith(
      () => tinyModel("webgpu", 2 ** 22),
      RangeError,
      "maxStorageBufferBindingSize",
    );
  },
});

// ---- The example: checkpoints, resume, flags, data -------------------------------------------

function idx(dims: number[], data: Uint8Array): Uint8Array {
  return encodeIdx(dims, data);
}

/** A tiny synthetic MNIST: `count` training-file images of `side`x`side`, learnable bars. */
async function tinyMnist(count = 48, side = 28): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bad-input-" });
  const make = (n: number, seed: number) => {
    const rng = new RandomState(seed);
    const labels = Uint8Array.from(rng.randint(0, 10, n));
    const noise = rng.rand(n * side * side);
    const images = new Uint8Array(n * side * side);
    for (let i = 0; i < images.length; i++) {
      const k = labels[Math.floor(i / (side * side))], y = Math.floor(i / side) % side;
      images[i] = (y >> 1 === k ? 200 : 0) + Math.floor(noise[i] * 50);
    }
    return { images, labels };
  };
  const train = make(count, 1), test = make(16, 2);
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, idx([count, side, side], train.images));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx([count], train.labels));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, idx([16, side, side], test.images));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idx([16], test.labels));
  return dir;
}

function config(dir: string, backend: BackendName, extra: string[] = []): Config {
  const c = parseConfig([
    ...["--data", dir, "--backend", backend, "--batch-size", "8", "--kernels", "2,3"],
    ...["--hidden", "8", "--lr", "0.05", ...extra],
  ]);
  assert.notEqual(c, "help");
  return c as Config;
}

const quiet = () => {};

for (const momentum of ["0", "0.9"]) {
  each(
    `2: save then resume at an epoch boundary is bit-identical (momentum ${momentum})`,
    async (b) => {
      const dir = await tinyMnist();
      const flags = ["--momentum", momentum, "--lr-decay", "0.9"];
      const whole = await run(
        config(dir, b, [...flags, "--epochs", "3", "--save", `${dir}/a.st`]),
        quiet,
      );
      await run(config(dir, b, [...flags, "--epochs", "1", "--save", `${dir}/b.st`]), quiet);
      const lines: string[] = [];
      const resumed = await run(
        config(dir, b, ["--epochs", "3", "--resume", `${dir}/b.st`, "--save", `${dir}/b.st`]),
        (l) => lines.push(l),
      );
      assert.ok(
        lines.some((l) => /settings from the checkpoint: .*--momentum 0\.9/.test(l)) ===
          (momentum !== "0"),
        lines.join("\n"),
      );
      assert.deepEqual(resumed, whole);
      const a = await loadCheckpoint(`${dir}/a.st`), c = await loadCheckpoint(`${dir}/b.st`);
      assert.deepEqual(Object.keys(c.tensors).sort(), Object.keys(a.tensors).sort());
      if (momentum !== "0") assert.ok("velocity.conv0.weight.m" in a.tensors);
      for (const [name, t] of Object.entries(a.tensors)) {
        assert.deepEqual(c.tensors[name].data, t.data, `${name} differs after resume`);
      }
      assert.equal(c.metadata.state, a.metadata.state); // same values, same order
      const state = JSON.parse(a.metadata.state);
      assert.deepEqual(Object.keys(state).sort(), [
        "bestIter",
        "bestValidation",
        "epoch",
        "iteration",
        "lr",
        "patience",
        "stopped",
        "testScore",
      ]);
      assert.equal(state.iteration, 15);
      await Deno.remove(dir, { recursive: true });
    },
  );
}

Deno.test("2: flags that contradict a checkpoint are refused, each named", async () => {
  const dir = await tinyMnist();
  await run(config(dir, "cpu", ["--epochs", "1", "--save", `${dir}/c.st`]), quiet);
  for (
    const [flag, value, has] of [
      ["--lr", "0.2", "0.05"],
      ["--batch-size", "4", "8"],
      ["--momentum", "0.5", "0"],
      ["--lr-decay", "0.5", "1"],
      ["--kernels", "3,3", "2,3"],
      ["--hidden", "9", "8"],
      ["--convention", "usual", "tutorial"],
      ["--seed", "7", "23455"],
      ["--limit", "16", "none"],
    ]
  ) {
    await assertRejectsWith(
      () =>
        run(config(dir, "cpu", ["--epochs", "2", "--resume", `${dir}/c.st`, flag, value]), quiet),
      UsageError,
      `${flag} ${value} (the checkpoint has ${has})`,
    );
  }
  // The same values as the checkpoint's are fine.
  const r = await run(
    config(dir, "cpu", ["--epochs", "2", "--resume", `${dir}/c.st`, "--lr", "0.05"]),
    quiet,
  );
  assert.equal(r.epochs, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("1: a checkpoint holding a NaN is refused on load, naming the tensor", async () => {
  const dir = await tinyMnist();
  await run(config(dir, "cpu", ["--epochs", "1", "--save", `${dir}/n.st`]), quiet);
  const { tensors, metadata } = await loadCheckpoint(`${dir}/n.st`);
  tensors["dense0.bias"].data[2] = NaN;
  await saveCheckpoint(`${dir}/n.st`, tensors, metadata);
  for (const b of BACKENDS) {
    await assertRejectsWith(
      () => run(config(dir, b, ["--epochs", "2", "--resume", `${dir}/n.st`]), quiet),
      Error,
      `${dir}/n.st: tensor "dense0.bias" holds NaN at index 2: refusing a checkpoint`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

each(
  "8: a diverging run says no checkpoint was written, and the old one is untouched",
  async (b) => {
    const dir = await tinyMnist();
    const path = `${dir}/good.st`;
    await run(config(dir, b, ["--epochs", "1", "--save", path]), quiet);
    // The same run from there, with an absurd learning rate in its state and output biases
    // near the float32 maximum: the first update overflows them to infinity.
    const { tensors, metadata } = await loadCheckpoint(path);
    const state = JSON.parse(metadata.state);
    tensors["dense1.bias"].data.fill(3.3e38);
    await saveCheckpoint(path, tensors, {
      ...metadata,
      state: JSON.stringify({ ...state, lr: 1e38 }),
    });
    const before = await Deno.readFile(path);
    await assertRejectsWith(
      () => run(config(dir, b, ["--epochs", "3", "--resume", path, "--save", path]), quiet),
      Error,
      `non-finite: training diverged; try a smaller learning rate (--lr). No checkpoint was written (${path} is left untouched).`,
    );
    assert.deepEqual(await Deno.readFile(path), before);
    await assertRejectsWith(
      () => run(config(dir, b, ["--epochs", "1", "--lr", "1e30"]), quiet),
      Error,
      "No checkpoint was written.",
    );
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("7: fewer than 6 training images is refused before any NaN is printed", async () => {
  const dir = await tinyMnist(5);
  const lines: string[] = [];
  await assertRejectsWith(
    () => run(config(dir, "cpu", ["--epochs", "1", "--batch-size", "1"]), (l) => lines.push(l)),
    Error,
    "the training file has 5 images: too few for a validation split",
  );
  assert.ok(!lines.some((l) => /NaN|Infinity/.test(l)), lines.join("\n"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("8: an unwritable --save path is found before the data is even read", async () => {
  const lines: string[] = [];
  await assertRejectsWith(
    () =>
      run(
        config("/nonexistent-data", "cpu", ["--save", "/nonexistent-dir/x.safetensors"]),
        (l) => lines.push(l),
      ),
    Error,
    "--save /nonexistent-dir/x.safetensors: cannot write there",
  );
  assert.deepEqual(lines, []);
});

Deno.test("8: a checkpoint with corrupt state JSON names the file", async () => {
  const dir = await tinyMnist();
  const path = `${dir}/corrupt.st`;
  await run(config(dir, "cpu", ["--epochs", "1", "--save", path]), quiet);
  const { tensors, metadata } = await loadCheckpoint(path);
  await saveCheckpoint(path, tensors, { ...metadata, state: "{not json" });
  await assertRejectsWith(
    () => readTrainingCheckpoint(path),
    Error,
    `${path}: corrupt "state" metadata (not the JSON --save writes)`,
  );
  await assertRejectsWith(
    () => run(config(dir, "cpu", ["--epochs", "2", "--resume", path]), quiet),
    Error,
    `${path}: corrupt "state" metadata`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("8: 32x32 images in the example are reported as a wrong image size", async () => {
  const dir = await tinyMnist(48, 32);
  await assertRejectsWith(
    () => run(config(dir, "cpu", ["--epochs", "1"]), quiet),
    Error,
    "wrong image size: the data's images are 32x32, this LeNet takes 28x28 images",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("8: --seed outside RandomState's 32 bits is refused at parse time", () => {
  assertThrowsWith(
    () => parseConfig(["--seed", "99999999999"]),
    UsageError,
    '--seed must be an integer >= 0 and <= 4294967295, got "99999999999"',
  );
  assertThrowsWith(() => parseConfig(["--seed=-1"]), UsageError, "--seed must be");
  assertThrowsWith(() => parseConfig(["--seed", ""]), UsageError, "--seed must be");
  assert.equal((parseConfig(["--seed", "4294967295"]) as Config).seed, 4294967295);
});

Deno.test("8: gzip data followed by garbage says so, naming the file", async () => {
  const raw = encodeIdx([3], Uint8Array.of(1, 2, 3));
  const gz = new Uint8Array(
    await new Response(
      new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    )
      .arrayBuffer(),
  );
  const bad = new Uint8Array(gz.length + 7);
  bad.set(gz);
  bad.set([1, 2, 3, 4, 5, 6, 7], gz.length);
  await assertRejectsWith(
    () => gunzipIfNeeded(bad, "labels.gz"),
    Error,
    "labels.gz: unexpected bytes after the end of the gzip data (trailing garbage",
  );
});

async function deno(args: string[], env: Record<string, string> = {}, clear: string[] = []) {
  const envs = { ...Deno.env.toObject(), ...env };
  for (const k of clear) delete envs[k];
  const out = await new Deno.Command(Deno.execPath(), { args, env: envs, clearEnv: true }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("8: examples/filters.ts with a missing or bad --image prints one clean error", async () => {
  const bad = await Deno.makeTempFile({ suffix: ".png" });
  await Deno.writeTextFile(bad, "not a png");
  const script = new URL("../examples/filters.ts", import.meta.url).pathname;
  for (
    const [image, message] of [
      ["/nonexistent/x.png", "error: --image /nonexistent/x.png: no such file"],
      [bad, `error: --image ${bad}: not a PNG image we can read: `],
    ]
  ) {
    const r = await deno(["run", "-A", script, "--image", image, "--out", `${bad}.out.png`]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.startsWith(message), r.stderr);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  }
  await Deno.remove(bad);
});

Deno.test("8: without network and without --data the message suggests --data DIR", async () => {
  const cache = await Deno.makeTempDir();
  const script = new URL("../examples/lenet.ts", import.meta.url).pathname;
  // No --allow-net: every download fails as it would offline.
  const r = await deno(
    [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      script,
      "--backend",
      "cpu",
    ],
    { XDG_CACHE_HOME: cache },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /could not download/);
  assert.match(r.stderr, /No network\? Pass --data DIR: a folder holding the four files/);
  await Deno.remove(cache, { recursive: true });
});

Deno.test({
  name: "8: the example shows no Mesa XDG_RUNTIME_DIR noise when the variable is unset [webgpu]",
  ignore: !hasAdapter,
  async fn() {
    const dir = await tinyMnist(12);
    const script = new URL("../examples/lenet.ts", import.meta.url).pathname;
    const r = await deno(
      [
        ...["run", "-A", script, "--data", dir, "--backend", "webgpu", "--epochs", "1"],
        ...["--batch-size", "5", "--kernels", "2,2", "--hidden", "4"],
      ],
      {},
      ["XDG_RUNTIME_DIR"],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes("XDG_RUNTIME_DIR"), r.stderr);
    await Deno.remove(dir, { recursive: true });
  },
});

// ---- works: corrupt files and bad flags ------------------------------------------------------

Deno.test("works: corrupt IDX and truncated gzip files are refused naming the file", async () => {
  const files = {
    trainImages: encodeIdx([12, 2, 2], new Uint8Array(48)),
    trainLabels: encodeIdx([12], new Uint8Array(12)),
    testImages: encodeIdx([3, 2, 2], new Uint8Array(12)),
    testLabels: encodeIdx([3], new Uint8Array(3)),
  };
  const badMagic = files.trainLabels.slice();
  badMagic[2] = 0x0d;
  await assertRejectsWith(
    () => parseMnist({ ...files, trainLabels: badMagic }),
    Error,
    "train-labels-idx1-ubyte.gz",
  );
  const gz = new Uint8Array(
    await new Response(
      new Blob([files.testImages as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  await assertRejectsWith(
    () => parseMnist({ ...files, testImages: gz.subarray(0, gz.length - 6) }),
    Error,
    "t10k-images-idx3-ubyte.gz: corrupt or truncated gzip data",
  );
});

Deno.test("works: bad flags are refused with the flag and the value", () => {
  assertThrowsWith(
    () => parseConfig(["--epochs", "zero"]),
    UsageError,
    '--epochs must be an integer >= 1, got "zero"',
  );
  assertThrowsWith(
    () => parseConfig(["--lr", "NaN"]),
    UsageError,
    "--lr must be a positive number",
  );
  assertThrowsWith(() => parseConfig(["--batch-size", "0"]), UsageError, "--batch-size must be");
  assertThrowsWith(() => parseConfig(["--nonsense"]), UsageError, "nonsense");
});

// ---- issue 18: what was given is quoted, its type named; null is not a default ---------------

each("18.2: a label given as a string is quoted and its type named", async (backend) => {
  const model = await tinyModel(backend);
  const { x } = batch(4);
  const labels = [1, 2, "0", 3] as unknown as number[];
  await assertRejectsWith(
    () => model.evaluate(x, labels),
    TypeError,
    'evaluate: label "0" (a string) at index 2 is not an integer in [0, 10)',
  );
  await assertRejectsWith(
    () => model.trainStep(x, [null, 1, 2, 3] as unknown as number[]),
    TypeError,
    "trainStep: label null at index 0 is not an integer in [0, 10)",
  );
  assertThrowsWith(
    () => model.createDataset(new Uint8Array(2 * 64), [1, true] as unknown as Int32Array),
    TypeError,
    "createDataset: label true (a boolean) at index 1 is not an integer in [0, 10)",
  );
  model.dispose();
});

each("18.1: dataset slices and the byte scale are type-checked, null included", async (backend) => {
  const model = await tinyModel(backend);
  const ds = model.createDataset(new Uint8Array(16 * 64), new Uint8Array(16));
  const as = (v: unknown) => v as number;
  await assertRejectsWith(
    () => model.evaluateDataset(ds, as("0"), 4),
    TypeError,
    'evaluateDataset: start must be an integer >= 0, got "0" (a string)',
  );
  await assertRejectsWith(
    () => model.evaluateDataset(ds, as(null)),
    TypeError,
    "evaluateDataset: start must be an integer >= 0, got null",
  );
  await assertRejectsWith(
    () => model.trainBatch(ds, 0, as("8")),
    TypeError,
    'trainBatch: count must be an integer >= 1, got "8" (a string)',
  );
  assertThrowsWith(
    () => model.createDataset(new Uint8Array(64), new Uint8Array(1), { scale: as(null) }),
    TypeError,
    "createDataset: scale must be a positive number, got null",
  );
  assertThrowsWith(
    () => model.createDataset(new Uint8Array(64), new Uint8Array(1), { scale: as("0.5") }),
    TypeError,
    'createDataset: scale must be a positive number, got "0.5" (a string)',
  );
  ds.dispose();
  model.dispose();
});
