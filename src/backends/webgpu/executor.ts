/**
 * The WebGPU executor: the network run as WGSL compute shaders (`shaders/`). Parameters,
 * state (batch norm's running averages), activations, gradients, optimiser moments and the
 * batch live in GPU buffers allocated once per model; pipelines and bind groups are created
 * once; a training step (batch load, forward in training mode, loss, backward, SGD or Adam)
 * is recorded into ONE command encoder and submitted once. What each layer kind runs is in
 * `./layers.ts` (one table); this file only loops over the plan. Nothing is read back unless
 * asked: the loss with the step's non-finite flag (8 bytes), an evaluation (8 bytes),
 * probabilities, weights.
 *
 * @module
 */
import type {
  BatchSource,
  DeviceDataset,
  EvalResult,
  Executor,
  NetworkPlan,
  ParamSpec,
  StepOptions,
  StepResult,
} from "../../backend.ts";
import { OPTIMIZER_STATE, type StateName, type StepKind } from "../../optimizers.ts";
import { sizeOf } from "../host.ts";
import { checkDevice, getDevice, scoped, upload, watch } from "./device.ts";
import { type Dispatch, Kernel, specs } from "./kernels.ts";
import { type Launch, type LayerContext, loweringOf } from "./layers.ts";
import { packParams, PARAMS_SIZE, type ParamsName } from "./params.ts";
import { GpuDataset } from "./dataset.ts";
import { GPU_STEP_KINDS, gpuOptimizer } from "./optimizers.ts";

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

/** A batch ready to load: its size, and the commands that bring it into acts[0]. */
interface LoadedBatch {
  count: number;
  record(enc: GPUCommandEncoder, pass: () => GPUComputePassEncoder): void;
}

/** Where a tensor sits in its packed buffer (parameters, gradients, moments; or state). */
interface ParamSlot {
  offset: number;
  size: number;
}

/** Packs tensors one after another, each at a multiple of {@link PARAM_ALIGN} values. */
function packSlots(tensors: ParamSpec[]): { slots: Map<string, ParamSlot>; total: number } {
  const slots = new Map<string, ParamSlot>();
  let total = 0;
  for (const p of tensors) {
    const size = sizeOf(p.shape);
    slots.set(p.name, { offset: total, size });
    total += Math.ceil(size / PARAM_ALIGN) * PARAM_ALIGN;
  }
  return { slots, total };
}

class WebGpuExecutor implements Executor {
  readonly backend = "webgpu" as const;
  readonly #device: GPUDevice;
  readonly #plan: NetworkPlan;
  readonly #sample: number;
  readonly #buffers: GPUBuffer[] = [];
  readonly #datasets = new Set<GpuDataset>();
  readonly #paramSlots: Map<string, ParamSlot>;
  readonly #stateSlots: Map<string, ParamSlot>;
  readonly #paramCount: number;
  readonly #stateCount: number;
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
  /**
   * The optimiser state (`OPTIMIZER_STATE`), packed like the parameters: `m` SGD's momentum
   * buffer (PyTorch's) or Adam's first moment (`<p>.m`), `v` Adam's second moment (`<p>.v`).
   */
  readonly #moments: Readonly<Record<StateName, GPUBuffer>>;
  /** The state tensors (`plan.state`), packed like the parameters; never trained. */
  readonly #state: GPUBuffer;
  readonly #result: GPUBuffer;
  /** The non-finite flag of shaders/sgd_update.wgsl: bit 1 loss, bit 2 parameters. */
  readonly #flag: GPUBuffer;
  readonly #batchBytes: GPUBuffer;
  readonly #readResult: GPUBuffer;
  readonly #readProbs: GPUBuffer;
  readonly #readWeights: GPUBuffer;

  // Dispatches, bound once.
  #loadBytes!: Dispatch;
  #forwardTrain: Dispatch[] = [];
  #forwardEval: Dispatch[] = [];
  #softmax!: Dispatch;
  #loss!: Dispatch;
  #backward: Dispatch[] = [];
  /** The update of each step kind (none without parameters). */
  #updates: Partial<Record<StepKind, Dispatch>> = {};

