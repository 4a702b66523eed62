/**
 * The reference backend: the network run with the plain loops of `cpu/` on
 * Float32Array buffers allocated once per model. Slow, obviously correct, and
 * the truth the other backends are tested against.
 *
 * @module
 */
import type {
  BatchNormPlan,
  BatchSource,
  BiasPlan,
  Conv2DPlan,
  DensePlan,
  DeviceDataset,
  DropoutPlan,
  EvalResult,
  Executor,
  LayerPlan,
  NetworkPlan,
  Pool2DPlan,
  StepOptions,
  StepResult,
} from "../backend.ts";
import { conv2dBackward, conv2dForward, type Conv2DShape } from "../../cpu/conv2d.ts";
import { biasBackward, biasForward, type BiasShape } from "../../cpu/bias.ts";
import { maxPool2dBackward, maxPool2dForward, type Pool2DShape } from "../../cpu/maxpool2d.ts";
import { avgPool2dBackward, avgPool2dForward } from "../../cpu/avgpool2d.ts";
import { denseBackward, denseForward, type DenseShape } from "../../cpu/dense.ts";
import {
  ACTIVATION_KINDS,
  type ActivationKind,
  ACTIVATIONS,
  backwardLoop,
  forwardLoop,
} from "../activations.ts";
import { dropoutBackward, dropoutForward, dropoutKey } from "../../cpu/dropout.ts";
import {
  batchNormBackward,
  batchNormForwardEval,
  batchNormForwardTrain,
  type BatchNormShape,
} from "../../cpu/batchnorm.ts";
import { softmaxForward } from "../../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../../cpu/nll.ts";
import type { FloatArray } from "../../cpu/types.ts";
import { hostBatch, HostDataset, sizeOf } from "./host.ts";
import { firstNonFinite } from "../validate.ts";
import { hostUpdate, OPTIMIZER_STATE, stateName } from "../optimizers.ts";

/** What a layer's forward and backward see: its tensors, the batch and the step. */
interface LayerIO {
  /** Input `[count, ...inShape]`. */
  x: FloatArray;
  /** Output `[count, ...outShape]`. */
  y: FloatArray;
  /** Samples in the batch. */
  count: number;
  /** Training (batch statistics, dropout) or evaluation. */
  training: boolean;
  /** Parameters and state tensors by name. */
  param(name: string): FloatArray;
  /** Parameter gradients by name. */
  grad(name: string): FloatArray;
  /** Per-layer scratch memory kept between forward and backward (`size` values). */
  scratch(size: number): FloatArray;
  /** The step being trained (seed and step for the dropout masks). */
  step: StepOptions | null;
  /** Labels of the batch (the softmax's backward). */
  labels: Int32Array;
}

/** The backward pass of a layer: `dx` is null for the first layer. */
interface LayerGrads extends LayerIO {
  /** dLoss/dy. */
  dy: FloatArray;
  /** dLoss/dx, overwritten; null when nobody needs it. */
  dx: FloatArray | null;
}

/** How one layer kind runs on the CPU: the `cpu/` functions it calls. */
interface CpuLayer<P extends LayerPlan> {
  forward(layer: P, io: LayerIO): void;
  backward(layer: P, io: LayerGrads): void;
}

// A convolution without bias (`useBias: false`) runs with a zero bias, the first half of its
// scratch (never written); its bias gradient goes to the second half.
const conv: CpuLayer<Conv2DPlan> = {
  forward: (l, io) =>
    conv2dForward(
      io.y,
      io.x,
      io.param(l.weight.name),
      l.bias ? io.param(l.bias.name) : io.scratch(2 * l.outShape[0]).subarray(0, l.outShape[0]),
      convShape(l, io.count),
    ),
  backward: (l, io) =>
    conv2dBackward(
      io.dx,
      io.grad(l.weight.name),
      l.bias ? io.grad(l.bias.name) : io.scratch(2 * l.outShape[0]).subarray(l.outShape[0]),
      io.dy,
      io.x,
      io.param(l.weight.name),
      convShape(l, io.count),
    ),
};

const bias: CpuLayer<BiasPlan> = {
  forward: (l, io) => biasForward(io.y, io.x, io.param(l.bias.name), biasShape(l, io.count)),
  backward: (l, io) => biasBackward(io.dx, io.grad(l.bias.name), io.dy, biasShape(l, io.count)),
};

function biasShape(l: BiasPlan, batch: number): BiasShape {
  return { batch, channels: l.channels, positions: l.positions };
}

