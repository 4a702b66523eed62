/**
 * The contract between the model (`src/model.ts`) and a backend (`src/backends/`).
 *
 * A backend turns a {@link NetworkPlan} (the layers with all shapes resolved) into an
 * {@link Executor} that owns every buffer of the network: parameters, activations,
 * gradients, optimiser state. The model never touches those buffers; it hands the
 * executor batches and reads back only what the caller asks for (loss, error counts,
 * probabilities, weights).
 *
 * Dimension letters used throughout: N batch, C channels, H height, W width,
 * K output channels / features.
 *
 * @module
 */
import type { ActivationKind } from "./activations.ts";

/** The backends a model can run on. */
export type BackendName = "cpu" | "webgpu" | "native";

/** One parameter tensor of the network, e.g. `conv0.weight` of shape `[20, 1, 5, 5]`. */
export interface ParamSpec {
  /** `<layer name>.weight`, `.bias`, or for batch norm `.running_mean` / `.running_var`. */
  name: string;
  /** Row-major shape. */
  shape: number[];
  /** Initial values: uniform in ±bound, zeros or ones. */
  init: { kind: "uniform"; bound: number } | { kind: "zeros" } | { kind: "ones" };
}

/**
 * Cross-correlation with zero padding and stride, weight `[K, C, kh, kw]`, bias `[K]`:
 * `y[n,k,oy,ox] = b[k] + Σ w[k,c,i,j] · x[n, c, oy·strideH - padTop + i, ox·strideW - padLeft + j]`
 * (zero outside the input). The bottom and right padding are implied by `outShape`.
 */
export interface Conv2DPlan {
  /** Discriminant. */
  kind: "conv2d";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample, `[C, H, W]`. */
  inShape: [number, number, number];
  /** Output of one sample, `[K, outH, outW]`. */
  outShape: [number, number, number];
  /** Kernel height. */
  kernelH: number;
  /** Kernel width. */
  kernelW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Zero rows added above the input. */
  padTop: number;
  /** Zero columns added left of the input. */
  padLeft: number;
  /** Zero rows added below the input. */
  padBottom: number;
  /** Zero columns added right of the input. */
  padRight: number;
  /** The weight tensor. */
  weight: ParamSpec;
  /** The bias tensor, or null for a convolution without bias (`useBias: false`). */
  bias: ParamSpec | null;
}

/**
 * Max or average pooling over `poolH x poolW` windows moved by `strideH, strideW` (Theano's
 * `max_pool_2d` when the stride equals the pool). `ignoreBorder` false keeps partial windows
 * at the bottom/right border (PyTorch's `ceil_mode`); an average divides by the number of
 * input values inside the window. A global average pooling is an `"avgpool2d"` whose window
 * is the whole plane and whose `outShape` is `[C]`.
 */
export interface Pool2DPlan {
  /** Discriminant. */
  kind: "maxpool2d" | "avgpool2d";
  /** Layer name, used in errors. */
  name: string;
  /** Input of one sample, `[C, H, W]`. */
  inShape: [number, number, number];
  /** Output of one sample: `[C, outH, outW]`, or `[C]` for a global pooling. */
  outShape: [number, number, number] | [number];
  /** Window height. */
  poolH: number;
  /** Window width. */
  poolW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Drop (true) or keep (false) partial windows at the border. */
  ignoreBorder: boolean;
  /** Max pooling's backward tie rule (`cpu/maxpool2d.ts`): `"first"` maximum or `"all"`. */
  ties?: "first" | "all";
}

/** `y = flatten(x) · W + b`, weight `[inFeatures, outFeatures]`, bias `[outFeatures]`. */
export interface DensePlan {
  /** Discriminant. */
  kind: "dense";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample. */
  inShape: number[];
  /** Output of one sample, `[K]`. */
  outShape: [number];
  /** Flattened input size. */
  inFeatures: number;
  /** Number of outputs. */
  outFeatures: number;
  /** The weight tensor. */
  weight: ParamSpec;
  /** The bias tensor. */
  bias: ParamSpec;
}

/** Elementwise activation (`src/activations.ts`); backward reads the forward input or output. */
export interface ActivationPlan {
  /** Which activation: a key of `ACTIVATIONS`. */
  kind: ActivationKind;
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample. */
  inShape: number[];
  /** Output of one sample (same as the input). */
  outShape: number[];
}

/**
 * Inverted dropout, active only in training: `y = keep ? x / (1 - rate) : 0`, the keep bit of
 * each value drawn from a counter-based hash of (model seed, step, layer index, value index),
 * so every backend drops the same values (`cpu/dropout.ts`).
 */
