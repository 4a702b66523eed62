/**
 * The LeNet example end to end on a tiny synthetic MNIST written as IDX files:
 * argument errors, a short training run whose error falls, checkpoints and resume,
 * a mismatched checkpoint, damaged checkpoint metadata, the conversion of format 2's momentum
 * velocities, and the NaN guard. Never touches the network.
 */
import { encodeIdx } from "../src/data/idx.ts";
import assert from "node:assert/strict";
import { type Config, parseConfig, run, UsageError } from "../examples/lenet.ts";
import { FORMAT, readTrainingCheckpoint } from "../examples/_training_state.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/checkpoint_deno.ts";
import type { Tensor } from "../mod.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertRejectsWith, assertThrowsWith } from "./_assert.ts";

/** Ten classes, each a bright bar at its own place plus noise: learnable in an epoch or two. */
function synthetic(count: number, seed: number) {
  const rng = new RandomState(seed);
  const labels = rng.randint(0, 10, count);
  const noise = rng.rand(count * 784);
  const images = new Uint8Array(count * 784);
  for (let n = 0; n < count; n++) {
    const k = labels[n];
    for (let i = 0; i < 784; i++) {
      const y = Math.floor(i / 28), x = i % 28;
      const bar = k < 5
        ? (y >= 4 + 4 * k && y < 7 + 4 * k)
        : (x >= 4 + 4 * (k - 5) && x < 7 + 4 * (k - 5));
      images[n * 784 + i] = Math.min(255, (bar ? 200 : 0) + Math.floor(noise[n * 784 + i] * 60));
    }
  }
  return { images, labels: Uint8Array.from(labels) };
}

async function tinyMnist(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lenet-example-" });
  const train = synthetic(720, 1), test = synthetic(200, 2);
  await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, encodeIdx([720, 28, 28], train.images));
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, encodeIdx([720], train.labels));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, encodeIdx([200, 28, 28], test.images));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, encodeIdx([200], test.labels));
  return dir;
}

function config(dir: string, extra: string[] = []): Config {
  const c = parseConfig([
    "--data",
    dir,
    "--backend",
    "cpu",
    "--batch-size",
    "40",
    "--kernels",
    "4,6",
    "--hidden",
    "32",
    ...extra,
  ]);
  assert.notEqual(c, "help");
  return c as Config;
}

Deno.test("lenet example: flags and their errors", () => {
  assert.equal(parseConfig(["--help"]), "help");
  const c = parseConfig([]) as Config;
  assert.deepEqual(
    [c.backend, c.epochs, c.batchSize, c.lr, c.kernels, c.hidden, c.patience, c.seed],
    ["auto", 200, 500, 0.1, [20, 50], 500, 10000, 23455],
  );
  assertThrowsWith(() => parseConfig(["--frobnicate"]), UsageError, "frobnicate");
  assertThrowsWith(
    () => parseConfig(["--epochs", "zero"]),
    UsageError,
    '--epochs must be an integer >= 1, got "zero"',
  );
  assertThrowsWith(() => parseConfig(["--lr=-1"]), UsageError, "--lr must be a positive number");
  assertThrowsWith(
    () => parseConfig(["--backend", "tpu"]),
    UsageError,
    "--backend must be auto, webgpu, native or cpu",
  );
  assertThrowsWith(
    () => parseConfig(["--dataset", "cifar"]),
    UsageError,
    "--dataset must be mnist or fashion-mnist",
  );
  assertThrowsWith(
    () => parseConfig(["--kernels", "20"]),
    UsageError,
    "--kernels takes two numbers",
  );
  assertThrowsWith(
    () => parseConfig(["--momentum", "1"]),
    UsageError,
    "--momentum must be in [0, 1)",
  );
});

Deno.test("lenet example: --convention tutorial (default) or usual, anything else refused", () => {
  assert.equal((parseConfig([]) as Config).convention, "tutorial");
  assert.equal((parseConfig(["--convention", "tutorial"]) as Config).convention, "tutorial");
  assert.equal((parseConfig(["--convention=usual"]) as Config).convention, "usual");
  for (const bad of ["theano", "Usual", ""]) {
    assertThrowsWith(
      () => parseConfig(["--convention", bad]),
      UsageError,
      `--convention must be tutorial or usual, got "${bad}"`,
    );
  }
});