  constructor(device: GPUDevice, plan: NetworkPlan) {
    this.#device = device;
    this.#plan = plan;
    this.#sample = sizeOf(plan.inputShape);
    const n = plan.batchSize;
    const params = packSlots(plan.params), state = packSlots(plan.state);
    const total = params.total;
    this.#paramSlots = params.slots;
    this.#stateSlots = state.slots;
    this.#paramCount = total;
    this.#stateCount = state.total;
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
    const moments = {} as Record<StateName, GPUBuffer>;
    for (const s of OPTIMIZER_STATE) moments[s] = floats(`the optimizer state <p>.${s}`, total);
    this.#moments = moments;
    this.#state = floats("the state tensors", state.total);
    this.#result = floats("the loss", 2);
    this.#flag = floats("the non-finite flag", 1);
    this.#batchBytes = this.#buffer(
      "a byte batch",
      Math.ceil((n * this.#sample + 8) / 4) * 4,
      STORAGE,
    );
    this.#readResult = floats("the loss read-back", 2, READBACK);
    this.#readProbs = floats("the probabilities read-back", n * plan.classes, READBACK);
    this.#readWeights = floats(
      "the parameters read-back",
      Math.max(total, state.total),
      READBACK,
    );
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

  /** The range of `buffer` that holds tensor `name` of `slots`. */
  #slot(slots: Map<string, ParamSlot>, buffer: GPUBuffer, name: string): GPUBufferBinding {
    const s = slots.get(name);
    if (!s) throw new Error(`WebGPU: the plan has no tensor "${name}"`);
    return { buffer, offset: s.offset * 4, size: Math.ceil(s.size / 4) * 16 };
  }

