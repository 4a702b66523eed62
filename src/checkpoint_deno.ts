/**
 * Saving and loading checkpoints (safetensors files) under Deno, atomically.
 *
 * Deno-only: uses `Deno.*` file APIs. The format itself lives in the
 * runtime-agnostic `safetensors.ts`.
 *
 * @module
 */

import {
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  type TensorF32,
} from "./safetensors.ts";

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i < 0 ? "." : i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

/**
 * Writes `bytes` to `path` atomically: writes a temporary file
 * `<path>.tmp-<random>` in the same directory, fsyncs it, then renames it over
 * `path` (and fsyncs the directory where the platform allows). A crash or error
 * at any point leaves either the old file or the complete new one at `path`,
 * never a partial file; on error the temporary file is removed.
 *
 * @param path The destination file.
 * @param bytes The complete new contents.
 * @returns Resolves once the file is in place.
 * @throws {Error} When the temporary file cannot be written or renamed (the
 *   error names the path).
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./checkpoint_deno.ts";
 * await writeFileAtomic("/tmp/hello.txt", new TextEncoder().encode("hello"));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${randomSuffix()}`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`cannot write ${path}: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  // Make the rename itself durable. Not possible on every platform (Windows), so best effort.
  try {
    const dir = await Deno.open(dirOf(path), { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // ignore
  }
}

/**
 * Saves tensors and metadata as a safetensors checkpoint at `path`, atomically
 * (see {@linkcode writeFileAtomic}): the previous checkpoint at `path` survives
 * any failure, including an encoding error or a crash mid-write.
 *
 * @param path The checkpoint file (conventionally `*.safetensors`).
 * @param tensors The float32 tensors by name.
 * @param metadata Optional string metadata (e.g. epoch, validation error).
 * @returns Resolves once the checkpoint is in place.
 * @throws {Error} When the tensors cannot be encoded or the file not written;
 *   the message names the path.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint, saveCheckpoint } from "./checkpoint_deno.ts";
 * await saveCheckpoint("model.safetensors", {
 *   "layer0.W": { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 * }, { epoch: "3" });
 * const { tensors, metadata } = await loadCheckpoint("model.safetensors");
 * ```
 */
export async function saveCheckpoint(
  path: string,
  tensors: Record<string, TensorF32>,
  metadata?: Record<string, string>,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encodeSafetensors(tensors, metadata);
  } catch (e) {
    throw new Error(
      `cannot save checkpoint ${path}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  await writeFileAtomic(path, bytes);
}

/**
 * Loads a safetensors checkpoint written by {@linkcode saveCheckpoint} (or any
 * float32 safetensors file).
 *
 * @param path The checkpoint file.
 * @returns The tensors and metadata.
 * @throws {Error} Naming the path: when the file does not exist, cannot be
 *   read, or is not a valid float32 safetensors file.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint_deno.ts";
 * const { tensors } = await loadCheckpoint("model.safetensors");
 * console.log(Object.keys(tensors));
 * ```
 */
export async function loadCheckpoint(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`checkpoint not found: ${path}`, { cause: e });
    }
    throw new Error(
      `cannot read checkpoint ${path}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(
      `corrupt checkpoint ${path}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
}
