/// <reference types="@webgpu/types" />
/**
 * The sequential model: layers in order ending in a softmax, trained with mean NLL
 * and SGD, on the backend of your choice with the same code.
 *
 * @module
 */
import type {
  BackendName,
  BatchSource,
  DeviceDataset,
  Executor,
  NetworkPlan,
  ParamSpec,
  StepOptions,
  StepResult,
} from "./backend.ts";
import { formatShape, type Layer, planNetwork } from "./layers.ts";
import { RandomState } from "./random.ts";
import { createCpuExecutor } from "./backends/cpu.ts";
import { type AutoChoice, createAutoExecutor, hasFfi } from "./auto.ts";
import { flipKernels } from "../cpu/conv2d.ts";
import { OPTIMIZER_NAMES, OPTIMIZER_STATE, OPTIMIZERS, stateName } from "./optimizers.ts";
import {
  checkBoolean,
  checkChoice,
  checkImages,
  checkInputValues,
  checkInteger,
  checkLabels,
  checkNumber,
  checkOptions,
  checkSlice,
  checkString,
  firstNonFinite,
  NonFiniteError,
} from "./validate.ts";

/** A dense row-major float tensor. */
export interface Tensor {
  /** Row-major shape. */
  shape: number[];
  /** `prod(shape)` values. */
  data: Float32Array;
}

/** Options of {@link Sequential.create}. */
export interface ModelOptions {
  /** Shape of one sample, e.g. `[1, 28, 28]`. */
  inputShape: number[];
  /** The layers in order; the last must be a `Softmax`. */
  layers: Layer[];
  /**
   * Where to run: `"cpu"` (reference, default), `"webgpu"`, `"native"` (BLAS via FFI, Deno
   * only), or `"auto"`: WebGPU on a hardware adapter, else BLAS, else WebGPU on a software
   * adapter, else `"cpu"` ({@link Sequential.backendReason} says which and why).
   */
  backend?: BackendName | "auto";
  /** Largest batch fed at once; buffers are sized for it. Default 500 (the tutorial's). */
  batchSize?: number;
  /** Seed of the `RandomState` drawing the initial weights. Default 23455 (the tutorial's). */
  seed?: number;
  /**
   * Orient the drawn conv kernels as Theano does (default false). Theano's `conv2d` is a
   * true convolution (it flips the kernel); ours is a cross-correlation. With true, every
   * drawn kernel is rotated by 180° before use, so the initial network computes exactly
   * what the tutorial's Theano network computes from the same `RandomState` draws.
   */
  theanoKernels?: boolean;
  /** WebGPU only: a device to use instead of requesting one. */
  device?: GPUDevice;
  /** Native only: path of a CBLAS shared library to load first. */
  blasPath?: string;
}

/** Options of a training step. */
export interface TrainOptions {
  /**
   * `"sgd"` (default, the tutorial's, with optional momentum), `"adam"` (PyTorch's `Adam`:
   * weight decay as an L2 term in the gradient) or `"adamw"` (PyTorch's `AdamW`: decoupled
   * weight decay). Adam's step count `t` is kept by the model and saved with
   * {@link Sequential.getOptimizerState}.
   */
  optimizer?: "sgd" | "adam" | "adamw";
  /** Learning rate. Default 0.1 for SGD (the tutorial's), 0.001 for Adam. */
  learningRate?: number;
  /**
   * SGD only: momentum as PyTorch's `torch.optim.SGD` (dampening 0, nesterov off):
   * `buf = momentum·buf + g; p -= lr·buf`, so a learning rate that changes between steps scales
   * the whole step, as in PyTorch. 0 (default) is the tutorial's plain SGD.
   */
  momentum?: number;
  /** Adam only: decay of the first moment. Default 0.9. */
  beta1?: number;
  /** Adam only: decay of the second moment. Default 0.999. */
  beta2?: number;
  /** Adam only: added to the root of the second moment. Default 1e-8. */
  epsilon?: number;
  /** Adam only: weight decay. Default 0 for `"adam"`, 0.01 for `"adamw"` (PyTorch's). */
  weightDecay?: number;
  /**
   * Read the loss back (default true). False lets a GPU run ahead; the step then resolves to
   * NaN, and on WebGPU its non-finite check is reported by the next step that reads (see
   * {@link NonFiniteError}).
   */
  readLoss?: boolean;
}