Deno.test("lenet example: a short run on tiny synthetic data learns, checkpoints and resumes", async () => {
  const dir = await tinyMnist();
  const ckpt = `${dir}/run.safetensors`;
  const lines: string[] = [];
  const first = await run(config(dir, ["--epochs", "2", "--save", ckpt]), (l) => lines.push(l));
  assert.equal(first.epochs, 2);
  // 10 classes: chance is 90 % error; the bars are easy to learn.
  assert.ok(first.testScore < 0.3, `test error ${first.testScore} should fall well below 0.9`);
  assert.ok(
    lines.some((l) => /^epoch 1, minibatch 15\/15, validation error [\d.]+ %$/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /test error of best model/.test(l)));
  assert.ok(
    lines.some((l) =>
      /^Best validation score of [\d.]+ % obtained at iteration \d+, with test performance [\d.]+ %$/
        .test(l)
    ),
  );
  assert.equal((await loadCheckpoint(ckpt)).metadata.format, "lenet-webgpu/3");

  const resumed: string[] = [];
  const second = await run(
    config(dir, ["--epochs", "3", "--resume", ckpt]),
    (l) => resumed.push(l),
  );
  assert.ok(
    resumed.some((l) => l.startsWith(`... resumed from ${ckpt} after epoch 2`)),
    resumed.join("\n"),
  );
  assert.equal(second.epochs, 3);
  assert.ok(!resumed.some((l) => l.startsWith("epoch 1,")), "training went on from epoch 3");
  assert.ok(resumed.some((l) => l.startsWith("epoch 3,")));
  assert.ok(second.bestValidation <= first.bestValidation);

  // A flag that contradicts the checkpoint's architecture is refused, naming both values.
  await assertRejectsWith(
    () => run(config(dir, ["--epochs", "3", "--hidden", "16", "--resume", ckpt]), () => {}),
    UsageError,
    "--hidden 16 (the checkpoint has 32)",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("lenet example: a diverging run stops with a clear message", async () => {
  const dir = await tinyMnist();
  await assertRejectsWith(
    () => run(config(dir, ["--epochs", "1", "--lr", "1e30"]), () => {}),
    Error,
    "training stopped at epoch 1, minibatch 2: step 2 made parameters (conv0.weight",
  );
  await Deno.remove(dir, { recursive: true });
});

/** The settings and state of a format 3 checkpoint of `config(dir)` after one epoch. */
const SETTINGS = {
  kernels: [4, 6],
  hidden: 32,
  convention: "tutorial",
  seed: 23455,
  batchSize: 40,
  lr: 0.1,
  lrDecay: 1,
  momentum: 0,
  patience: 10000,
  dataset: "mnist",
  limit: null,
  order: "sequential",
};
const STATE = {
  epoch: 1,
  iteration: 15,
  lr: 0.1,
  patience: 10000,
  bestValidation: 0.5,
  bestIter: 14,
  testScore: 0.5,
  stopped: false,
};

Deno.test("lenet example: damaged checkpoint metadata is refused naming the file and the key", async () => {
  const dir = await tinyMnist();
  const path = `${dir}/damaged.safetensors`;
  const settings = JSON.stringify(SETTINGS), state = JSON.stringify(STATE);
  const cases: [Record<string, string>, string][] = [
    [{ settings }, `${path} has no "state" in its metadata (was it written by --save?)`],
    [
      { settings: settings.slice(0, 30), state },
      `${path}: corrupt "settings" metadata (not the JSON --save writes): `,
    ],
    [{ settings, state: "{'epoch': 1}" }, `${path}: corrupt "state" metadata`],
    [
      { settings: JSON.stringify({ ...SETTINGS, hidden: 0 }), state },
      `${path}: settings.hidden must be a positive integer, got 0`,
    ],
    [
      { settings, state: JSON.stringify({ ...STATE, lr: 0 }) },
      `${path}: state.lr must be a positive number, got 0`,
    ],
    [
      { settings, state: JSON.stringify({ ...STATE, epoch: undefined }) },
      `${path}: state.epoch is missing (it must be an integer >= 0)`,
    ],
  ];
  // No flag but the data's: every setting comes from the checkpoint.
  const c = parseConfig(["--data", dir, "--backend", "cpu", "--epochs", "2", "--resume", path]);
  for (const [metadata, message] of cases) {
    const w = { shape: [1], data: Float32Array.of(0) };
    await saveCheckpoint(path, { w }, { format: FORMAT, ...metadata });
    await assertRejectsWith(
      () => run(c as Config, () => {}),
      Error,
      message,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("lenet example: format 2's momentum velocities read back as buffers -v / lr of the last epoch", async () => {
  const dir = await tinyMnist();
  const path = `${dir}/v2.safetensors`;
  // After epoch 3 with --lr 0.1 --lr-decay 0.5: epoch 3 trained at 0.025, state.lr is epoch 4's.
  const settings = JSON.stringify({ ...SETTINGS, lrDecay: 0.5, momentum: 0.9 });
  const state = JSON.stringify({ ...STATE, epoch: 3, iteration: 45, lr: 0.0125 });
  const v = Float32Array.of(0.25, -0.5, 0.1);
  const w = { shape: [3], data: new Float32Array(3) };
  const expected = v.map((x) => -x / 0.025);
  await saveCheckpoint(path, {
    w,
    "velocity.w.m": { shape: [3], data: v },
    "velocity.w.v": { shape: [3], data: new Float32Array(3) },
    "velocity.step": { shape: [1], data: Float32Array.of(45) },
  }, { format: "lenet-webgpu/2", settings, state });
  const ck = await readTrainingCheckpoint(path);
  assert.deepEqual(ck.optimizer?.["w.m"].data, expected);
  assert.deepEqual(Array.from(expected, (x) => Math.round(x)), [-10, 20, -4]);
  assert.deepEqual(ck.optimizer?.["w.v"].data, new Float32Array(3));
  assert.deepEqual(ck.optimizer?.step.data, Float32Array.of(45));
  assert.equal(ck.state.lr, 0.0125);

  // Version 0.1 files of format 2: the velocity under the parameter's name, no .v nor step.
  await saveCheckpoint(path, { w, "velocity.w": { shape: [3], data: v } }, {
    format: "lenet-webgpu/2",
    settings,
    state,
  });
  const old = await readTrainingCheckpoint(path);
  assert.deepEqual(Object.keys(old.optimizer ?? {}).sort(), ["step", "w.m", "w.v"]);
  assert.deepEqual(old.optimizer?.["w.m"].data, expected);
  assert.deepEqual(old.optimizer?.["w.v"].data, new Float32Array(3));
  assert.deepEqual(old.optimizer?.step.data, Float32Array.of(45));

  // Format 3 holds buffers already: read as they are.
  await saveCheckpoint(path, { w, "velocity.w.m": { shape: [3], data: v } }, {
    format: FORMAT,
    settings,
    state,
  });
  assert.deepEqual((await readTrainingCheckpoint(path)).optimizer?.["w.m"].data, v);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("lenet example: a real run's buffers, saved as format 2 velocities, resume", async () => {
  const dir = await tinyMnist();
  const path = `${dir}/m.safetensors`, old = `${dir}/m2.safetensors`;
  const flags = ["--momentum", "0.9", "--lr", "0.05", "--lr-decay", "0.5"];
  await run(config(dir, [...flags, "--epochs", "2", "--save", path]), () => {});
  const ck = await loadCheckpoint(path);
  // Back to what format 2 held: v = -lr·buf with epoch 2's rate 0.025 (state.lr is 0.0125).
  const tensors: Record<string, Tensor> = { ...ck.tensors };
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith("velocity.") && name.endsWith(".m")) {
      tensors[name] = { shape: t.shape, data: t.data.map((x) => -0.025 * x) };
    }
  }
  await saveCheckpoint(old, tensors, { ...ck.metadata, format: "lenet-webgpu/2" });
  const [now, before] = [await readTrainingCheckpoint(path), await readTrainingCheckpoint(old)];
  assert.equal(before.format, "lenet-webgpu/2");
  for (const [name, t] of Object.entries(now.optimizer!)) {
    assertAllClose(before.optimizer![name].data, t.data, { rtol: 1e-6, atol: 0, msg: name });
  }
  const lines: string[] = [];
  const resumed = await run(
    config(dir, ["--epochs", "3", "--resume", old, "--save", old]),
    (l) => lines.push(l),
  );
  assert.equal(resumed.epochs, 3);
  assert.ok(lines.some((l) => l.startsWith("epoch 3,")), lines.join("\n"));
  assert.equal((await loadCheckpoint(old)).metadata.format, "lenet-webgpu/3");
  await Deno.remove(dir, { recursive: true });
});
