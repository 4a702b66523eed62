/**
 * How each optimiser step kind runs on WebGPU: ONE table, {@link GPU_OPTIMIZERS}, keyed by the
 * step kinds of `../../optimizers.ts` (a missing entry is a compile error), giving the update
 * kernel over all packed parameters and the uniform block's fields of a step. The executor
 * binds every entry's kernel once and records the step's kind into the step's one command
 * buffer.
 *
 * @module
 */
import { adamCorrections } from "../../../cpu/adam.ts";
import type { StateName, StepKind, StepOf } from "../../optimizers.ts";
import { specs } from "./kernels.ts";
import type { Launch } from "./layers.ts";
import type { ParamsName } from "./params.ts";

/** The buffers an update kernel binds. */
export interface UpdateBuffers {
  /** The uniform block. */
  params: GPUBuffer;
  /** The packed parameter gradients. */
  g: GPUBuffer;
  /** The packed parameters, updated. */
  p: GPUBuffer;
  /** The packed optimiser state tensors, by state name. */
  state: Readonly<Record<StateName, GPUBuffer>>;
  /** The loss (its non-finite test). */
  result: GPUBuffer;
  /** The non-finite flag: bit 1 loss, bit 2 parameters. */
  flag: GPUBuffer;
}

/** The WebGPU side of one step kind. */
export interface GpuOptimizer<K extends StepKind> {
  /**
   * The update kernel of every packed parameter value.
   *
   * @param b The buffers.
   * @param size The number of packed parameter values.
   */
  launch(b: UpdateBuffers, size: number): Launch;
  /**
   * The uniform block's fields of a step: the hyper-parameters (Adam's bias corrections
   * computed here in doubles).
   *
   * @param o The step's hyper-parameters.
   * @param step The 1-based step number (Adam's `t`).
   */
  uniforms(o: StepOf<K>, step: number): Partial<Record<ParamsName, number>>;
}

/** Every step kind, its kernel (`shaders/<kind>_update.wgsl`) and its uniforms. */
export const GPU_OPTIMIZERS: { readonly [K in StepKind]: GpuOptimizer<K> } = {
  sgd: {
    launch: ({ params, g, p, state, result, flag }, size) => ({
      spec: specs.sgdUpdate(size),
      bindings: { params, g, p, v: state.m, result, flag },
    }),
    uniforms: (o) => ({ lr: o.learningRate, momentum: o.momentum }),
  },
  adam: {
    launch: ({ params, g, p, state, result, flag }, size) => ({
      spec: specs.adamUpdate(size),
      bindings: { params, g, p, m: state.m, v: state.v, result, flag },
    }),
    uniforms: (o, step) => {
      const { c1, c2 } = adamCorrections(o.beta1, o.beta2, step);
      return {
        lr: o.learningRate,
        beta1: o.beta1,
        beta2: o.beta2,
        oneMinusBeta1: 1 - o.beta1,
        oneMinusBeta2: 1 - o.beta2,
        epsilon: o.epsilon,
        l2: o.decoupled ? 0 : o.weightDecay,
        decay: o.decoupled ? 1 - o.learningRate * o.weightDecay : 1,
        c1,
        c2,
      };
    },
  },
};

/** The step kinds of {@link GPU_OPTIMIZERS}, in order. */
export const GPU_STEP_KINDS = Object.keys(GPU_OPTIMIZERS) as StepKind[];

/**
 * The entry of a step's kind, typed for its step.
 *
 * @param kind The step kind.
 * @returns Its {@link GpuOptimizer}.
 */
export function gpuOptimizer(kind: StepKind): GpuOptimizer<StepKind> {
  return GPU_OPTIMIZERS[kind] as GpuOptimizer<StepKind>;
}
