/**
 * The WebGPU executor: the network run as WGSL compute shaders (`shaders/`). Parameters,
 * activations, gradients, velocities and the batch live in GPU buffers allocated once per
 * model; pipelines and bind groups are created once; a training step (batch load, forward,
 * loss, backward, SGD) is recorded into ONE command encoder and submitted once. Nothing is
 * read back unless asked: the loss with the step's non-finite flag (8 bytes), an evaluation
 * (8 bytes), probabilities, weights.
 *
 * @module
 */
import type {
  BatchSource,
  DeviceDataset,
  EvalResult,
  Executor,
  LayerPlan,
  NetworkPlan,
  StepOptions,
  StepResult,
} from "../../backend.ts";
import { sizeOf } from "../host.ts";
import { checkDevice, getDevice, scoped, upload, watch } from "./device.ts";
import {
  convWeightSplits,
  type Dispatch,
  Kernel,
  type KernelSpec,
  packParams,
  PARAMS_SIZE,
  specs,
} from "./kernels.ts";
import { GpuDataset } from "./dataset.ts";

/**
 * Creates the WebGPU executor for a plan.
 *
 * @param plan The resolved network.
 * @param options `device`: a device to use instead of the shared one.
 * @returns The executor, its kernels compiled.
 * @throws {Error} If there is no WebGPU adapter, or a buffer exceeds the device's limits.
 */
