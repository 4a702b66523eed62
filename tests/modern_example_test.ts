/**
 * The modern-CNN example end to end on the first 600 real MNIST training images (native
 * backend, a narrow network): flag errors, a short run whose error falls, a checkpoint resumed into a
 * run that ends bit-identical to an uninterrupted one, contradicting flags refused; damaged
 * checkpoint metadata and a training file too small for a validation split refused.
 */
import { encodeIdx } from "../src/data/idx.ts";
import assert from "node:assert/strict";
import { FORMAT, modernCnn, parseModernConfig, runModern } from "../examples/modern.ts";
import type { ModernConfig } from "../examples/modern.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/checkpoint_deno.ts";
import { assertRejectsWith } from "./_assert.ts";

const DATA = new URL("../../shared/data/mnist/", import.meta.url).pathname;
const haveData = await Deno.stat(`${DATA}/train-images-idx3-ubyte.gz`).then(
  () => true,
  () => false,
);

function config(extra: string[]): ModernConfig {
  const c = parseModernConfig([
    "--data",
    DATA,
    "--backend",
    "native",
    "--limit",
    "600",
    "--batch-size",
    "50",
    "--width",
    "4",
    "--blocks",
    "2",
    "--lr",
    "0.01",
    ...extra,
  ]);
  assert.ok(c !== "help");
  return c;
}

Deno.test("modern example: bad flags are refused naming the flag and the value", () => {
  assert.throws(() => parseModernConfig(["--augment", "rotate"]), /--augment must be .*"rotate"/);
  assert.throws(() => parseModernConfig(["--blocks", "4"]), /--blocks must be 1, 2 or 3, got "4"/);
  assert.throws(() => parseModernConfig(["--dropout", "1"]), /--dropout must be in \[0, 1\)/);
  assert.throws(() => parseModernConfig(["--epochs", "0"]), /--epochs must be a positive/);
  assert.equal(parseModernConfig(["--help"]), "help");
  const fashion = parseModernConfig(["--dataset", "fashion-mnist"]);
  assert.ok(fashion !== "help" && fashion.augment === "none");
});

Deno.test("modern example: the network's layers (2 blocks by default)", () => {
  const kinds = modernCnn(8, 0.3).map((l) => l.kind);
  assert.equal(kinds.filter((k) => k === "conv2d").length, 2);
  assert.deepEqual(kinds.slice(0, 4), ["conv2d", "batchnorm2d", "relu", "maxpool2d"]);
  assert.equal(kinds.at(-1), "softmax");
});

Deno.test({
  name: "modern example: a short run learns; resume from a checkpoint is bit-identical",
  ignore: !haveData, // the real MNIST of ../shared (CI has it)
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "modern-example-" });
    const quiet = () => {};
    const full = await runModern(config(["--epochs", "2", "--save", `${dir}/full.st`]), quiet);
    // 24 steps of a 4-filter network: far from trained, well below chance (90 %).
    assert.ok(full.testScore < 0.75, `test error ${full.testScore} after 2 epochs on 600 images`);
    // A run stopped after its first epoch, then resumed for the second.
    await runModern(config(["--epochs", "2", "--until", "1", "--save", `${dir}/part.st`]), quiet);
    const lines: string[] = [];
    const resumed = await runModern(
      { ...config(["--epochs", "2", "--save", `${dir}/part.st`]), resume: `${dir}/part.st` },
      (l) => lines.push(l),
    );
    assert.ok(lines.some((l) => l.includes("resumed from")), lines.join("\n"));
    assert.equal(resumed.testScore, full.testScore);
    const [a, b] = [await loadCheckpoint(`${dir}/full.st`), await loadCheckpoint(`${dir}/part.st`)];
    assert.deepEqual(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
    for (const [name, t] of Object.entries(a.tensors)) {
      assert.deepEqual(b.tensors[name].data, t.data, name);
    }
    assert.ok("bn0.running_var" in a.tensors && "optimizer.step" in a.tensors);
    await assert.rejects(
      () => runModern({ ...config(["--width", "8"]), resume: `${dir}/part.st` }, quiet),
      /was trained with --width 4/,
    );
    await Deno.remove(dir, { recursive: true });
  },
});

