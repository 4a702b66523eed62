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

/** The backends a model can run on. */
export type BackendName = "cpu" | "webgpu" | "native";

/** One parameter tensor of the network, e.g. `conv0.weight` of shape `[20, 1, 5, 5]`. */
export interface ParamSpec {
  /** `<layer name>.weight` or `<layer name>.bias`. */
  name: string;
  /** Row-major shape. */
  shape: number[];
  /** How the tutorial initialises it: uniform in ±bound, or zeros. */
  init: { kind: "uniform"; bound: number } | { kind: "zeros" };
}

/** Convolution, valid, stride 1, cross-correlation, weight `[K, C, kh, kw]`, bias `[K]`. */
export interface Conv2DPlan {
  /** Discriminant. */
  kind: "conv2d";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample, `[C, H, W]`. */
  inShape: [number, number, number];
  /** Output of one sample, `[K, H, W]`. */
  outShape: [number, number, number];
  /** Kernel height. */
  kernelH: number;
  /** Kernel width. */
  kernelW: number;
  /** The weight tensor. */
  weight: ParamSpec;
  /** The bias tensor. */
  bias: ParamSpec;
}

/** Non-overlapping max pooling (stride = pool size), Theano's `max_pool_2d`. */
export interface MaxPool2DPlan {
  /** Discriminant. */
  kind: "maxpool2d";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample, `[C, H, W]`. */
  inShape: [number, number, number];
  /** Output of one sample, `[K, H, W]`. */
  outShape: [number, number, number];
  /** Pool (and stride) height. */
  poolH: number;
  /** Pool (and stride) width. */
  poolW: number;
  /** Drop (true) or keep (false) partial windows at the border. */
  ignoreBorder: boolean;
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

/** Elementwise activation; backward uses the forward output. */
export interface ActivationPlan {
  /** Which activation. */
  kind: "tanh" | "sigmoid";
  /** Layer name, used in parameter names and errors. */
  name: string;
  /** Input of one sample. */
  inShape: number[];
  /** Output of one sample (same as the input). */
  outShape: number[];
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

/** One layer with every shape resolved. */
export type LayerPlan = Conv2DPlan | MaxPool2DPlan | DensePlan | ActivationPlan | SoftmaxPlan;

/** The whole network, as a backend sees it. The last layer is always a softmax. */
export interface NetworkPlan {
  /** Shape of one sample, e.g. `[1, 28, 28]`. */
  inputShape: number[];
  /** Largest batch the executor must handle; buffers are sized for it. */
  batchSize: number;
  /** The layers in order. */
  layers: LayerPlan[];
  /** Every parameter tensor in layer order (weight then bias). */
  params: ParamSpec[];
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

/** Hyper-parameters of one SGD step. */
export interface StepOptions {
  /** SGD learning rate. */
  learningRate: number;
  /** Classical momentum: `v = momentum * v - lr * g; p += v`. 0 is plain SGD. */
  momentum: number;
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
  /** Some updated parameter (or velocity) was NaN or infinite. */
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
  /** Replaces all parameters; every name of the plan must be present with the right size. */
  setParams(values: Map<string, Float32Array>): Promise<void>;
  /** Copies all parameters out (an explicit, asynchronous readback on the GPU). */
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
   * Optimiser state: the momentum velocity of every parameter, by parameter name (zeros
   * before the first momentum step).
   */
  getOptimizerState(): Promise<Map<string, Float32Array>>;
  /** Replaces the optimiser state; every name of the plan must be present with the right size. */
  setOptimizerState(values: Map<string, Float32Array>): Promise<void>;
  /**
   * Forward, backward and SGD update on one batch; resolves to the loss and the non-finite
   * check (see {@link StepResult}). The model has validated the batch and the options.
   */
  trainStep(batch: BatchSource, options: StepOptions): Promise<StepResult>;
  /** Loss and error count of one batch, without changing any parameter. */
  evaluate(batch: BatchSource): Promise<EvalResult>;
  /** Softmax probabilities `[count, classes]` of one batch. */
  predict(batch: BatchSource): Promise<Float32Array>;
  /** Frees every buffer; the executor is unusable afterwards. */
  dispose(): void;
}