const dense: CpuLayer<DensePlan> = {
  forward: (l, io) =>
    denseForward(
      io.y,
      io.x,
      io.param(l.weight.name),
      io.param(l.bias.name),
      denseShape(l, io.count),
    ),
  backward: (l, io) =>
    denseBackward(
      io.dx,
      io.grad(l.weight.name),
      io.grad(l.bias.name),
      io.dy,
      io.x,
      io.param(l.weight.name),
      denseShape(l, io.count),
    ),
};

/** An elementwise layer whose backward needs its output. */
/** An activation of `ACTIVATIONS`: the loops of its `cpu/<kind>.ts`, built from its entry. */
function pointwise(kind: ActivationKind): CpuLayer<LayerPlan> {
  const forward = forwardLoop(kind), backward = backwardLoop(kind);
  const fromX = ACTIVATIONS[kind].from === "x";
  return {
    forward: (_, io) => forward(io.y, io.x),
    backward: (_, io) => io.dx && backward(io.dx, io.dy, fromX ? io.x : io.y),
  };
}

const activations = Object.fromEntries(
  ACTIVATION_KINDS.map((kind) => [kind, pointwise(kind)]),
) as { [K in ActivationKind]: CpuLayer<Extract<LayerPlan, { kind: K }>> };

const dropout: CpuLayer<DropoutPlan> = {
  forward: (l, io) => {
    if (io.training && l.rate > 0) dropoutForward(io.y, io.x, l.rate, key(l, io));
    else io.y.set(io.x);
  },
  backward: (l, io) => io.dx && dropoutBackward(io.dx, io.dy, l.rate, key(l, io)),
};

function key(l: DropoutPlan, io: LayerIO): number {
  return dropoutKey(io.step!.seed, io.step!.step, l.index);
}

const batchNorm: CpuLayer<BatchNormPlan> = {
  forward: (l, io) => {
    const s: BatchNormShape = { batch: io.count, channels: l.channels, positions: l.positions };
    const args = [io.param(l.weight.name), io.param(l.bias.name)] as const;
    const running = [io.param(l.runningMean.name), io.param(l.runningVar.name)] as const;
    if (!io.training) {
      batchNormForwardEval(io.y, io.x, ...args, ...running, s, l.epsilon);
      return;
    }
    const saved = io.scratch(2 * l.channels);
    batchNormForwardTrain(
      io.y,
      io.x,
      ...args,
      ...running,
      saved.subarray(0, l.channels),
      saved.subarray(l.channels),
      s,
      l.epsilon,
      l.momentum,
    );
  },
  backward: (l, io) => {
    const saved = io.scratch(2 * l.channels);
    batchNormBackward(
      io.dx,
      io.grad(l.weight.name),
      io.grad(l.bias.name),
      io.dy,
      io.x,
      io.param(l.weight.name),
      saved.subarray(0, l.channels),
      saved.subarray(l.channels),
      { batch: io.count, channels: l.channels, positions: l.positions },
    );
  },
};

const maxPool: CpuLayer<Pool2DPlan> = {
  forward: (l, io) => maxPool2dForward(io.y, io.x, poolShape(l, io.count)),
  backward: (l, io) => io.dx && maxPool2dBackward(io.dx, io.dy, io.x, poolShape(l, io.count)),
};

const avgPool: CpuLayer<Pool2DPlan> = {
  forward: (l, io) => avgPool2dForward(io.y, io.x, poolShape(l, io.count)),
  backward: (l, io) => io.dx && avgPool2dBackward(io.dx, io.dy, poolShape(l, io.count)),
};

const softmax: CpuLayer<LayerPlan> = {
  forward: (l, io) => softmaxForward(io.y, io.x, io.count, l.outShape[0]),
  // Fused softmax + NLL: dLogits = (p - onehot) / N, from the logits.
  backward: (l, io) => softmaxNllBackward(io.dx!, io.x, io.labels, io.count, l.outShape[0]),
};

/** Every layer kind of the plan, and the `cpu/` functions that run it. */
const LAYERS: { [K in LayerPlan["kind"]]: CpuLayer<Extract<LayerPlan, { kind: K }>> } = {
  conv2d: conv,
  bias,
  maxpool2d: maxPool,
  avgpool2d: avgPool,
  dense,
  ...activations,
  dropout,
  batchnorm: batchNorm,
  softmax,
};

