/**
 * The native backend's one table from layer kind to stage: {@link STAGES}. A stage is one
 * layer, or one layer with the layers after it that it fuses (a GEMM's epilogue pools and
 * activates while it writes the output, a batch norm activates in the same pass); every
 * stage has the same two methods, so the executor loops over them without knowing what
 * they are.
 *
 * Which layers fuse is the table's `fuses` list: the kinds of the following layers a stage
 * absorbs, in order, each optional. Adding a layer = one entry here (plus its loops).
 *
 * @module
 */
import type { ActivationPlan, BiasPlan, LayerPlan, ParamSpec, Pool2DPlan } from "../../backend.ts";
import {
  ACTIVATION_KINDS,
  type ActivationKind,
  ACTIVATIONS,
  isActivation,
} from "../../activations.ts";
import { dropoutBackward, dropoutForward, dropoutKey } from "../../../cpu/dropout.ts";
import { sizeOf } from "../host.ts";
import type { Blas } from "./blas.ts";
import { ConvStage } from "./conv.ts";
import { DenseStage } from "./dense.ts";
import { AvgPoolStage, PoolStage } from "./pool.ts";
import { BatchNormStage } from "./batchnorm.ts";
import { activateInPlace, type Activation, activationBackward } from "./pointwise.ts";

/** What a forward pass is for. */
export interface Run {
  /** Training mode (batch statistics, dropout) or evaluation mode. */
  training: boolean;
  /** The model's seed (dropout masks). */
  seed: number;
  /** The step number (dropout masks). */
  step: number;
}

/** One fused group of layers: the executor's unit of work. */
export interface Stage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  /**
   * Forward pass on `n` samples.
   *
   * @param x Input `[n, inSize]`.
   * @param out Output `[n, outSize]`, overwritten.
   */
  forward(x: Float32Array, out: Float32Array, n: number, run: Run): void | Promise<void>;
  /**
   * Backward pass on the `n` samples of the last (training) forward: overwrites `dx` (when
   * not null) and the gradients of the stage's parameters.
   */
  backward(
    dx: Float32Array | null,
    dOut: Float32Array,
    x: Float32Array,
    out: Float32Array,
    n: number,
  ): void | Promise<void>;
}

/** What a stage factory may use: the BLAS, the batch size, the tensors by plan name. */
export interface StageContext {
  /** The BLAS. */
  blas: Blas;
  /** The largest batch. */
  batch: number;
  /** True for the stage that reads the network's input (its input gradient is never needed). */
  first: boolean;
  /** A trained parameter's values and gradient. */
  param(spec: ParamSpec): { value: Float32Array; grad: Float32Array };
  /** A state tensor's values (batch norm's running statistics). */
  state(spec: ParamSpec): Float32Array;
}

/** The layers a stage may absorb after its own. */
export interface Fused {
  /** A max pooling (convolution stages). */
  pool: Pool2DPlan | null;
  /** A bias (convolution stages whose convolution has none: the tutorial's layer). */
  bias: BiasPlan | null;
  /** An activation. */
  act: Activation;
}

type Fusable = "maxpool2d" | "bias" | "activation";

/** Whether layer `l` can be absorbed by the stage of `owner`. */
const FUSABLE: Record<Fusable, (l: LayerPlan, owner: LayerPlan) => boolean> = {
  maxpool2d: (l) => l.kind === "maxpool2d",
  bias: (l, owner) => l.kind === "bias" && owner.kind === "conv2d" && owner.bias === null,
  // only those whose backward reads the output: a fused stage keeps no pre-activation values
  activation: (l) => isActivation(l.kind) && ACTIVATIONS[l.kind].from === "y",
};

/** How one layer kind becomes a stage. */
interface StageRule<L extends LayerPlan> {
  /** Kinds of the following layers this stage absorbs, in order, each optional. */
  fuses: readonly Fusable[];
  /** Builds the stage. */
  make(layer: L, fused: Fused, ctx: StageContext): Stage;
}

type Rules = { [K in LayerPlan["kind"]]: StageRule<Extract<LayerPlan, { kind: K }>> };

