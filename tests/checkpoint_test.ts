import assert from "node:assert/strict";
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from "../src/checkpoint_deno.ts";
import type { TensorF32 } from "../src/safetensors.ts";

function params(scale: number): Record<string, TensorF32> {
  return {
    "layer0.W": { shape: [2, 1, 3, 3], data: new Float32Array(18).map((_, i) => i * scale) },
    "layer0.b": { shape: [2], data: new Float32Array([scale, -scale]) },
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("checkpoint: round trip and overwrite", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await saveCheckpoint(path, params(1), { epoch: "1" });
    let c = await loadCheckpoint(path);
    assert.deepEqual(c.metadata, { epoch: "1" });
    assert.deepEqual(c.tensors["layer0.W"].shape, [2, 1, 3, 3]);
    assert.deepEqual(c.tensors["layer0.b"].data, new Float32Array([1, -1]));
    await saveCheckpoint(path, params(0.5), { epoch: "2" });
    c = await loadCheckpoint(path);
    assert.deepEqual(c.metadata, { epoch: "2" });
    assert.deepEqual(c.tensors["layer0.W"].data, params(0.5)["layer0.W"].data);
    assert.deepEqual(await listDir(dir), ["model.safetensors"]); // no temp files left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint: the old file survives a save that fails while encoding", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await saveCheckpoint(path, params(1), { epoch: "1" });
    const before = await Deno.readFile(path);
    const bad = params(2);
    bad["layer0.b"] = { shape: [3], data: new Float32Array(2) }; // encoding throws
    await assert.rejects(
      saveCheckpoint(path, bad, { epoch: "2" }),
      new RegExp(`cannot save checkpoint ${path}: .*tensor "layer0.b" has shape \\[3\\]`),
    );
    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual((await loadCheckpoint(path)).metadata, { epoch: "1" });
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint: a failure after the temp file is written removes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The rename fails: the destination is a non-empty directory.
    const path = `${dir}/model.safetensors`;
    await Deno.mkdir(path);
    await Deno.writeTextFile(`${path}/keep`, "old contents");
    await assert.rejects(
      saveCheckpoint(path, params(1)),
      new RegExp(`cannot write ${path}:`),
    );
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    assert.equal(await Deno.readTextFile(`${path}/keep`), "old contents");
    // A missing directory: nothing is created.
    await assert.rejects(
      writeFileAtomic(`${dir}/nope/x.bin`, new Uint8Array(4)),
      /cannot write .*nope\/x\.bin/,
    );
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint: missing and corrupt files name the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await assert.rejects(
      loadCheckpoint(path),
      new RegExp(`^Error: checkpoint not found: ${path}$`),
    );
    await saveCheckpoint(path, params(1));
    const good = await Deno.readFile(path);
    await Deno.writeFile(path, good.subarray(0, good.length - 3)); // truncated
    await assert.rejects(
      loadCheckpoint(path),
      new RegExp(`corrupt checkpoint ${path}: safetensors: .*go beyond the data`),
    );
    await Deno.writeFile(path, new TextEncoder().encode("not a checkpoint at all"));
    await assert.rejects(loadCheckpoint(path), new RegExp(`corrupt checkpoint ${path}: `));
    await assert.rejects(loadCheckpoint(dir), new RegExp(`cannot read checkpoint ${dir}: `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
