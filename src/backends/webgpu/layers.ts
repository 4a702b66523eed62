/**
 * How each layer kind is lowered to WebGPU kernels: ONE table, {@link LOWERINGS}, from the
 * plan's layer kind to its forward (training or evaluation mode) and its backward, each a
 * list of kernel launches with their buffers bound by name. The executor loops over the plan
 * and this table; adding a layer kind adds an entry here (and its shaders and specs).
 *
 * @module
 */
import type { LayerPlan, NetworkPlan } from "../../backend.ts";
import { sizeOf } from "../host.ts";
import { ACTIVATION_KINDS, type ActivationKind, ACTIVATIONS } from "../../activations.ts";
import {
  type Binding,
  convDims,
  convWeightSplits,
  type KernelSpec,
  poolDims,
  specs,
} from "./kernels.ts";

/** One kernel launch: its spec and a buffer for each of its binding names. */
export interface Launch {
  /** The kernel. */
  spec: KernelSpec;
  /** Buffers by binding name: one for every `var` of the shader (`SHADER_BINDINGS`). */
  bindings: Record<string, Binding>;
}

/** Training mode (batch statistics, dropout) or evaluation mode (running statistics). */
export type Mode = "train" | "eval";

/** What a layer's lowering can use: its plan, its buffers, the network's shared buffers. */
export interface LayerContext<L extends LayerPlan = LayerPlan> {
  /** The layer. */
  layer: L;
  /** Its index in the plan. */
  index: number;
  /** The whole network. */
  plan: NetworkPlan;
  /** The uniform block (binding `params` of every kernel). */
  params: GPUBuffer;
  /** The layer's input `[N, ...inShape]`. */
  x: GPUBuffer;
  /** The layer's output `[N, ...outShape]`. */
  y: GPUBuffer;
  /** dLoss/dy; null only for the last layer (the softmax, whose gradient is fused). */
  dy: GPUBuffer | null;
  /** dLoss/dx, written by the backward; null for the first layer (not needed). */
  dx: GPUBuffer | null;
  /** The labels `[N]` (u32). */
  labels: GPUBuffer;
  /** A trained parameter tensor, by its plan name. */
  param(name: string): Binding;
  /** The gradient of a trained parameter tensor. */
  grad(name: string): Binding;
  /** A state tensor (not trained: batch norm's running averages). */
  state(name: string): Binding;
  /** A buffer of this layer's own, allocated on first request and shared by both passes. */
  scratch(what: string, floats: number): GPUBuffer;
}

/** The lowering of one layer kind. */
export interface Lowering<L extends LayerPlan = LayerPlan> {
  /** The kernels of the forward, writing `ctx.y` from `ctx.x`. */
  forward(ctx: LayerContext<L>, mode: Mode): Launch[];
  /** The kernels of the backward: parameter gradients, and `ctx.dx` when it is not null. */
  backward(ctx: LayerContext<L>): Launch[];
}

const launch = (spec: KernelSpec, bindings: Record<string, Binding>): Launch => ({
  spec,
  bindings,
});

/** An elementwise activation of `ACTIVATIONS`: forward from x, backward from x or y. */
function activation(kind: ActivationKind): Lowering {
  const from = ACTIVATIONS[kind].from;
  return {
    forward: ({ layer, params, x, y }) => [
      launch(specs.activation(kind, "forward", sizeOf(layer.outShape)), {
        params,
        inp: x,
        out: y,
      }),
    ],
    backward: ({ layer, params, x, y, dy, dx }) =>
      dx
        ? [
          launch(specs.activation(kind, "backward", sizeOf(layer.outShape)), {
            params,
            dOut: dy!,
            [from]: from === "x" ? x : y,
            dx,
          }),
        ]
        : [],
  };
}

/** The lowering of every activation kind. */
const ACTIVATION_LOWERINGS = Object.fromEntries(
  ACTIVATION_KINDS.map((kind) => [kind, activation(kind)]),
) as { [K in ActivationKind]: Lowering<LayerPlan & { kind: K }> };