export interface DropoutPlan {
  /** Discriminant. */
  kind: "dropout";
  /** Layer name, used in errors. */
  name: string;
  /** Input of one sample. */
  inShape: number[];
  /** Output of one sample (same as the input). */
  outShape: number[];
  /** Probability of dropping a value, in [0, 1). */
  rate: number;
  /** Index of the layer in the plan, mixed into the mask's hash. */
  index: number;
}

/**
 * Batch normalisation over `channels`, each with `positions` values per sample (`H·W` for
 * `[C, H, W]` inputs, 1 for features): training normalises by the batch's mean and biased
 * variance and updates the running averages (`r = (1 - momentum)·r + momentum·batch`, the
 * variance unbiased); evaluation uses the running averages. `y = γ·x̂ + β`.
 */
export interface BatchNormPlan {
  /** Discriminant. */
  kind: "batchnorm";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample, `[C, H, W]` or `[C]`. */
  inShape: number[];
  /** Output of one sample (same as the input). */
  outShape: number[];
  /** C. */
  channels: number;
  /** Values per channel and sample (H·W, or 1). */
  positions: number;
  /** Added to the variance. */
  epsilon: number;
  /** Weight of the batch in the running averages. */
  momentum: number;
  /** γ `[C]`, initialised to ones. */
  weight: ParamSpec;
  /** β `[C]`, initialised to zeros. */
  bias: ParamSpec;
  /** Running mean `[C]` (state, not trained), zeros at first. */
  runningMean: ParamSpec;
  /** Running variance `[C]` (state, not trained), ones at first. */
  runningVar: ParamSpec;
}

/** Row-wise softmax over the last layer's `classes` outputs; trained with mean NLL. */
export interface SoftmaxPlan {
  /** Discriminant. */
  kind: "softmax";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample, `[classes]`. */
  inShape: [number];
  /** Output of one sample, `[K]`. */
  outShape: [number];
}

/**
 * A learned per-channel bias: `y[n, c, …] = x[n, c, …] + b[c]` over `channels` channels of
 * `positions` values each (`H·W` for `[C, H, W]`, 1 for features); bias `[channels]`.
 */
export interface BiasPlan {
  /** Discriminant. */
  kind: "bias";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample. */
  inShape: number[];
  /** Output of one sample (same as the input). */
  outShape: number[];
  /** C: channels (the input's first dimension). */
  channels: number;
  /** Values per channel of one sample. */
  positions: number;
  /** The bias tensor `[channels]`. */
  bias: ParamSpec;
}

/** One layer with every shape resolved. */
export type LayerPlan =
  | Conv2DPlan
  | BiasPlan
  | Pool2DPlan
  | DensePlan
  | ActivationPlan
  | DropoutPlan
  | BatchNormPlan
  | SoftmaxPlan;

/** The whole network, as a backend sees it. The last layer is always a softmax. */
export interface NetworkPlan {
  /** Shape of one sample, e.g. `[1, 28, 28]`. */
  inputShape: number[];
  /** Largest batch the executor must handle; buffers are sized for it. */
  batchSize: number;
  /** The layers in order. */
  layers: LayerPlan[];
  /** Every trained parameter tensor in layer order (weight then bias). */
  params: ParamSpec[];
  /**
   * Tensors that are part of the model but not trained (batch norm's running averages), in
   * layer order. Executors keep them with the parameters: `getParams`/`setParams` cover both.
   */
  state: ParamSpec[];
  /** Number of classes (outputs of the softmax). */
  classes: number;
}

/**
 * Samples stored by an executor in its own memory (GPU buffers for WebGPU), so a
 * training loop feeds batches by index instead of copying them each step.
 */
export interface DeviceDataset {
  /** Number of samples. */
  readonly count: number;
  /** Frees the memory held. */
  dispose(): void;
}

/** Where a batch comes from: host arrays, or a slice of a {@link DeviceDataset}. */
export type BatchSource =
  | {
    /** `count * prod(inputShape)` values, NCHW. */
    x: Float32Array;
    /** `count` class indices; needed for training and evaluation. */
    labels?: Int32Array;
    /** Number of samples in the batch. */
    count: number;
  }
  | {
    /** The dataset. */
    dataset: DeviceDataset;
    /** Index of the first sample. */
    start: number;
    /** Number of samples. */
    count: number;
  };

