/**
 * The reference backend: the network run with the plain loops of `cpu/` on
 * Float32Array buffers allocated once per model. Slow, obviously correct, and
 * the truth the other backends are tested against.
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
} from "../backend.ts";
import { conv2dBackward, conv2dForward, type Conv2DShape } from "../../cpu/conv2d.ts";
import { maxPool2dBackward, maxPool2dForward, type MaxPool2DShape } from "../../cpu/maxpool2d.ts";
import { denseBackward, denseForward, type DenseShape } from "../../cpu/dense.ts";
import { tanhBackward, tanhForward } from "../../cpu/tanh.ts";
import { sigmoidBackward, sigmoidForward } from "../../cpu/sigmoid.ts";
import { softmaxForward } from "../../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../../cpu/nll.ts";
import { sgdMomentumUpdate, sgdUpdate } from "../../cpu/sgd.ts";
import type { FloatArray } from "../../cpu/types.ts";
import { hostBatch, HostDataset, sizeOf } from "./host.ts";
import { firstNonFinite } from "../validate.ts";

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
  readonly #params = new Map<string, FloatArray>();
  readonly #paramGrads = new Map<string, FloatArray>();
  readonly #velocity = new Map<string, FloatArray>();
  readonly #labels: Int32Array;

  constructor(plan: NetworkPlan, dtype: "float32" | "float64" = "float32") {
    this.#plan = plan;
    const n = plan.batchSize;
    const alloc = (size: number): FloatArray =>
      dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
    this.#acts = [alloc(n * sizeOf(plan.inputShape))];
    this.#grads = [alloc(0)];
    for (const layer of plan.layers) {
      this.#acts.push(alloc(n * sizeOf(layer.outShape)));
      this.#grads.push(alloc(n * sizeOf(layer.outShape)));
    }
    for (const p of plan.params) {
      this.#params.set(p.name, alloc(sizeOf(p.shape)));
      this.#paramGrads.set(p.name, alloc(sizeOf(p.shape)));
    }
    this.#labels = new Int32Array(n);
  }

  /**
   * Mean NLL of a batch and the gradient of every parameter (views of internal
   * buffers, valid until the next call). No update is made.
   */
  lossAndGradients(x: ArrayLike<number>, labels: ArrayLike<number>): {
    loss: number;
    grads: Map<string, FloatArray>;
  } {
    const count = labels.length;
    this.#acts[0].set(x);
    this.#labels.set(labels);
    this.#forward(count);
    const loss = nllLoss(
      this.#logits(count),
      this.#labels.subarray(0, count),
      count,
      this.#plan.classes,
    );
    this.#backward(count);
    return { loss, grads: this.#paramGrads };
  }

  setParams(values: Map<string, ArrayLike<number>>): Promise<void> {
    for (const [name, dst] of this.#params) dst.set(values.get(name)!);
    return Promise.resolve();
  }

  getOptimizerState(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, p] of this.#params) {
      const v = this.#velocity.get(name);
      out.set(name, v ? Float32Array.from(v) : new Float32Array(p.length));
    }
    return Promise.resolve(out);
  }

  setOptimizerState(values: Map<string, ArrayLike<number>>): Promise<void> {
    for (const [name, p] of this.#params) {
      const v = p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length);
      v.set(values.get(name)!);
      this.#velocity.set(name, v);
    }
    return Promise.resolve();
  }

  getParams(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.#params) out.set(name, Float32Array.from(v));
    return Promise.resolve(out);
  }

  createDataset(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
  ): DeviceDataset {
    return new HostDataset(images, labels, count, scale, sizeOf(this.#plan.inputShape));
  }

  #forward(count: number): void {
    const acts = this.#acts;
    this.#plan.layers.forEach((layer, i) => {
      const x = acts[i].subarray(0, count * sizeOf(layer.inShape));
      const y = acts[i + 1].subarray(0, count * sizeOf(layer.outShape));
      switch (layer.kind) {
        case "conv2d":
          conv2dForward(
            y,
            x,
            this.#params.get(layer.weight.name)!,
            this.#params.get(layer.bias.name)!,
            convShape(layer, count),
          );
          break;
        case "maxpool2d":
          maxPool2dForward(y, x, poolShape(layer, count));
          break;
        case "dense":
          denseForward(
            y,
            x,
            this.#params.get(layer.weight.name)!,
            this.#params.get(layer.bias.name)!,
            denseShape(layer, count),
          );
          break;
        case "tanh":
          tanhForward(y, x);
          break;
        case "sigmoid":
          sigmoidForward(y, x);
          break;
        case "softmax":
          softmaxForward(y, x, count, this.#plan.classes);
          break;
      }
    });
  }

  #backward(count: number): void {
    const { layers, classes } = this.#plan;
    const acts = this.#acts, grads = this.#grads;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i];
      const x = acts[i].subarray(0, count * sizeOf(layer.inShape));
      const y = acts[i + 1].subarray(0, count * sizeOf(layer.outShape));
      const dy = grads[i + 1].subarray(0, count * sizeOf(layer.outShape));
      const dx = i === 0 ? null : grads[i].subarray(0, count * sizeOf(layer.inShape));
      switch (layer.kind) {
        case "softmax":
          // Fused softmax + NLL: dLogits = (p - onehot) / N, from the logits.
          softmaxNllBackward(dx!, x, this.#labels.subarray(0, count), count, classes);
          break;
        case "conv2d":
          conv2dBackward(
            dx,
            this.#paramGrads.get(layer.weight.name)!,
            this.#paramGrads.get(layer.bias.name)!,
            dy,
            x,
            this.#params.get(layer.weight.name)!,
            convShape(layer, count),
          );
          break;
        case "maxpool2d":
          if (dx) maxPool2dBackward(dx, dy, x, poolShape(layer, count));
          break;
        case "dense":
          denseBackward(
            dx,
            this.#paramGrads.get(layer.weight.name)!,
            this.#paramGrads.get(layer.bias.name)!,
            dy,
            x,
            this.#params.get(layer.weight.name)!,
            denseShape(layer, count),
          );
          break;
        case "tanh":
          if (dx) tanhBackward(dx, dy, y);
          break;
        case "sigmoid":
          if (dx) sigmoidBackward(dx, dy, y);
          break;
      }
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
    this.#forward(count);
    const labels = this.#labels.subarray(0, count);
    const loss = nllLoss(this.#logits(count), labels, count, this.#plan.classes);
    this.#backward(count);
    for (const [name, p] of this.#params) {
      const g = this.#paramGrads.get(name)!;
      if (options.momentum > 0) {
        let v = this.#velocity.get(name);
        if (!v) {
          this.#velocity.set(
            name,
            v = p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length),
          );
        }
        sgdMomentumUpdate(p, g, v, options.learningRate, options.momentum);
      } else {
        sgdUpdate(p, g, options.learningRate);
      }
    }
    let paramsNonFinite = false;
    for (const p of this.#params.values()) paramsNonFinite ||= firstNonFinite(p) >= 0;
    return Promise.resolve({ loss, lossNonFinite: !Number.isFinite(loss), paramsNonFinite });
  }

  evaluate(batch: BatchSource): Promise<EvalResult> {
    const count = this.#load(batch, true);
    this.#forward(count);
    const logits = this.#logits(count);
    const labels = this.#labels.subarray(0, count);
    return Promise.resolve({
      loss: nllLoss(logits, labels, count, this.#plan.classes),
      errors: errorCount(logits, labels, count, this.#plan.classes),
    });
  }

  predict(batch: BatchSource): Promise<Float32Array> {
    const count = this.#load(batch, false);
    this.#forward(count);
    const L = this.#plan.layers.length;
    return Promise.resolve(
      Float32Array.from(this.#acts[L].subarray(0, count * this.#plan.classes)),
    );
  }

  dispose(): void {
    this.#params.clear();
    this.#paramGrads.clear();
    this.#velocity.clear();
  }
}

function convShape(
  layer: Extract<LayerPlan, { kind: "conv2d" }>,
  batch: number,
): Conv2DShape {
  const [inChannels, height, width] = layer.inShape;
  return {
    batch,
    inChannels,
    height,
    width,
    outChannels: layer.outShape[0],
    kernelH: layer.kernelH,
    kernelW: layer.kernelW,
  };
}

function poolShape(
  layer: Extract<LayerPlan, { kind: "maxpool2d" }>,
  batch: number,
): MaxPool2DShape {
  const [channels, height, width] = layer.inShape;
  return {
    batch,
    channels,
    height,
    width,
    poolH: layer.poolH,
    poolW: layer.poolW,
    ignoreBorder: layer.ignoreBorder,
  };
}

function denseShape(layer: Extract<LayerPlan, { kind: "dense" }>, batch: number): DenseShape {
  return { batch, inFeatures: layer.inFeatures, outFeatures: layer.outFeatures };
}