/** Loss and error rate over a set of samples. */
export interface Evaluation {
  /** Mean negative log-likelihood. */
  loss: number;
  /** Number of misclassified samples. */
  errors: number;
  /** `errors / count`, the tutorial's zero-one error. */
  errorRate: number;
  /** Number of samples evaluated. */
  count: number;
}

/**
 * Samples stored once in a model's backend memory (on the GPU for `"webgpu"`), fed to
 * training and evaluation by index. Create with {@link Sequential.createDataset}.
 *
 * @example Dispose a dataset while a step on it is still queued
 * ```ts
 * import { Dense, Sequential, Softmax } from "../mod.ts";
 * const model = await Sequential.create({
 *   inputShape: [4], batchSize: 2, layers: [new Dense({ units: 3 }), new Softmax()],
 * });
 * const ds = model.createDataset(new Uint8Array(8).fill(200), Uint8Array.of(0, 2));
 * const loss = model.trainBatch(ds, 0, 2); // queued
 * ds.dispose(); // new calls on ds throw; its memory is freed once the step is done
 * console.log((await loss).toFixed(4), ds.disposed); // "1.0986 true": the step used the data
 * model.dispose();
 * ```
 */
export class Dataset {
  /** Number of samples. */
  readonly count: number;
  /** @internal */
  readonly handle: DeviceDataset;
  /** @internal */
  readonly owner: Executor;

  #disposed = false;
  /** Calls made on this dataset that have not finished: its memory lives until they do. */
  #inUse = 0;

  /** @internal */
  constructor(handle: DeviceDataset, owner: Executor) {
    this.handle = handle;
    this.owner = owner;
    this.count = handle.count;
  }

  /** True once {@link Dataset.dispose} was called: the model then refuses the dataset. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Frees the memory held; training or evaluating on it afterwards throws. Calls already made
   * on it (`trainBatch`, `evaluateDataset`), queued or running, still run on its data: the
   * memory is freed when the last of them ends.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#inUse === 0) this.handle.dispose();
  }

  /**
   * @internal Keeps the memory until `work` (a call on this dataset) settles.
   *
   * @param work The call's promise.
   * @returns `work` itself.
   */
  keepUntil<T>(work: Promise<T>): Promise<T> {
    this.#inUse++;
    const release = () => {
      if (--this.#inUse === 0 && this.#disposed) this.handle.dispose();
    };
    work.then(release, release);
    return work;
  }
}

/**
 * A copy of `x` when it is an array the model takes (Float32Array, Uint8Array), else `x` for
 * the checks to refuse: work queued by a call then reads only arrays the model owns, and the
 * checks see exactly the values that the work will read.
 */
function owned<T>(x: T): T {
  return (x instanceof Float32Array || x instanceof Uint8Array ? x.slice() : x) as T;
}

async function createExecutor(plan: NetworkPlan, options: ModelOptions): Promise<AutoChoice> {
  const requested = (exec: Executor) => ({
    exec,
    reason: `${exec.backend}: ${options.backend ? "requested" : "the default"}${
      exec.detail ? ` (${exec.detail})` : ""
    }`,
  });
  switch (options.backend ?? "cpu") {
    case "auto":
      return await createAutoExecutor(plan, options);
    case "cpu":
      return requested(await createCpuExecutor(plan));
    case "webgpu": {
      const { createWebGpuExecutor } = await import("./backends/webgpu/executor.ts");
      return requested(await createWebGpuExecutor(plan, { device: options.device }));
    }
    case "native": {
      if (!hasFfi()) {
        throw new Error(
          'backend "native" needs Deno (it calls a BLAS through FFI): use "webgpu", "cpu" ' +
            'or "auto" in this runtime',
        );
      }
      const { createNativeExecutor } = await import("./backends/native/executor.ts");
      return requested(await createNativeExecutor(plan, { blasPath: options.blasPath }));
    }
    default:
      throw new RangeError(
        `unknown backend "${options.backend}": use "cpu", "webgpu", "native" or "auto"`,
      );
  }
}

/** Options of {@link initialParams}. */
export interface InitOptions {
  /** Rotate every drawn conv kernel by 180° (Theano's orientation); see {@link ModelOptions}. */
  theanoKernels?: boolean;
}

/**
 * Draws the initial parameters for a plan, in layer order, from `RandomState(seed)` (the
 * tutorial's draws for its layers), with the state tensors (batch norm's running averages).
 *
 * @param plan The resolved network.
 * @param seed The RandomState seed.
 * @param options `theanoKernels`: flip the drawn conv kernels (the tutorial's orientation).
 * @returns One Float32Array per parameter name.
 *
 * @example The tutorial's first conv weight, drawn and oriented as Theano uses it
 * ```ts
 * import { initialParams } from "./model.ts";
 * import { lenet5, planNetwork } from "./layers.ts";
 * const plan = planNetwork([1, 28, 28], lenet5(), 500);
 * const drawn = initialParams(plan, 23455).get("conv0.weight")!;
 * const theano = initialParams(plan, 23455, { theanoKernels: true }).get("conv0.weight")!;
 * console.log(theano[0] === drawn[24]); // true: kernel 0 rotated by 180°
 * ```
 */
export function initialParams(
  plan: NetworkPlan,
  seed: number,
  options: InitOptions = {},
): Map<string, Float32Array> {
  const rng = new RandomState(seed);
  const convWeights = new Set(
    plan.layers.flatMap((l) => l.kind === "conv2d" ? [l.weight.name] : []),
  );
  const out = new Map<string, Float32Array>();
  for (const p of [...plan.params, ...plan.state]) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    let values = p.init.kind === "zeros"
      ? new Float32Array(size)
      : p.init.kind === "ones"
      ? new Float32Array(size).fill(1)
      : Float32Array.from(rng.uniform(-p.init.bound, p.init.bound, size));
    if (options.theanoKernels && convWeights.has(p.name)) {
      const [outChannels, inChannels, kernelH, kernelW] = p.shape;
      const shape = { batch: 1, inChannels, height: kernelH, width: kernelW };
      values = flipKernels(values, { ...shape, outChannels, kernelH, kernelW });
    }
    out.set(p.name, values);
  }
  return out;
}