/**
 * Plain SGD, or SGD with momentum as PyTorch's `torch.optim.SGD` (dampening 0, nesterov off):
 * `buf = momentum·buf + g; p -= lr·buf`, the buffer `p.m` starting at zero.
 */
export interface SgdStep {
  /** Discriminant. */
  kind: "sgd";
  /** Learning rate. */
  learningRate: number;
  /** 0 is plain SGD (the momentum buffer is then left untouched). */
  momentum: number;
}

/**
 * Adam (Kingma & Ba) with bias correction, as PyTorch's `torch.optim.Adam` (weight decay
 * added to the gradient) or, with `decoupled`, `torch.optim.AdamW` (`p -= lr·wd·p` first):
 * `m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= lr·(m/(1-β1^t)) / (sqrt(v/(1-β2^t)) + ε)`.
 */
export interface AdamStep {
  /** Discriminant. */
  kind: "adam";
  /** Learning rate. */
  learningRate: number;
  /** β1. */
  beta1: number;
  /** β2. */
  beta2: number;
  /** ε. */
  epsilon: number;
  /** Weight decay; 0 for none. */
  weightDecay: number;
  /** AdamW's decoupled decay instead of an L2 term in the gradient. */
  decoupled: boolean;
}

/** Hyper-parameters of one training step. */
export interface StepOptions {
  /** The optimiser and its hyper-parameters. */
  optimizer: SgdStep | AdamStep;
  /**
   * The 1-based number of this step since the optimiser state was zero: Adam's `t`, and mixed
   * into the dropout masks.
   */
  step: number;
  /** The model's seed (a 32-bit unsigned integer), mixed into the dropout masks. */
  seed: number;
  /** When false the executor may skip reading the loss back and return NaN. */
  readLoss: boolean;
}

/**
 * Result of a training step. The non-finite flags are what the step's check found: on
 * `cpu` and `native` a host scan of the loss and of every updated parameter; on `webgpu` a
 * device test of their exponent bits, accumulated on the device by steps that skip the
 * readback (`readLoss` false) and reported (then cleared) by the next step that reads.
 */
export interface StepResult {
  /** The batch's mean loss before the update; NaN when not read back. */
  loss: number;
  /** The loss was NaN or infinite. */
  lossNonFinite: boolean;
  /** Some updated parameter was NaN or infinite. */
  paramsNonFinite: boolean;
}

/** Result of evaluating a batch. */
export interface EvalResult {
  /** Mean negative log-likelihood over the batch. */
  loss: number;
  /** Number of misclassified samples (argmax != label). */
  errors: number;
}

/** A network instantiated on one backend. */
export interface Executor {
  /** Which backend this is. */
  readonly backend: BackendName;
  /** What runs it, for `backendReason` (the native backend: its BLAS and kernels), if said. */
  readonly detail?: string;
  /**
   * Replaces all parameters and state tensors (`plan.params` and `plan.state`); every name
   * must be present with the right size.
   */
  setParams(values: Map<string, Float32Array>): Promise<void>;
  /** Copies all parameters and state tensors out (an explicit readback on the GPU). */
  getParams(): Promise<Map<string, Float32Array>>;
  /**
   * Stores `count` samples in the executor's memory. `images` holds bytes scaled by
   * `scale` on use (MNIST: 1/255) or floats used as they are (`scale` ignored).
   */
  createDataset(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
  ): DeviceDataset;
  /**
   * Optimiser state, two tensors per trained parameter `p`: `p.m` (SGD's momentum buffer, as
   * PyTorch's, or Adam's first moment) and `p.v` (Adam's second moment; zeros under SGD). Zeros before the first step.
   */
  getOptimizerState(): Promise<Map<string, Float32Array>>;
  /** Replaces the optimiser state; every name of the plan must be present with the right size. */
  setOptimizerState(values: Map<string, Float32Array>): Promise<void>;
  /**
   * Forward in training mode (batch statistics, dropout), backward and the optimiser's update
   * on one batch; resolves to the loss and the non-finite check (see {@link StepResult}). The
   * model has validated the batch and the options.
   */
  trainStep(batch: BatchSource, options: StepOptions): Promise<StepResult>;
  /**
   * Loss and error count of one batch in evaluation mode (running statistics, no dropout),
   * without changing any parameter or state.
   */
  evaluate(batch: BatchSource): Promise<EvalResult>;
  /** Softmax probabilities `[count, classes]` of one batch, in evaluation mode. */
  predict(batch: BatchSource): Promise<Float32Array>;
  /** Frees every buffer; the executor is unusable afterwards. */
  dispose(): void;
}