  /** Compiles every kernel (identical specs once, in parallel) and binds the buffers. */
  async build(): Promise<void> {
    const plan = this.#plan, L = plan.layers.length;
    const u = this.#params, acts = this.#acts, grads = this.#grads;
    const forwardTrain: Launch[] = [], forwardEval: Launch[] = [], backward: Launch[] = [];
    const contexts = plan.layers.map((layer, index): LayerContext => {
      const scratch = new Map<string, GPUBuffer>();
      return {
        layer,
        index,
        plan,
        params: u,
        x: acts[index],
        y: acts[index + 1],
        dy: grads[index + 1],
        dx: grads[index],
        labels: this.#labels,
        param: (name) => this.#slot(this.#paramSlots, this.#weights, name),
        grad: (name) => this.#slot(this.#paramSlots, this.#weightGrads, name),
        state: (name) => this.#slot(this.#stateSlots, this.#state, name),
        scratch: (what, floats) => {
          if (!scratch.has(what)) {
            scratch.set(
              what,
              this.#buffer(`${what} of layer "${layer.name}"`, floats * 4, STORAGE),
            );
          }
          return scratch.get(what)!;
        },
      };
    });
    contexts.forEach((ctx) => {
      const lower = loweringOf(ctx.layer);
      forwardTrain.push(...lower.forward(ctx, "train"));
      forwardEval.push(...lower.forward(ctx, "eval"));
    });
    for (let i = L - 1; i >= 0; i--) {
      backward.push(...loweringOf(plan.layers[i]).backward(contexts[i]));
    }
    const logits = acts[L - 1], result = this.#result, labels = this.#labels;
    const others: Launch[] = [
      {
        spec: specs.loadBatch(this.#sample),
        bindings: { params: u, bytes: this.#batchBytes, x: acts[0] },
      },
      {
        spec: specs.softmaxForward(plan.classes),
        bindings: { params: u, z: logits, out: acts[L] },
      },
      { spec: specs.nllLoss(plan.classes), bindings: { params: u, z: logits, labels, result } },
    ];
    const kinds = this.#paramCount > 0 ? GPU_STEP_KINDS : [];
    const buffers = {
      params: u,
      g: this.#weightGrads,
      p: this.#weights,
      state: this.#moments,
      result,
      flag: this.#flag,
    };
    for (const kind of kinds) others.push(gpuOptimizer(kind).launch(buffers, this.#paramCount));
    const all = [...forwardTrain, ...forwardEval, ...backward, ...others];
    const cache = new Map<string, Promise<Kernel>>();
    const kernels = await Promise.all(all.map(({ spec }) => {
      const key = spec.shader + JSON.stringify(spec.constants);
      if (!cache.has(key)) cache.set(key, Kernel.create(this.#device, spec));
      return cache.get(key)!;
    }));
    const dispatches = await scoped(
      this.#device,
      "binding the kernels",
      () => all.map(({ bindings }, k) => kernels[k].bind(bindings, plan.batchSize)),
    );
    let at = 0;
    const take = (n: number) => dispatches.slice(at, at += n);
    this.#forwardTrain = take(forwardTrain.length);
    this.#forwardEval = take(forwardEval.length);
    this.#backward = take(backward.length);
    [this.#loadBytes, this.#softmax, this.#loss] = take(3);
    for (const kind of kinds) [this.#updates[kind]] = take(1);
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

  /**
   * Writes tensors into packed buffers: for each `[slots, buffer, suffix]`, the value named
   * `<tensor><suffix>` goes to the tensor's slot.
   */
  #upload(
    what: string,
    targets: [Map<string, ParamSlot>, GPUBuffer, string][],
    values: Map<string, Float32Array>,
  ): Promise<void> {
    return this.#exclusive(async () => {
      this.#check(what);
      await scoped(this.#device, what, () => {
        for (const [slots, into, suffix] of targets) {
          for (const [name, slot] of slots) {
            upload(this.#device, into, slot.offset * 4, values.get(name + suffix)!);
          }
        }
      });
    });
  }

  /** Reads packed buffers back, one after the other (the inverse of {@link #upload}). */
  #download(
    what: string,
    sources: [Map<string, ParamSlot>, GPUBuffer, string, number][],
  ): Promise<Map<string, Float32Array>> {
    return this.#exclusive(async () => {
      this.#check(what);
      const out = new Map<string, Float32Array>();
      for (const [slots, from, suffix, count] of sources) {
        if (slots.size === 0) continue;
        const all = await this.#read(this.#readWeights, count * 4, what, (enc) => {
          enc.copyBufferToBuffer(from, 0, this.#readWeights, 0, count * 4);
        });
        for (const [name, s] of slots) {
          out.set(name + suffix, all.slice(s.offset, s.offset + s.size));
        }
      }
      return out;
    });
  }

  setParams(values: Map<string, Float32Array>): Promise<void> {
    return this.#upload("setParams", [
      [this.#paramSlots, this.#weights, ""],
      [this.#stateSlots, this.#state, ""],
    ], values);
  }

  getParams(): Promise<Map<string, Float32Array>> {
    return this.#download("getParams", [
      [this.#paramSlots, this.#weights, "", this.#paramCount],
      [this.#stateSlots, this.#state, "", this.#stateCount],
    ]);
  }

  setOptimizerState(values: Map<string, Float32Array>): Promise<void> {
    return this.#upload(
      "setOptimizerState",
      OPTIMIZER_STATE.map((s) => [this.#paramSlots, this.#moments[s], `.${s}`]),
      values,
    );
  }

  getOptimizerState(): Promise<Map<string, Float32Array>> {
    return this.#download(
      "getOptimizerState",
      OPTIMIZER_STATE.map((s) => [this.#paramSlots, this.#moments[s], `.${s}`, this.#paramCount]),
    );
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
    step: Partial<Record<ParamsName, number>>,
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
      const load = this.#load(batch, true, stepParams(options));
      const n = load.count;
      const update = this.#updates[options.optimizer.kind];
      await this.#submit("trainStep", load, (pass) => {
        for (const d of this.#forwardTrain) d.record(pass, n);
        this.#loss.record(pass, n);
        for (const d of this.#backward) d.record(pass, n);
        update?.record(pass, n);
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
        for (const d of this.#forwardEval) d.record(pass, load.count);
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
        for (const d of this.#forwardEval) d.record(pass, load.count);
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

/**
 * The uniform block's fields of a training step: the optimiser's hyper-parameters (from its
 * entry of `./optimizers.ts`), the seed and step of the dropout masks.
 */
function stepParams(options: StepOptions): Partial<Record<ParamsName, number>> {
  const o = options.optimizer;
  const common = { seed: options.seed, step: options.step };
  return { ...common, ...gpuOptimizer(o.kind).uniforms(o, options.step) };
}