/**
 * A stack of layers ending in a softmax, trained by SGD or Adam on the mean negative
 * log-likelihood, run by one backend.
 *
 * Calls need not be awaited one by one: each runs after the calls made before it, in call
 * order, and queued work never reads a caller's array after the call returns: inputs, labels,
 * weights and optimizer state are copied at the call, and a dataset disposed while calls on it
 * are queued stays in memory until they are done.
 *
 * @example Train the tutorial's LeNet for one step on random data
 * ```ts
 * import { Conv2D, Dense, MaxPool2D, Sequential, Softmax, Tanh } from "../mod.ts";
 *
 * const model = await Sequential.create({
 *   inputShape: [1, 28, 28],
 *   batchSize: 8,
 *   layers: [
 *     new Conv2D({ filters: 20, kernelSize: 5 }), new MaxPool2D({ poolSize: 2 }), new Tanh(),
 *     new Conv2D({ filters: 50, kernelSize: 5 }), new MaxPool2D({ poolSize: 2 }), new Tanh(),
 *     new Dense({ units: 500 }), new Tanh(),
 *     new Dense({ units: 10 }), new Softmax(),
 *   ],
 * });
 * const x = new Float32Array(8 * 28 * 28).map(() => Math.random());
 * const labels = Int32Array.from({ length: 8 }, (_, i) => i % 10);
 * const loss = await model.trainStep(x, labels, { learningRate: 0.1 });
 * console.log(loss.toFixed(4)); // ln(10) = 2.3026 at the start: the last layer starts at zero
 * model.dispose();
 * ```
 */
export class Sequential {
  /** The resolved layers, shapes and parameter names. */
  readonly plan: NetworkPlan;
  /** The backend running the model. */
  readonly backend: BackendName;
  /**
   * Why this backend: `"<backend>: requested"` (or `"cpu: the default"`), or for
   * `backend: "auto"` the choice first, then one line per backend skipped with the reason,
   * e.g. `"native: BLAS through FFI\nskipped webgpu: software adapter \"llvmpipe\", slower
   * than BLAS"`.
   */
  readonly backendReason: string;
  readonly #exec: Executor;
  readonly #sampleSize: number;
  /** Calls queued on the executor and not yet settled. */
  #pending = 0;
  #disposed = false;
  /** Training steps run so far. */
  #steps = 0;
  /** Steps since the optimiser state was zero (Adam's `t`; also keys the dropout masks). */
  #optimizerSteps = 0;
  readonly #seed: number;
  /** Steps whose non-finite check has been reported (all but WebGPU steps without a read). */
  #checked = 0;