function layerOf(layer: LayerPlan): CpuLayer<LayerPlan> {
  return LAYERS[layer.kind] as CpuLayer<LayerPlan>;
}

/**
 * Creates the reference executor for a plan.
 *
 * @param plan The resolved network.
 * @returns An executor running on the CPU in plain TypeScript.
 */
export function createCpuExecutor(plan: NetworkPlan): Promise<Executor> {
  return Promise.resolve(new CpuExecutor(plan));
}

/**
 * The reference executor. `dtype` float64 exists for the whole-network gradient
 * check (`tests/lenet_gradcheck_test.ts`); models use float32 like the GPU.
 */
export class CpuExecutor implements Executor {
  readonly backend = "cpu" as const;
  readonly #plan: NetworkPlan;
  /** acts[i] is the input of layer i; acts[L] the softmax probabilities. */
  readonly #acts: FloatArray[];
  /** grads[i] is dLoss/d(acts[i]); grads[0] is never computed. */
  readonly #grads: FloatArray[];
  /** Parameters and state tensors. */
  readonly #params = new Map<string, FloatArray>();
  readonly #paramGrads = new Map<string, FloatArray>();
  /** The optimiser state: `<p>.m` and `<p>.v` (`OPTIMIZER_STATE`). */
  readonly #moments = new Map<string, FloatArray>();
  readonly #scratch: FloatArray[] = [];
  readonly #labels: Int32Array;
  readonly #alloc: (size: number) => FloatArray;

  constructor(plan: NetworkPlan, dtype: "float32" | "float64" = "float32") {
    this.#plan = plan;
    const n = plan.batchSize;
    const alloc = this.#alloc = (size: number): FloatArray =>
      dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
    this.#acts = [alloc(n * sizeOf(plan.inputShape))];
    this.#grads = [alloc(0)];
    for (const layer of plan.layers) {
      this.#acts.push(alloc(n * sizeOf(layer.outShape)));
      this.#grads.push(alloc(n * sizeOf(layer.outShape)));
      this.#scratch.push(alloc(0));
    }
    for (const p of plan.params) {
      this.#params.set(p.name, alloc(sizeOf(p.shape)));
      this.#paramGrads.set(p.name, alloc(sizeOf(p.shape)));
      for (const s of OPTIMIZER_STATE) {
        this.#moments.set(stateName(p.name, s), alloc(sizeOf(p.shape)));
      }
    }
    for (const p of plan.state) this.#params.set(p.name, alloc(sizeOf(p.shape)));
    this.#labels = new Int32Array(n);
  }