/** Every layer kind of the plan, lowered. */
export const LOWERINGS: { [K in LayerPlan["kind"]]: Lowering<LayerPlan & { kind: K }> } = {
  conv2d: {
    forward: ({ layer, params, x, y, param, scratch }) => [
      launch(specs.conv2dForward(convDims(layer)), {
        params,
        inp: x,
        w: param(layer.weight.name),
        // without bias: a buffer of zeros (never written; WebGPU zero-fills new buffers)
        b: layer.bias ? param(layer.bias.name) : scratch("a zero bias", layer.outShape[0]),
        out: y,
      }),
    ],
    backward: ({ layer, params, x, dy, dx, param, grad, scratch }) => {
      const d = convDims(layer);
      const S = convWeightSplits(d), K = sizeOf(layer.weight.shape);
      const partial = scratch("the dw and db slices", S * (K + d.O));
      const out = [
        launch(specs.conv2dBackwardWeight(d), { params, dOut: dy!, inp: x, partial }),
        launch(specs.splitSum(S, K, d.O), {
          params,
          partial,
          out: grad(layer.weight.name),
          outB: layer.bias ? grad(layer.bias.name) : scratch("an unused bias gradient", d.O),
        }),
      ];
      if (dx) {
        out.push(launch(specs.conv2dBackwardInput(d), {
          params,
          dOut: dy!,
          w: param(layer.weight.name),
          dx,
        }));
      }
      return out;
    },
  },
  bias: {
    forward: ({ layer, params, x, y, param }) => [
      launch(specs.biasForward(layer.channels, layer.positions), {
        params,
        inp: x,
        b: param(layer.bias.name),
        out: y,
      }),
    ],
    backward: ({ layer, params, dy, dx, grad, scratch }) => {
      const C = layer.channels, P = layer.positions;
      const out = [
        launch(specs.biasBackward(C, P), { params, dOut: dy!, db: grad(layer.bias.name) }),
      ];
      // dx = dy: the forward kernel with a zero bias
      if (dx) {
        out.push(launch(specs.biasForward(C, P), {
          params,
          inp: dy!,
          b: scratch("a zero bias", C),
          out: dx,
        }));
      }
      return out;
    },
  },
  maxpool2d: {
    forward: ({ layer, params, x, y }) => [
      launch(specs.maxPool2dForward(poolDims(layer)), { params, inp: x, out: y }),
    ],
    backward: ({ layer, params, x, dy, dx }) =>
      dx
        ? [launch(specs.maxPool2dBackward(poolDims(layer)), { params, dOut: dy!, inp: x, dx })]
        : [],
  },
  avgpool2d: {
    forward: ({ layer, params, x, y }) => [
      launch(specs.avgPool2dForward(poolDims(layer)), { params, inp: x, out: y }),
    ],
    backward: ({ layer, params, dy, dx }) =>
      dx ? [launch(specs.avgPool2dBackward(poolDims(layer)), { params, dOut: dy!, dx })] : [],
  },
  dense: {
    forward: ({ layer, params, x, y, param }) => [
      launch(specs.denseForward(layer.inFeatures, layer.outFeatures), {
        params,
        x,
        w: param(layer.weight.name),
        b: param(layer.bias.name),
        out: y,
      }),
    ],
    backward: ({ layer, params, x, dy, dx, param, grad }) => {
      const { inFeatures: I, outFeatures: J } = layer;
      const out = [
        launch(specs.biasBackward(J, 1), { params, dOut: dy!, db: grad(layer.bias.name) }),
        launch(specs.denseBackwardWeight(I, J), {
          params,
          x,
          dOut: dy!,
          dw: grad(layer.weight.name),
        }),
      ];
      if (dx) {
        out.push(launch(specs.denseBackwardInput(I, J), {
          params,
          dOut: dy!,
          w: param(layer.weight.name),
          dx,
        }));
      }
      return out;
    },
  },
  ...ACTIVATION_LOWERINGS,
  dropout: {
    forward: ({ layer, index, params, x, y }, mode) => [
      launch(specs.dropout("forward", sizeOf(layer.outShape), layer.rate, index, mode), {
        params,
        inp: x,
        out: y,
      }),
    ],
    backward: ({ layer, index, params, dy, dx }) =>
      dx
        ? [
          launch(specs.dropout("backward", sizeOf(layer.outShape), layer.rate, index), {
            params,
            dOut: dy!,
            dx,
          }),
        ]
        : [],
  },
  batchnorm: {
    forward: (ctx, mode) => {
      const { layer, params, x, y, param, state, scratch } = ctx;
      const { channels: C, positions: P, epsilon } = layer;
      const common = {
        params,
        x,
        gamma: param(layer.weight.name),
        beta: param(layer.bias.name),
        runMean: state(layer.runningMean.name),
        runVar: state(layer.runningVar.name),
        y,
      };
      if (mode === "eval") return [launch(specs.batchNormForwardEval(C, P, epsilon), common)];
      return [
        launch(specs.batchNormForwardTrain(C, P, epsilon, layer.momentum), {
          ...common,
          saveMean: scratch("the batch means", C),
          saveInvStd: scratch("the batch inverse deviations", C),
        }),
      ];
    },
    backward: ({ layer, plan, params, x, dy, dx, param, grad, scratch }) => {
      const { channels: C, positions: P } = layer;
      return [
        launch(specs.batchNormBackward(C, P), {
          params,
          dOut: dy!,
          x,
          gamma: param(layer.weight.name),
          saveMean: scratch("the batch means", C),
          saveInvStd: scratch("the batch inverse deviations", C),
          dGamma: grad(layer.weight.name),
          dBeta: grad(layer.bias.name),
          // The kernel always writes dx: the first layer's goes to a buffer of its own.
          dx: dx ?? scratch("an unused input gradient", plan.batchSize * C * P),
        }),
      ];
    },
  },
  softmax: {
    // The probabilities are computed only by predict; training uses the fused gradient.
    forward: () => [],
    backward: ({ plan, params, x, dx, labels }) =>
      dx ? [launch(specs.softmaxNllBackward(plan.classes), { params, z: x, labels, dz: dx })] : [],
  },
};

/**
 * The lowering of a layer.
 *
 * @param layer The layer's plan.
 * @returns Its entry of {@link LOWERINGS}.
 */
export function loweringOf(layer: LayerPlan): Lowering {
  return LOWERINGS[layer.kind] as Lowering;
}