  private constructor(plan: NetworkPlan, exec: Executor, backendReason: string, seed: number) {
    this.#seed = seed >>> 0;
    this.plan = plan;
    this.backend = exec.backend;
    this.backendReason = backendReason;
    this.#exec = exec;
    this.#sampleSize = plan.inputShape.reduce((a, b) => a * b, 1);
  }

  /**
   * Plans the network (checking every shape), creates the backend's executor and
   * uploads the tutorial's initial weights drawn from `RandomState(seed)`.
   *
   * @param options Input shape, layers, backend, batch size, seed.
   * @returns The ready model.
   */
  static async create(options: ModelOptions): Promise<Sequential> {
    checkOptions(options, "Sequential.create", false);
    const batchSize = checkInteger(options.batchSize, "batchSize", { min: 1 }, 500);
    const seed = checkInteger(options.seed, "seed", { min: 0, max: 2 ** 32 - 1 }, 23455);
    const theanoKernels = checkBoolean(options.theanoKernels, "theanoKernels", false);
    checkChoice(options.backend, "backend", ["cpu", "webgpu", "native", "auto"], "cpu");
    checkString(options.blasPath, "blasPath");
    const plan = planNetwork(options.inputShape, options.layers, batchSize);
    const { exec, reason } = await createExecutor(plan, options);
    await exec.setParams(initialParams(plan, seed, { theanoKernels }));
    return new Sequential(plan, exec, reason, seed);
  }

  /**
   * A table of the layers with their output shapes and parameter counts.
   *
   * @returns Multi-line text.
   */
  summary(): string {
    const rows = [`input ${formatShape(this.plan.inputShape)}`];
    let total = 0;
    for (const l of this.plan.layers) {
      let params = 0;
      for (const p of this.plan.params) {
        if (p.name.startsWith(`${l.name}.`)) params += p.shape.reduce((a, b) => a * b, 1);
      }
      total += params;
      rows.push(
        `${l.name.padEnd(10)} ${l.kind.padEnd(10)} -> ${formatShape(l.outShape).padEnd(16)} ${
          params ? `${params} params` : ""
        }`.trimEnd(),
      );
    }
    rows.push(`total ${total} parameters, backend ${this.backend}`);
    return rows.join("\n");
  }

  #check(): void {
    if (this.#disposed) throw new Error("this model has been disposed");
  }

