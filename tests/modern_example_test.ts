/**
 * The modern-CNN example end to end on the first 600 real MNIST training images (native
 * backend, a narrow network): flag errors, a short run whose error falls, a checkpoint resumed into a
 * run that ends bit-identical to an uninterrupted one, contradicting flags refused.
 */
import assert from "node:assert/strict";
import { modernCnn, parseModernConfig, runModern } from "../examples/modern.ts";
import type { ModernConfig } from "../examples/modern.ts";
import { loadCheckpoint } from "../src/checkpoint_deno.ts";

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
