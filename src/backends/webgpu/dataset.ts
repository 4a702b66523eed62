/**
 * A dataset kept on the GPU: images as bytes packed 4 per u32 word (MNIST's 47 MB fit one
 * binding; as floats, 188 MB would not) or as floats, and labels as u32. A batch is copied
 * out of it on the GPU and, for bytes, expanded by `shaders/load_batch.wgsl`.
 *
 * @module
 */
import type { DeviceDataset } from "../../backend.ts";
import { upload } from "./device.ts";

/** Samples and labels in GPU buffers, owned by one executor. */
export class GpuDataset implements DeviceDataset {
  /** Number of samples. */
  readonly count: number;
  /** True when `images` holds bytes (scaled by `scale` on load), false for floats. */
  readonly bytes: boolean;
  /** Multiplier applied to byte images. */
  readonly scale: number;
  /** The images, `count * sampleSize` bytes (padded to 4) or floats. */
  readonly images: GPUBuffer;
  /** The labels, `count` u32. */
  readonly labels: GPUBuffer;
  /** Called once by {@link GpuDataset.dispose}. */
  onDispose: () => void = () => {};
  #disposed = false;

  constructor(
    device: GPUDevice,
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
  ) {
    const label32 = new Uint32Array(count);
    label32.set(labels); // checked by the model (src/validate.ts)
    this.count = count;
    this.bytes = images instanceof Uint8Array;
    this.scale = scale;
    const size = Math.ceil(images.byteLength / 4) * 4;
    if (size > device.limits.maxBufferSize) {
      throw new RangeError(
        `dataset: ${size} bytes of images exceed this device's maxBufferSize (${device.limits.maxBufferSize})`,
      );
    }
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.images = device.createBuffer({ label: "dataset images", size, usage });
    this.labels = device.createBuffer({ label: "dataset labels", size: count * 4, usage });
    const whole = images.byteLength & ~3;
    const bytes = new Uint8Array(images.buffer, images.byteOffset, images.byteLength);
    if (whole > 0) upload(device, this.images, 0, bytes.subarray(0, whole));
    if (whole < images.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(whole));
      upload(device, this.images, whole, tail);
    }
    upload(device, this.labels, 0, label32);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.images.destroy();
    this.labels.destroy();
    this.onDispose();
  }
}
