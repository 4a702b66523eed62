/**
 * Helpers shared by the backends whose tensors live in host memory (`cpu`, `native`).
 *
 * @module
 */
import type { BatchSource, DeviceDataset } from "../backend.ts";

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A dataset kept as the caller's arrays; bytes are scaled on use. */
export class HostDataset implements DeviceDataset {
  /** Samples, bytes or floats. */
  images: Uint8Array | Float32Array;
  /** Class indices. */
  labels: Uint8Array | Int32Array;
  /** Multiplier applied to byte images. */
  readonly scale: number;
  /** Values per sample. */
  readonly sampleSize: number;
  /** Number of samples. */
  readonly count: number;

  constructor(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
    sampleSize: number,
  ) {
    this.images = images;
    this.labels = labels;
    this.count = count;
    this.scale = scale;
    this.sampleSize = sampleSize;
  }

  dispose(): void {
    this.images = new Uint8Array(0);
    this.labels = new Uint8Array(0);
  }
}

/**
 * Copies a batch into the executor's input (and label) buffers. The model has checked the
 * batch (size, slice, labels, disposal); this trusts it.
 *
 * @returns The number of samples in the batch.
 */
export function hostBatch(
  batch: BatchSource,
  input: Float32Array | Float64Array,
  labels: Int32Array | null,
  sampleSize: number,
): number {
  const count = batch.count;
  if ("x" in batch) {
    input.set(batch.x.subarray(0, count * sampleSize));
    if (labels) labels.set(batch.labels!.subarray(0, count));
    return count;
  }
  const ds = batch.dataset as HostDataset;
  const { start } = batch;
  const src = ds.images.subarray(start * sampleSize, (start + count) * sampleSize);
  if (src instanceof Float32Array) {
    input.set(src);
  } else {
    const s = ds.scale;
    for (let i = 0; i < src.length; i++) input[i] = src[i] * s;
  }
  if (labels) {
    const l = ds.labels;
    for (let i = 0; i < count; i++) labels[i] = l[start + i];
  }
  return count;
}