/** The metadata of a checkpoint of `config([])` after one epoch. */
const SETTINGS = {
  epochs: 8,
  batchSize: 50,
  lr: 0.01,
  weightDecay: 0.0005,
  width: 4,
  blocks: 2,
  dropout: 0.3,
  augment: "shift",
  seed: 1,
  dataset: "mnist",
  limit: 600,
};
const STATE = { epoch: 1, bestValidation: 0.5, bestEpoch: 1, testScore: 0.5 };

/** Writes a checkpoint of this example with the given metadata and one stand-in tensor. */
async function damaged(path: string, metadata: Record<string, string>): Promise<void> {
  const w = { shape: [1], data: Float32Array.of(0) };
  await saveCheckpoint(path, { w }, { format: FORMAT, ...metadata });
}

Deno.test("modern example: damaged checkpoint metadata is refused naming the file and the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modern-example-" });
  const path = `${dir}/damaged.safetensors`;
  const settings = JSON.stringify(SETTINGS), state = JSON.stringify(STATE);
  const cases: [Record<string, string>, string][] = [
    [{ settings }, `${path} has no "state" in its metadata (was it written by --save?)`],
    [{ state }, `${path} has no "settings" in its metadata`],
    [
      { settings: settings.slice(0, 30), state },
      `${path}: corrupt "settings" metadata (not the JSON --save writes): `,
    ],
    [{ settings, state: "{'epoch': 1}" }, `${path}: corrupt "state" metadata`],
    [
      { settings: JSON.stringify({ ...SETTINGS, width: 0 }), state },
      `${path}: settings.width must be a positive integer, got 0`,
    ],
    [
      { settings: JSON.stringify({ ...SETTINGS, lr: 0 }), state },
      `${path}: settings.lr must be a positive number, got 0`,
    ],
    [
      { settings, state: JSON.stringify({ ...STATE, epoch: undefined }) },
      `${path}: state.epoch is missing (it must be an integer >= 0)`,
    ],
  ];
  // No flag but the data's: every setting comes from the checkpoint.
  const c = parseModernConfig(["--data", DATA, "--backend", "cpu", "--resume", path]);
  assert.ok(c !== "help");
  for (const [metadata, message] of cases) {
    await damaged(path, metadata);
    await assertRejectsWith(
      () => runModern(c, () => {}),
      Error,
      message,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("modern example: --resume of a checkpoint without state exits 1 naming the file and key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modern-example-" });
  const path = `${dir}/no-state.safetensors`;
  await damaged(path, { settings: JSON.stringify(SETTINGS) });
  const script = new URL("../examples/modern.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script, "--data", dir, "--resume", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [stdout, stderr] = [out.stdout, out.stderr].map((b) => new TextDecoder().decode(b));
  assert.equal(out.code, 1, stdout + stderr);
  assert.ok(
    stderr.includes(`error: ${path} has no "state" in its metadata (was it written by --save?)`),
    stderr,
  );
  assert.ok(!stdout.includes("Best validation"), stdout);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("modern example: 5 training images are refused: too few for a validation split", async () => {
  const dir = await Deno.makeTempDir({ prefix: "modern-example-" });
  for (const [name, n] of [["train", 5], ["t10k", 3]] as const) {
    await Deno.writeFile(
      `${dir}/${name}-images-idx3-ubyte`,
      encodeIdx([n, 28, 28], new Uint8Array(n * 784)),
    );
    await Deno.writeFile(`${dir}/${name}-labels-idx1-ubyte`, encodeIdx([n], new Uint8Array(n)));
  }
  const c = parseModernConfig(["--data", dir, "--backend", "cpu", "--batch-size", "1"]);
  assert.ok(c !== "help");
  await assertRejectsWith(
    () => runModern(c, () => {}),
    Error,
    "the training file has 5 images: too few for a validation split (one image in six, the " +
      "last ones, goes to validation); at least 6 are needed",
  );
  await Deno.remove(dir, { recursive: true });
});