const activationRule: StageRule<ActivationPlan> = {
  fuses: [],
  make: (layer) => {
    const act = layer.kind, outSize = sizeOf(layer.outShape);
    const fromX = ACTIVATIONS[act].from === "x";
    return {
      outSize,
      forward(x, out, n) {
        out.set(x.subarray(0, n * outSize));
        activateInPlace(act, out, n * outSize);
      },
      backward(dx, dOut, x, out, n) {
        if (dx) activationBackward(act, dx, dOut, fromX ? x : out, n * outSize);
      },
    };
  },
};

/** The rule of every activation kind. */
const activationRules = Object.fromEntries(
  ACTIVATION_KINDS.map((kind) => [kind, activationRule]),
) as { [K in ActivationKind]: StageRule<Extract<LayerPlan, { kind: K }>> };

/** The table: layer kind → how it becomes a stage. */
export const STAGES: Rules = {
  conv2d: {
    fuses: ["maxpool2d", "bias", "activation"],
    make(layer, { pool, bias, act }, ctx) {
      const [C, H, W] = layer.inShape, O = layer.outShape[0];
      const w = ctx.param(layer.weight);
      // the conv's own bias, a fused Bias layer's (added after the pooling), or none (zeros)
      const biasSpec = layer.bias ?? bias?.bias;
      const b = biasSpec
        ? ctx.param(biasSpec)
        : { value: new Float32Array(O), grad: new Float32Array(O) };
      const op = new ConvStage(
        ctx.blas,
        {
          batch: ctx.batch,
          inChannels: C,
          height: H,
          width: W,
          outChannels: layer.outShape[0],
          kernelH: layer.kernelH,
          kernelW: layer.kernelW,
          strideH: layer.strideH,
          strideW: layer.strideW,
          padTop: layer.padTop,
          padLeft: layer.padLeft,
          padBottom: layer.padBottom,
          padRight: layer.padRight,
          outH: layer.outShape[1],
          outW: layer.outShape[2],
        },
        pool && {
          poolH: pool.poolH,
          poolW: pool.poolW,
          strideH: pool.strideH,
          strideW: pool.strideW,
          outH: pool.outShape.length === 3 ? pool.outShape[1] : 1,
          outW: pool.outShape.length === 3 ? pool.outShape[2] : 1,
          ties: pool.ties,
          biasAfterPool: bias !== null,
        },
        act,
        !ctx.first,
      );
      return {
        outSize: op.outSize,
        forward: (x, out, n) => op.forward(out, x, w.value, b.value, n),
        backward: (dx, dOut, _x, out, n) => op.backward(dx, w.grad, b.grad, dOut, out, w.value, n),
      };
    },
  },
  dense: {
    fuses: ["activation"],
    make(layer, { act }, ctx) {
      const w = ctx.param(layer.weight), b = ctx.param(layer.bias);
      const op = new DenseStage(ctx.blas, layer.inFeatures, layer.outFeatures, act, ctx.batch);
      return {
        outSize: op.outSize,
        forward: (x, out, n) => op.forward(out, x, w.value, b.value, n),
        backward: (dx, dOut, x, out, n) =>
          op.backward(dx, w.grad, b.grad, dOut, out, x, w.value, n),
      };
    },
  },
  maxpool2d: {
    fuses: ["activation"],
    make(layer, { act }, ctx) {
      const op = new PoolStage(layer, act, ctx.batch);
      return {
        outSize: op.outSize,
        forward: (x, out, n) => op.forward(out, x, n),
        backward: (dx, dOut, _x, out, n) => {
          if (dx) op.backward(dx, dOut, out, n);
        },
      };
    },
  },
  avgpool2d: {
    fuses: [],
    make(layer, _fused, ctx) {
      const op = new AvgPoolStage(layer, ctx.batch);
      return {
        outSize: op.outSize,
        forward: (x, out, n) => op.forward(out, x, n),
        backward: (dx, dOut, _x, _out, n) => {
          if (dx) op.backward(dx, dOut, n);
        },
      };
    },
  },
  batchnorm: {
    fuses: ["activation"],
    make(layer, { act }, ctx) {
      const g = ctx.param(layer.weight), b = ctx.param(layer.bias);
      const op = new BatchNormStage(
        layer.channels,
        layer.positions,
        layer.epsilon,
        layer.momentum,
        act,
        {
          gamma: g.value,
          beta: b.value,
          dGamma: g.grad,
          dBeta: b.grad,
          runningMean: ctx.state(layer.runningMean),
          runningVar: ctx.state(layer.runningVar),
        },
        ctx.batch,
      );
      return {
        outSize: op.outSize,
        forward: (x, out, n, run) => op.forward(out, x, n, run.training),
        backward: (dx, dOut, x, out, n) => op.backward(dx, dOut, x, out, n),
      };
    },
  },
  dropout: {
    fuses: [],
    make(layer) {
      const outSize = sizeOf(layer.outShape), rate = layer.rate;
      let key = 0;
      return {
        outSize,
        forward(x, out, n, run) {
          const len = n * outSize;
          if (!run.training || rate === 0) {
            out.set(x.subarray(0, len));
            return;
          }
          key = dropoutKey(run.seed, run.step, layer.index);
          dropoutForward(out.subarray(0, len), x.subarray(0, len), rate, key);
        },
        backward(dx, dOut, _x, _out, n) {
          if (!dx) return;
          const len = n * outSize;
          if (rate === 0) dx.set(dOut.subarray(0, len));
          else dropoutBackward(dx.subarray(0, len), dOut.subarray(0, len), rate, key);
        },
      };
    },
  },
  bias: {
    fuses: ["activation"],
    make(layer, { act }, ctx) {
      const b = ctx.param(layer.bias), outSize = sizeOf(layer.outShape);
      const C = layer.channels, P = layer.positions;
      const dPre = new Float32Array(act ? ctx.batch * outSize : 0);
      return {
        outSize,
        forward(x, out, n) {
          for (let i = 0, k = 0; i < n; i++) {
            for (let c = 0; c < C; c++) {
              const bc = b.value[c];
              for (let p = 0; p < P; p++, k++) out[k] = x[k] + bc;
            }
          }
          activateInPlace(act, out, n * outSize);
        },
        backward(dx, dOut, _x, out, n) {
          const g = act ? dPre : dOut;
          activationBackward(act, g, dOut, out, n * outSize);
          const sums = new Float64Array(C);
          for (let i = 0, k = 0; i < n; i++) {
            for (let c = 0; c < C; c++) {
              let sum = 0;
              for (let p = 0; p < P; p++) sum += g[k++];
              sums[c] += sum;
            }
          }
          b.grad.set(sums);
          if (dx) dx.set(g.subarray(0, n * outSize));
        },
      };
    },
  },
  ...activationRules,
  softmax: {
    fuses: [],
    make(layer) {
      throw new RangeError(`native: softmax "${layer.name}" must be the last layer`);
    },
  },
};

/**
 * Groups the layers (all but the final softmax) into stages, as the table says.
 *
 * @param layers The plan's layers.
 * @param ctx The tensors and sizes.
 * @returns The stages, in order.
 */
export function buildStages(
  layers: readonly LayerPlan[],
  ctx: Omit<StageContext, "first">,
): Stage[] {
  const stages: Stage[] = [];
  const body = layers.slice(0, -1);
  for (let i = 0; i < body.length;) {
    const layer = body[i++];
    const rule = STAGES[layer.kind] as StageRule<LayerPlan>;
    const fused: Fused = { pool: null, bias: null, act: null };
    for (const kind of rule.fuses) {
      const next = body[i];
      if (!next || !FUSABLE[kind](next, layer)) continue;
      if (kind === "maxpool2d") fused.pool = next as Pool2DPlan;
      else if (kind === "bias") fused.bias = next as BiasPlan;
      else fused.act = next.kind as Activation;
      i++;
    }
    stages.push(rule.make(layer, fused, { ...ctx, first: stages.length === 0 }));
  }
  return stages;
}