  /**
   * Mean NLL of a batch and the gradient of every parameter (views of internal
   * buffers, valid until the next call), in training mode (batch statistics; dropout with
   * the masks of `step`). No parameter is updated; batch norm's running averages are.
   */
  lossAndGradients(
    x: ArrayLike<number>,
    labels: ArrayLike<number>,
    step: StepOptions | null = null,
  ): {
    loss: number;
    grads: Map<string, FloatArray>;
  } {
    const count = labels.length;
    this.#acts[0].set(x);
    this.#labels.set(labels);
    this.#forward(count, step ?? NO_STEP);
    const loss = nllLoss(
      this.#logits(count),
      this.#labels.subarray(0, count),
      count,
      this.#plan.classes,
    );
    this.#backward(count, step ?? NO_STEP);
    return { loss, grads: this.#paramGrads };
  }

  setParams(values: Map<string, ArrayLike<number>>): Promise<void> {
    for (const [name, dst] of this.#params) dst.set(values.get(name)!);
    return Promise.resolve();
  }

  getParams(): Promise<Map<string, Float32Array>> {
    return Promise.resolve(copies(this.#params));
  }

  getOptimizerState(): Promise<Map<string, Float32Array>> {
    return Promise.resolve(copies(this.#moments));
  }

  setOptimizerState(values: Map<string, ArrayLike<number>>): Promise<void> {
    for (const [name, dst] of this.#moments) dst.set(values.get(name)!);
    return Promise.resolve();
  }

  createDataset(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
  ): DeviceDataset {
    return new HostDataset(images, labels, count, scale, sizeOf(this.#plan.inputShape));
  }

  /** What layer `i` sees for a batch of `count` (`step` null: evaluation). */
  #io(i: number, count: number, step: StepOptions | null): LayerIO {
    const layer = this.#plan.layers[i];
    return {
      x: this.#acts[i].subarray(0, count * sizeOf(layer.inShape)),
      y: this.#acts[i + 1].subarray(0, count * sizeOf(layer.outShape)),
      count,
      training: step !== null,
      param: (name) => this.#params.get(name)!,
      grad: (name) => this.#paramGrads.get(name)!,
      scratch: (size) => {
        if (this.#scratch[i].length !== size) this.#scratch[i] = this.#alloc(size);
        return this.#scratch[i];
      },
      step,
      labels: this.#labels.subarray(0, count),
    };
  }

  #forward(count: number, step: StepOptions | null): void {
    this.#plan.layers.forEach((layer, i) =>
      layerOf(layer).forward(layer, this.#io(i, count, step))
    );
  }

  #backward(count: number, step: StepOptions): void {
    const layers = this.#plan.layers;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i];
      layerOf(layer).backward(layer, {
        ...this.#io(i, count, step),
        dy: this.#grads[i + 1].subarray(0, count * sizeOf(layer.outShape)),
        dx: i === 0 ? null : this.#grads[i].subarray(0, count * sizeOf(layer.inShape)),
      });
    }
  }

  #load(batch: BatchSource, needLabels: boolean): number {
    return hostBatch(
      batch,
      this.#acts[0],
      needLabels ? this.#labels : null,
      sizeOf(this.#plan.inputShape),
    );
  }

  #logits(count: number): FloatArray {
    const L = this.#plan.layers.length;
    return this.#acts[L - 1].subarray(0, count * this.#plan.classes);
  }

  trainStep(batch: BatchSource, options: StepOptions): Promise<StepResult> {
    const count = this.#load(batch, true);
    this.#forward(count, options);
    const labels = this.#labels.subarray(0, count);
    const loss = nllLoss(this.#logits(count), labels, count, this.#plan.classes);
    this.#backward(count, options);
    hostUpdate(this.#plan.params, {
      values: this.#params,
      grads: this.#paramGrads,
      state: this.#moments,
    }, options);
    let paramsNonFinite = false;
    for (const p of this.#params.values()) paramsNonFinite ||= firstNonFinite(p) >= 0;
    return Promise.resolve({ loss, lossNonFinite: !Number.isFinite(loss), paramsNonFinite });
  }

  evaluate(batch: BatchSource): Promise<EvalResult> {
    const count = this.#load(batch, true);
    this.#forward(count, null);
    const logits = this.#logits(count);
    const labels = this.#labels.subarray(0, count);
    return Promise.resolve({
      loss: nllLoss(logits, labels, count, this.#plan.classes),
      errors: errorCount(logits, labels, count, this.#plan.classes),
    });
  }

  predict(batch: BatchSource): Promise<Float32Array> {
    const count = this.#load(batch, false);
    this.#forward(count, null);
    const L = this.#plan.layers.length;
    return Promise.resolve(
      Float32Array.from(this.#acts[L].subarray(0, count * this.#plan.classes)),
    );
  }

  dispose(): void {
    this.#params.clear();
    this.#paramGrads.clear();
    this.#moments.clear();
  }
}

/** The step used by {@link CpuExecutor.lossAndGradients} without one: dropout seed 0, step 1. */
const NO_STEP: StepOptions = {
  optimizer: { kind: "sgd", learningRate: 0, momentum: 0 },
  step: 1,
  seed: 0,
  readLoss: true,
};

function copies(values: Map<string, FloatArray>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of values) out.set(name, Float32Array.from(v));
  return out;
}

function convShape(l: Conv2DPlan, batch: number): Conv2DShape {
  const [inChannels, height, width] = l.inShape;
  return {
    batch,
    inChannels,
    height,
    width,
    outChannels: l.outShape[0],
    kernelH: l.kernelH,
    kernelW: l.kernelW,
    strideH: l.strideH,
    strideW: l.strideW,
    padTop: l.padTop,
    padLeft: l.padLeft,
    padBottom: l.padBottom,
    padRight: l.padRight,
  };
}

function poolShape(l: Pool2DPlan, batch: number): Pool2DShape {
  const [channels, height, width] = l.inShape;
  return {
    batch,
    channels,
    height,
    width,
    poolH: l.poolH,
    poolW: l.poolW,
    strideH: l.strideH,
    strideW: l.strideW,
    ignoreBorder: l.ignoreBorder,
    ties: l.ties,
  };
}

function denseShape(l: DensePlan, batch: number): DenseShape {
  return { batch, inFeatures: l.inFeatures, outFeatures: l.outFeatures };
}