  #hostBatch(
    x: Float32Array | Tensor,
    labels: ArrayLike<number> | undefined,
    what: string,
  ): { data: Float32Array; labels?: Int32Array; count: number } {
    const first = this.plan.layers[0];
    const where = `${what}: layer 0 "${first.name}" (${first.kind})`;
    const expected = `[n, ${this.plan.inputShape.join(", ")}]`;
    const tensor = x !== null && typeof x === "object" && !ArrayBuffer.isView(x) &&
      !Array.isArray(x) && "data" in x;
    const data = checkInputValues(owned(tensor ? (x as Tensor).data : x), `${what}: input`);
    let count: number;
    if (!tensor) {
      count = labels && typeof labels === "object" && typeof labels.length === "number"
        ? labels.length
        : data.length / this.#sampleSize;
      if (!Number.isInteger(count) || data.length !== count * this.#sampleSize) {
        throw new RangeError(
          `${where} expects input ${expected} (${this.#sampleSize} values per sample${
            labels ? `, ${labels.length} labels` : ""
          }), got ${data.length} values`,
        );
      }
    } else {
      const [n, ...rest] = (x as Tensor).shape;
      count = n;
      if (
        rest.length !== this.plan.inputShape.length ||
        rest.some((d, i) => d !== this.plan.inputShape[i]) ||
        data.length !== n * this.#sampleSize
      ) {
        throw new RangeError(
          `${where} expects input ${expected}, got ${formatShape((x as Tensor).shape)}`,
        );
      }
    }
    if (count < 1) throw new RangeError(`${what}: empty batch`);
    const lab = labels === undefined
      ? undefined
      : checkLabels(labels, count, this.plan.classes, what);
    return { data, labels: lab, count };
  }

  /** Checks the options once and builds the executor's step (its `step` number is set later). */
  #stepOptions(o: TrainOptions | undefined, what: string): StepOptions {
    checkOptions(o, what, true);
    const kind = checkChoice(o?.optimizer, `${what}: optimizer`, OPTIMIZER_NAMES, "sgd");
    const choice = OPTIMIZERS[kind];
    const learningRate = checkNumber(
      o?.learningRate,
      `${what}: learningRate`,
      "positive",
      choice.learningRate,
    );
    const readLoss = checkBoolean(o?.readLoss, `${what}: readLoss`, true);
    const base = { step: 0, seed: this.#seed, readLoss };
    return { ...base, optimizer: choice.step(o, what, learningRate) };
  }

  /** Batch norm in training needs two values per channel: refuse smaller batches. */
  #checkTrainingBatch(count: number, what: string): void {
    for (const l of this.plan.layers) {
      if (l.kind === "batchnorm" && count * l.positions < 2) {
        throw new RangeError(
          `${what}: layer "${l.name}" (batch norm) needs more than 1 value per channel in ` +
            `training, got a batch of ${count} sample${count === 1 ? "" : "s"}`,
        );
      }
    }
  }

  /** Numbers the step (Adam's `t`, the dropout masks) and runs it. */
  #train(batch: BatchSource, o: StepOptions): Promise<number> {
    this.#checkTrainingBatch(batch.count, "x" in batch ? "trainStep" : "trainBatch");
    const step = { ...o, step: ++this.#optimizerSteps };
    return this.#track(this.#finish(this.#exec.trainStep(batch, step), o));
  }

  /**
   * One training step on a batch of at most `batchSize` samples: forward in training mode
   * (batch statistics, dropout), mean NLL, backward, the optimiser's update. The inputs and
   * labels are copied at the call (one memcpy of the batch): changing them afterwards, even
   * before the step has run, does not change the step.
   *
   * @param x Inputs `[n, ...inputShape]`, flat or as a {@link Tensor}.
   * @param labels `n` class indices.
   * @param options Optimiser and its settings, whether to read the loss back.
   * @returns The batch's mean loss before the update (NaN when `readLoss` is false).
   * @throws {NonFiniteError} When the step made the loss or a parameter NaN or infinite (the
   *   same on every backend; on WebGPU, steps without a read are checked at the next read).
   *   The parameters are then non-finite: reload a checkpoint to go on.
   */
  trainStep(
    x: Float32Array | Tensor,
    labels: ArrayLike<number>,
    options?: TrainOptions,
  ): Promise<number> {
    this.#check();
    if (labels === undefined) throw new TypeError("trainStep: labels are required");
    const b = this.#hostBatch(x, labels, "trainStep");
    this.#fits(b.count, "trainStep");
    const o = this.#stepOptions(options, "trainStep");
    return this.#train({ x: b.data, labels: b.labels, count: b.count }, o);
  }

  /** Turns an executor's step result into the loss, or a {@link NonFiniteError}. */
  async #finish(
    pending: Promise<StepResult>,
    o: { readLoss: boolean },
  ): Promise<number> {
    const step = ++this.#steps;
    const r = await pending;
    // Every backend but WebGPU checks each step at once; WebGPU's check of a step without a
    // read stays on the device until the next read.
    const checked = this.backend !== "webgpu" || o.readLoss;
    const firstStep = this.#checked + 1;
    if (checked) this.#checked = step;
    if (!r.lossNonFinite && !r.paramsNonFinite) return r.loss;
    this.#checked = step;
    const tensors: string[] = [];
    if (r.paramsNonFinite) {
      for (const [name, v] of await this.#exec.getParams()) {
        if (firstNonFinite(v) >= 0) tensors.push(name);
      }
    }
    throw new NonFiniteError({ step, firstStep, loss: r.lossNonFinite, tensors });
  }

  #fits(count: number, what: string): void {
    if (count > this.plan.batchSize) {
      throw new RangeError(
        `${what}: a batch of ${count} samples exceeds the model's batchSize ${this.plan.batchSize}`,
      );
    }
  }

  /**
   * Stores samples in the backend's memory once (the GPU for `"webgpu"`), so that
   * training and evaluation feed batches by index with no copy per step.
   *
   * The images and labels are copied at the call: changing the arrays afterwards does not
   * change the dataset.
   *
   * @param images `count * prod(inputShape)` values: bytes (scaled by `scale`) or floats.
   * @param labels `count` class indices.
   * @param options `scale` for byte images (default 1/255).
   * @returns A dataset usable with this model only.
   */
  createDataset(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    options?: { scale?: number },
  ): Dataset {
    this.#check();
    const lab = checkLabels(labels, undefined, this.plan.classes, "createDataset");
    const own = checkImages(owned(images), lab.length, this.plan.inputShape, "createDataset");
    checkOptions(options, "createDataset", true);
    const scale = checkNumber(options?.scale, "createDataset: scale", "positive", 1 / 255);
    const handle = this.#exec.createDataset(own, lab, lab.length, scale);
    return new Dataset(handle, this.#exec);
  }

  #dataset(ds: Dataset, what: string): void {
    if (!(ds instanceof Dataset)) {
      throw new TypeError(`${what}: expects a Dataset from createDataset, got ${typeof ds}`);
    }
    if (ds.owner !== this.#exec) {
      throw new TypeError(`${what}: the dataset belongs to another model`);
    }
    if (ds.disposed) throw new Error(`${what}: the dataset has been disposed`);
  }

  #slice(ds: Dataset, start: number, count: number, what: string): BatchSource {
    this.#dataset(ds, what);
    checkSlice(start, count, ds.count, what);
    this.#fits(count, what);
    return { dataset: ds.handle, start, count };
  }

  /**
   * One training step on `count` samples of a dataset starting at `start`. The dataset may be
   * disposed before the step is done: the step still runs on its data (see
   * {@link Dataset.dispose}).
   *
   * @param ds A dataset created by this model.
   * @param start Index of the first sample.
   * @param count Number of samples, at most `batchSize`.
   * @param options Optimiser and its settings, whether to read the loss back.
   * @returns The batch's mean loss before the update (NaN when `readLoss` is false).
   * @throws {NonFiniteError} When the step made the loss or a parameter NaN or infinite (the
   *   same on every backend; on WebGPU, steps without a read are checked at the next read).
   *   The parameters are then non-finite: reload a checkpoint to go on.
   */
  trainBatch(ds: Dataset, start: number, count: number, options?: TrainOptions): Promise<number> {
    this.#check();
    const o = this.#stepOptions(options, "trainBatch");
    const batch = this.#slice(ds, start, count, "trainBatch");
    return ds.keepUntil(this.#train(batch, o));
  }

  /**
   * Evaluates `total` samples in batches, every batch queued at the call (a call made later
   * runs after all of them, as if this one had been awaited).
   */
  async #evalLoop(
    total: number,
    source: (start: number, count: number) => BatchSource,
  ): Promise<Evaluation> {
    const batches: BatchSource[] = [];
    for (let start = 0; start < total; start += this.plan.batchSize) {
      batches.push(source(start, Math.min(this.plan.batchSize, total - start)));
    }
    const results = await Promise.all(batches.map((b) => this.#track(this.#exec.evaluate(b))));
    let lossSum = 0, errors = 0;
    results.forEach((r, i) => {
      lossSum += r.loss * batches[i].count;
      errors += r.errors;
    });
    return { loss: lossSum / total, errors, errorRate: errors / total, count: total };
  }

  /**
   * Mean loss and zero-one error over any number of samples (fed in batches). The inputs and
   * labels are copied at the call: changing them afterwards does not change the result.
   *
   * @param x Inputs `[n, ...inputShape]`.
   * @param labels `n` class indices.
   * @returns Loss, error count and rate.
   */
  evaluate(x: Float32Array | Tensor, labels: ArrayLike<number>): Promise<Evaluation> {
    this.#check();
    if (labels === undefined) throw new TypeError("evaluate: labels are required");
    const b = this.#hostBatch(x, labels, "evaluate");
    const s = this.#sampleSize;
    return this.#evalLoop(b.count, (start, count) => ({
      x: b.data.subarray(start * s, (start + count) * s),
      labels: b.labels!.subarray(start, start + count),
      count,
    }));
  }

  /**
   * Mean loss and zero-one error over a slice of a dataset (all of it by default). The dataset
   * may be disposed before the result comes: the evaluation still runs on its data (see
   * {@link Dataset.dispose}).
   *
   * @param ds A dataset created by this model.
   * @param start First sample (default 0).
   * @param count Number of samples (default: to the end).
   * @returns Loss, error count and rate.
   */
  evaluateDataset(ds: Dataset, start?: number, count?: number): Promise<Evaluation> {
    this.#check();
    this.#dataset(ds, "evaluateDataset");
    if (start === undefined) start = 0;
    if (count === undefined) count = ds.count - start;
    checkSlice(start, count, ds.count, "evaluateDataset");
    const first = start;
    return ds.keepUntil(
      this.#evalLoop(count, (s, c) => this.#slice(ds, first + s, c, "evaluateDataset")),
    );
  }

  /**
   * Class probabilities for any number of samples (fed in batches, all queued at the call).
   * The inputs are copied at the call: changing them afterwards does not change the result.
   *
   * @param x Inputs `[n, ...inputShape]`.
   * @returns `[n, classes]` softmax probabilities, row-major.
   */
  async predict(x: Float32Array | Tensor): Promise<Float32Array> {
    this.#check();
    const b = this.#hostBatch(x, undefined, "predict");
    const s = this.#sampleSize, k = this.plan.classes, n = this.plan.batchSize;
    const batches: Promise<Float32Array>[] = [];
    for (let start = 0; start < b.count; start += n) {
      const count = Math.min(n, b.count - start);
      batches.push(
        this.#track(
          this.#exec.predict({ x: b.data.subarray(start * s, (start + count) * s), count }),
        ),
      );
    }
    const out = new Float32Array(b.count * k);
    (await Promise.all(batches)).forEach((p, i) => out.set(p, i * n * k));
    return out;
  }

  /** The weights' names and shapes: trained parameters, then state tensors. */
  get #weightSpecs(): ParamSpec[] {
    return [...this.plan.params, ...this.plan.state];
  }

  /** The optimiser state's names and shapes: `<p>.m` and `<p>.v` per trained parameter. */
  get #optimizerSpecs(): ParamSpec[] {
    return this.plan.params.flatMap((p) =>
      OPTIMIZER_STATE.map((s) => ({ ...p, name: stateName(p.name, s) }))
    );
  }

  /**
   * Copies every parameter and state tensor (batch norm's running averages) out of the
   * backend.
   *
   * @returns Tensors by name (`conv0.weight`, `bn0.running_mean`, ...), with shapes.
   */
  async getWeights(): Promise<Record<string, Tensor>> {
    this.#check();
    return this.#named(await this.#track(this.#exec.getParams()), this.#weightSpecs);
  }

  /**
   * Replaces every parameter and state tensor. Names and shapes must match the model exactly.
   * The values are copied at the call: changing them afterwards does not change the model.
   *
   * @param weights Tensors by name, e.g. from {@link Sequential.getWeights} or a checkpoint.
   */
  async setWeights(weights: Record<string, Tensor>): Promise<void> {
    this.#check();
    await this.#track(
      this.#exec.setParams(this.#tensors(weights, "setWeights", this.#weightSpecs)),
    );
  }

  /**
   * Copies the optimiser state out: per trained parameter `p`, `p.m` (SGD's momentum
   * buffer, as PyTorch's `momentum_buffer`, or Adam's first moment) and `p.v` (Adam's second
   * moment), zeros before the first step, and `step` (`[1]`, the steps taken: Adam's `t`, also
   * the dropout masks' counter). With the weights, it is what a resumed run needs to continue
   * exactly.
   *
   * @returns Tensors by name, with the parameters' shapes.
   */
  async getOptimizerState(): Promise<Record<string, Tensor>> {
    this.#check();
    const steps = this.#optimizerSteps; // at the call: steps queued after it count later
    const out = this.#named(
      await this.#track(this.#exec.getOptimizerState()),
      this.#optimizerSpecs,
    );
    out.step = { shape: [1], data: Float32Array.of(steps) };
    return out;
  }

  /** Values from the executor as tensors with the specs' shapes. */
  #named(values: Map<string, Float32Array>, specs: ParamSpec[]): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const p of specs) out[p.name] = { shape: [...p.shape], data: values.get(p.name)! };
    return out;
  }

  /**
   * Replaces the optimiser state, e.g. from a checkpoint. Names, shapes and finiteness are
   * checked, and the values copied at the call, as in {@link Sequential.setWeights}. A state saved by version 0.1 (one velocity
   * per parameter, named like it, no `step`) is refused: its velocities follow the old rule
   * `v = μ·v - lr·g; p += v`, and turning them into this version's momentum buffers
   * (`p.m = -v / lr`, exact only if lr was constant) needs the learning rate, which the state
   * does not hold; convert them yourself (the examples do so for their checkpoints).
   *
   * @param state Tensors by name, as {@link Sequential.getOptimizerState} gives.
   * @throws {RangeError} On a missing, extra or misshapen tensor, a missing `step`, or a
   *   version 0.1 state.
   */
  async setOptimizerState(state: Record<string, Tensor>): Promise<void> {
    this.#check();
    if (state === null || typeof state !== "object") {
      throw new TypeError(`setOptimizerState: expects tensors by name, got ${state}`);
    }
    const { step, ...rest } = state;
    const first = this.plan.params[0]?.name;
    if (first !== undefined && first in rest) {
      throw new RangeError(
        `setOptimizerState: "${first}" is a velocity of a version 0.1 state (v = μ·v - lr·g; ` +
          `p += v), not this version's SGD momentum buffer (PyTorch's: buf = μ·buf + g; ` +
          `p -= lr·buf); convert each to "<param>.m" = -v / lr with the run's learning rate ` +
          `(exact if it was constant), add zero "<param>.v" and "step"`,
      );
    }
    if (step === undefined) {
      throw new RangeError(`setOptimizerState: missing tensor "step" (expected [1])`);
    }
    const steps = step?.data?.[0];
    if (!Number.isInteger(steps) || steps < 0 || step.data.length !== 1) {
      throw new RangeError(
        `setOptimizerState: "step" must hold one non-negative integer, got ${step?.data}`,
      );
    }
    const values = this.#tensors(rest, "setOptimizerState", this.#optimizerSpecs);
    this.#optimizerSteps = steps; // at the call: the steps queued after it count from here
    await this.#track(this.#exec.setOptimizerState(values));
  }

  /** Checks tensors named like the specs (names, shapes, Float32Array, finite); copies them. */
  #tensors(
    weights: Record<string, Tensor>,
    what: string,
    specs: ParamSpec[],
  ): Map<string, Float32Array> {
    if (weights === null || typeof weights !== "object") {
      throw new TypeError(`${what}: expects tensors by name, got ${weights}`);
    }
    const expected = new Set(specs.map((p) => p.name));
    const extra = Object.keys(weights).filter((k) => !expected.has(k));
    const values = new Map<string, Float32Array>();
    for (const p of specs) {
      const t = weights[p.name];
      if (!t) {
        throw new RangeError(
          `${what}: missing tensor "${p.name}" (expected ${formatShape(p.shape)})${
            extra.length ? `; unexpected tensors: ${extra.join(", ")}` : ""
          }`,
        );
      }
      const data = checkInputValues(owned(t.data), `${what}: "${p.name}"`);
      const size = p.shape.reduce((a, b) => a * b, 1);
      if (
        !Array.isArray(t.shape) || t.shape.length !== p.shape.length ||
        t.shape.some((d, i) => d !== p.shape[i]) || data.length !== size
      ) {
        throw new RangeError(
          `${what}: "${p.name}" expected shape ${formatShape(p.shape)}, got ${
            Array.isArray(t.shape) ? formatShape(t.shape) : String(t.shape)
          } with ${data.length} values`,
        );
      }
      values.set(p.name, data);
    }
    if (extra.length) {
      throw new RangeError(`${what}: unexpected tensors ${extra.join(", ")}`);
    }
    return values;
  }

  /** Counts work queued on the executor, so that {@link dispose} lets it finish first. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#pending++;
    const release = () => {
      if (--this.#pending === 0 && this.#disposed) this.#exec.dispose();
    };
    work.then(release, release);
    return work;
  }

  /**
   * Frees every buffer of the model; it cannot be used afterwards: new calls throw at once.
   * Calls made before the dispose still complete (on every backend alike), and the buffers are
   * freed when the last of them has.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#pending === 0) this.#exec.dispose();
  }
}