export async function createWebGpuExecutor(
  plan: NetworkPlan,
  options: { device?: GPUDevice } = {},
): Promise<Executor> {
  const device = options.device ?? await getDevice();
  watch(device);
  checkDevice(device, "createExecutor");
  const exec = new WebGpuExecutor(device, plan);
  try {
    await exec.build();
  } catch (e) {
    exec.dispose();
    throw e;
  }
  return exec;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const READBACK = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
/** Each parameter tensor starts at a multiple of 256 bytes (the binding-offset alignment). */
const PARAM_ALIGN = 64;

type Conv = Extract<LayerPlan, { kind: "conv2d" }>;
type Pool = Extract<LayerPlan, { kind: "maxpool2d" }>;

/** A batch ready to load: its size, and the commands that bring it into acts[0]. */
interface LoadedBatch {
  count: number;
  record(enc: GPUCommandEncoder, pass: () => GPUComputePassEncoder): void;
}

/** Where a parameter tensor sits in the packed parameter, gradient and velocity buffers. */
interface ParamSlot {
  offset: number;
  size: number;
}

class WebGpuExecutor implements Executor {
  readonly backend = "webgpu" as const;
  readonly #device: GPUDevice;
  readonly #plan: NetworkPlan;
  readonly #sample: number;
  readonly #buffers: GPUBuffer[] = [];
  readonly #datasets = new Set<GpuDataset>();
  readonly #slots = new Map<string, ParamSlot>();
  readonly #paramCount: number;
  #disposed = false;
  /** Serialises the operations that map the read-back buffers. */
  #queue: Promise<unknown> = Promise.resolve();

  // Buffers, allocated once.
  readonly #params: GPUBuffer;
  /** acts[i] is the input of layer i; acts[L] the softmax probabilities. */
  readonly #acts: GPUBuffer[] = [];
  /** grads[i] is dLoss/d(acts[i]), for 1 <= i < L. */
  readonly #grads: (GPUBuffer | null)[] = [];
  readonly #labels: GPUBuffer;
  readonly #weights: GPUBuffer;
  readonly #weightGrads: GPUBuffer;
  readonly #velocity: GPUBuffer;
  readonly #result: GPUBuffer;
  /** The non-finite flag of shaders/sgd_update.wgsl: bit 1 loss, bit 2 parameters. */
  readonly #flag: GPUBuffer;
  readonly #batchBytes: GPUBuffer;
  readonly #readResult: GPUBuffer;
  readonly #readProbs: GPUBuffer;
  readonly #readWeights: GPUBuffer;

  // Dispatches, bound once.
  #loadBytes!: Dispatch;
  #forward: Dispatch[] = [];
  #softmax!: Dispatch;
  #loss!: Dispatch;
  #backward: Dispatch[] = [];
  #sgd: Dispatch | null = null;

  constructor(device: GPUDevice, plan: NetworkPlan) {
    this.#device = device;
    this.#plan = plan;
    this.#sample = sizeOf(plan.inputShape);
    const n = plan.batchSize;
    let total = 0;
    for (const p of plan.params) {
      const size = sizeOf(p.shape);
      this.#slots.set(p.name, { offset: total, size });
      total += Math.ceil(size / PARAM_ALIGN) * PARAM_ALIGN;
    }
    this.#paramCount = total;
    const floats = (what: string, count: number, usage = STORAGE) =>
      this.#buffer(what, Math.max(count, 1) * 4, usage);
    this.#params = floats(
      "uniform block",
      PARAMS_SIZE / 4,
      GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    );
    this.#acts.push(floats("the input batch", n * this.#sample));
    this.#grads.push(null);
    plan.layers.forEach((layer, i) => {
      const size = n * sizeOf(layer.outShape);
      this.#acts.push(floats(`the output of layer "${layer.name}"`, size));
      const needsGrad = i + 1 < plan.layers.length;
      this.#grads.push(needsGrad ? floats(`the gradient of layer "${layer.name}"`, size) : null);
    });
    this.#labels = floats("the labels", n);
    this.#weights = floats("the parameters", total);
    this.#weightGrads = floats("the parameter gradients", total);
    this.#velocity = floats("the velocities", total);
    this.#result = floats("the loss", 2);
    this.#flag = floats("the non-finite flag", 1);
    this.#batchBytes = this.#buffer(
      "a byte batch",
      Math.ceil((n * this.#sample + 8) / 4) * 4,
      STORAGE,
    );
    this.#readResult = floats("the loss read-back", 2, READBACK);
    this.#readProbs = floats("the probabilities read-back", n * plan.classes, READBACK);
    this.#readWeights = floats("the parameters read-back", total, READBACK);
  }

  #buffer(what: string, size: number, usage: number): GPUBuffer {
    const limits = this.#device.limits;
    if ((usage & GPUBufferUsage.STORAGE) && size > limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `WebGPU: ${what} needs ${size} bytes at batch ${this.#plan.batchSize}, over this device's ` +
          `maxStorageBufferBindingSize (${limits.maxStorageBufferBindingSize}); use a smaller batchSize`,
      );
    }
    const buf = this.#device.createBuffer({ label: what, size, usage });
    this.#buffers.push(buf);
    return buf;
  }

  #param(name: string, from = this.#weights): GPUBufferBinding {
    const s = this.#slots.get(name)!;
    return { buffer: from, offset: s.offset * 4, size: Math.ceil(s.size / 4) * 16 };
  }

  /** Compiles every kernel (identical specs once, in parallel) and binds the buffers. */
  async build(): Promise<void> {
    const plan = this.#plan, L = plan.layers.length;
    const cache = new Map<string, Promise<Kernel>>();
    const kernel = (spec: KernelSpec) => {
      const key = spec.shader + JSON.stringify(spec.constants);
      if (!cache.has(key)) cache.set(key, Kernel.create(this.#device, spec));
      return cache.get(key)!;
    };
    // Declare every dispatch as [spec, bindings] first, then compile all at once.
    type Plan = [KernelSpec, GPUBufferBinding[] | GPUBuffer[] | (GPUBuffer | GPUBufferBinding)[]];
    const u = this.#params, acts = this.#acts, grads = this.#grads;
    const forward: Plan[] = [], backward: Plan[] = [];
    plan.layers.forEach((layer, i) => {
      const x = acts[i], y = acts[i + 1];
      switch (layer.kind) {
        case "conv2d":
          forward.push([
            specs.conv2dForward(convDims(layer)),
            [u, x, this.#param(layer.weight.name), this.#param(layer.bias.name), y],
          ]);
          break;
        case "maxpool2d":
          forward.push([specs.maxPool2dForward(poolDims(layer)), [u, x, y]]);
          break;
        case "dense":
          forward.push([
            specs.denseForward(layer.inFeatures, layer.outFeatures),
            [u, x, this.#param(layer.weight.name), this.#param(layer.bias.name), y],
          ]);
          break;
        case "tanh":
        case "sigmoid":
          forward.push([specs.activation(layer.kind, "forward", sizeOf(layer.outShape)), [
            u,
            x,
            y,
          ]]);
          break;
        case "softmax":
          break; // the probabilities are only computed by predict
      }
    });
    for (let i = L - 1; i >= 0; i--) {
      const layer = plan.layers[i];
      const x = acts[i], y = acts[i + 1], dy = grads[i + 1]!, dx = grads[i];
      switch (layer.kind) {
        case "softmax":
          if (dx) backward.push([specs.softmaxNllBackward(plan.classes), [u, x, this.#labels, dx]]);
          break;
        case "conv2d": {
          const d = convDims(layer);
          const g = (name: string) => this.#param(name, this.#weightGrads);
          const S = convWeightSplits(d), K = this.#slots.get(layer.weight.name)!.size;
          const partial = this.#buffer(
            `the dw and db slices of layer "${layer.name}"`,
            S * (K + d.O) * 4,
            STORAGE,
          );
          backward.push([specs.conv2dBackwardWeight(d), [u, dy, x, partial]]);
          backward.push([specs.splitSum(S, K, d.O), [
            u,
            partial,
            g(layer.weight.name),
            g(layer.bias.name),
          ]]);
          if (dx) {
            backward.push([specs.conv2dBackwardInput(d), [
              u,
              dy,
              this.#param(layer.weight.name),
              dx,
            ]]);
          }
          break;
        }
        case "maxpool2d":
          if (dx) backward.push([specs.maxPool2dBackward(poolDims(layer)), [u, dy, x, dx]]);
          break;
        case "dense": {
          const { inFeatures: I, outFeatures: J } = layer;
          const g = (name: string) => this.#param(name, this.#weightGrads);
          backward.push([specs.biasBackward(J, 1), [u, dy, g(layer.bias.name)]]);
          backward.push([specs.denseBackwardWeight(I, J), [u, x, dy, g(layer.weight.name)]]);
          if (dx) {
            backward.push([specs.denseBackwardInput(I, J), [
              u,
              dy,
              this.#param(layer.weight.name),
              dx,
            ]]);
          }
          break;
        }
        case "tanh":
        case "sigmoid":
          if (dx) {
            backward.push([specs.activation(layer.kind, "backward", sizeOf(layer.outShape)), [
              u,
              dy,
              y,
              dx,
            ]]);
          }
          break;
      }
    }
    const logits = acts[L - 1];
    const others: Plan[] = [
      [specs.loadBatch(this.#sample), [u, this.#batchBytes, acts[0]]],
      [specs.softmaxForward(plan.classes), [u, logits, acts[L]]],
      [specs.nllLoss(plan.classes), [u, logits, this.#labels, this.#result]],
    ];
    if (this.#paramCount > 0) {
      others.push([specs.sgdUpdate(this.#paramCount), [
        u,
        this.#weightGrads,
        this.#weights,
        this.#velocity,
        this.#result,
        this.#flag,
      ]]);
    }
    const all = [...forward, ...backward, ...others];
    const kernels = await Promise.all(all.map(([spec]) => kernel(spec)));
    const dispatches = await scoped(
      this.#device,
      "binding the kernels",
      () => all.map(([, bindings], k) => kernels[k].bind(bindings)),
    );
    this.#forward = dispatches.slice(0, forward.length);
    this.#backward = dispatches.slice(forward.length, forward.length + backward.length);
    [this.#loadBytes, this.#softmax, this.#loss, this.#sgd = null] = dispatches.slice(
      all.length - others.length,
    );
  }

  #check(what: string): void {
    if (this.#disposed) throw new Error(`WebGPU ${what}: this executor has been disposed`);
    checkDevice(this.#device, what);
  }

  /** Runs `fn` after every earlier operation of this executor has finished. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #upload(what: string, into: GPUBuffer, values: Map<string, Float32Array>): Promise<void> {
    return this.#exclusive(async () => {
      this.#check(what);
      await scoped(this.#device, what, () => {
        for (const [name, slot] of this.#slots) {
          upload(this.#device, into, slot.offset * 4, values.get(name)!);
        }
      });
    });
  }

  #download(what: string, from: GPUBuffer): Promise<Map<string, Float32Array>> {
    return this.#exclusive(async () => {
      this.#check(what);
      const all = await this.#read(this.#readWeights, this.#paramCount * 4, what, (enc) => {
        enc.copyBufferToBuffer(from, 0, this.#readWeights, 0, this.#paramCount * 4);
      });
      const out = new Map<string, Float32Array>();
      for (const [name, s] of this.#slots) out.set(name, all.slice(s.offset, s.offset + s.size));
      return out;
    });
  }

  setParams(values: Map<string, Float32Array>): Promise<void> {
    return this.#upload("setParams", this.#weights, values);
  }

  getParams(): Promise<Map<string, Float32Array>> {
    return this.#download("getParams", this.#weights);
  }

  setOptimizerState(values: Map<string, Float32Array>): Promise<void> {
    return this.#upload("setOptimizerState", this.#velocity, values);
  }

  getOptimizerState(): Promise<Map<string, Float32Array>> {
    return this.#download("getOptimizerState", this.#velocity);
  }

  createDataset(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
  ): DeviceDataset {
    this.#check("createDataset");
    const ds = new GpuDataset(
      this.#device,
      images,
      labels,
      count,
      scale,
    );
    this.#datasets.add(ds);
    ds.onDispose = () => this.#datasets.delete(ds);
    return ds;
  }

  /**
   * Records the commands that put a batch in acts[0] (and the labels): writes for host
   * arrays, copies (and load_batch for bytes) for a dataset. Returns the count.
   */
  #load(
    batch: BatchSource,
    needLabels: boolean,
    step: { lr?: number; momentum?: number },
  ): LoadedBatch {
    const count = batch.count, S = this.#sample;
    const device = this.#device;
    if ("x" in batch) {
      upload(device, this.#params, 0, packParams({ count, ...step }));
      upload(device, this.#acts[0], 0, batch.x.subarray(0, count * S));
      if (needLabels) {
        upload(device, this.#labels, 0, Int32Array.from(batch.labels!.subarray(0, count)));
      }
      return { count, record: () => {} };
    }
    const ds = batch.dataset as GpuDataset;
    const { start } = batch;
    if (ds.bytes) {
      const first = start * S, end = (start + count) * S;
      const from = first & ~3, to = Math.ceil(end / 4) * 4;
      upload(
        device,
        this.#params,
        0,
        packParams({ count, byteOffset: first - from, scale: ds.scale, ...step }),
      );
      return {
        count,
        record: (enc, pass) => {
          enc.copyBufferToBuffer(ds.images, from, this.#batchBytes, 0, to - from);
          if (needLabels) enc.copyBufferToBuffer(ds.labels, start * 4, this.#labels, 0, count * 4);
          this.#loadBytes.record(pass(), count);
        },
      };
    }
    upload(device, this.#params, 0, packParams({ count, ...step }));
    return {
      count,
      record: (enc) => {
        enc.copyBufferToBuffer(ds.images, start * S * 4, this.#acts[0], 0, count * S * 4);
        if (needLabels) enc.copyBufferToBuffer(ds.labels, start * 4, this.#labels, 0, count * 4);
      },
    };
  }

  /**
   * Records (load, then `body` in one compute pass, then `after`) into one encoder and
   * submits it once, inside error scopes.
   */
  #submit(
    what: string,
    load: LoadedBatch,
    body: (pass: GPUComputePassEncoder) => void,
    after: (enc: GPUCommandEncoder) => void = () => {},
  ): Promise<void> {
    return scoped(this.#device, what, () => {
      const enc = this.#device.createCommandEncoder({ label: what });
      let pass: GPUComputePassEncoder | null = null;
      const open = () => pass ??= enc.beginComputePass();
      load.record(enc, open);
      body(open());
      pass!.end();
      after(enc);
      this.#device.queue.submit([enc.finish()]);
    });
  }

  /** Maps `buffer` after `record`'s copies have run; returns its first `bytes` as floats. */
  async #read(
    buffer: GPUBuffer,
    bytes: number,
    what: string,
    record: (enc: GPUCommandEncoder) => void,
  ): Promise<Float32Array> {
    await scoped(this.#device, what, () => {
      const enc = this.#device.createCommandEncoder({ label: what });
      record(enc);
      this.#device.queue.submit([enc.finish()]);
    });
    return await this.#map(buffer, bytes, what);
  }

  async #map(buffer: GPUBuffer, bytes: number, what: string): Promise<Float32Array> {
    await buffer.mapAsync(GPUMapMode.READ, 0, bytes);
    const out = new Float32Array(buffer.getMappedRange(0, bytes).slice(0));
    buffer.unmap();
    this.#check(what);
    return out;
  }

  trainStep(batch: BatchSource, options: StepOptions): Promise<StepResult> {
    return this.#exclusive(async () => {
      this.#check("trainStep");
      const load = this.#load(batch, true, {
        lr: options.optimizer.learningRate,
        momentum: options.optimizer.kind === "sgd" ? options.optimizer.momentum : 0,
      });
      const n = load.count;
      await this.#submit("trainStep", load, (pass) => {
        for (const d of this.#forward) d.record(pass, n);
        this.#loss.record(pass, n);
        for (const d of this.#backward) d.record(pass, n);
        this.#sgd?.record(pass, n);
      }, (enc) => {
        // The loss and the flag come back together; the flag then restarts at 0. Without a
        // read the flag stays set on the device for the next step that reads.
        if (!options.readLoss) return;
        enc.copyBufferToBuffer(this.#result, 0, this.#readResult, 0, 4);
        enc.copyBufferToBuffer(this.#flag, 0, this.#readResult, 4, 4);
        enc.clearBuffer(this.#flag);
      });
      if (!options.readLoss) return { loss: NaN, lossNonFinite: false, paramsNonFinite: false };
      const read = await this.#map(this.#readResult, 8, "trainStep");
      const flag = new Uint32Array(read.buffer)[1];
      return { loss: read[0], lossNonFinite: (flag & 1) !== 0, paramsNonFinite: (flag & 2) !== 0 };
    });
  }

  evaluate(batch: BatchSource): Promise<EvalResult> {
    return this.#exclusive(async () => {
      this.#check("evaluate");
      const load = this.#load(batch, true, {});
      await this.#submit("evaluate", load, (pass) => {
        for (const d of this.#forward) d.record(pass, load.count);
        this.#loss.record(pass, load.count);
      }, (enc) => enc.copyBufferToBuffer(this.#result, 0, this.#readResult, 0, 8));
      const [loss, errors] = await this.#map(this.#readResult, 8, "evaluate");
      return { loss, errors };
    });
  }

  predict(batch: BatchSource): Promise<Float32Array> {
    return this.#exclusive(async () => {
      this.#check("predict");
      const load = this.#load(batch, false, {});
      const bytes = load.count * this.#plan.classes * 4;
      const probs = this.#acts[this.#plan.layers.length];
      await this.#submit("predict", load, (pass) => {
        for (const d of this.#forward) d.record(pass, load.count);
        this.#softmax.record(pass, load.count);
      }, (enc) => enc.copyBufferToBuffer(probs, 0, this.#readProbs, 0, bytes));
      return await this.#map(this.#readProbs, bytes, "predict");
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const ds of [...this.#datasets]) ds.dispose();
    for (const b of this.#buffers) b.destroy();
    this.#buffers.length = 0;
  }
}

function convDims(layer: Conv) {
  const [C, H, W] = layer.inShape;
  return { C, H, W, O: layer.outShape[0], KH: layer.kernelH, KW: layer.kernelW };
}

function poolDims(layer: Pool) {
  const [C, H, W] = layer.inShape;
  return { C, H, W, PH: layer.poolH, PW: layer.poolW, ignoreBorder: layer.ignoreBorder };
}
