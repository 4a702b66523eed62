/**
 * The optimisers, listed once, for every backend:
 *
 * - {@link OPTIMIZERS}: each public choice of `TrainOptions.optimizer` (`"sgd"`, `"adam"`,
 *   `"adamw"`), its defaults and the checks of its options, turned into the executors' step
 *   (`SgdStep` or `AdamStep`, see `backend.ts`);
 * - {@link OPTIMIZER_STATE}: the state tensors every executor keeps per trained parameter `p`,
 *   named `p.m` and `p.v` ({@link stateName});
 * - {@link STEP_KINDS}: for each step kind, the state tensors its update uses and its update of
 *   one parameter on the host (the `cpu/` loops); {@link hostUpdate} is the loop over the
 *   parameters shared by the `cpu` and `native` executors.
 *
 * The WebGPU kernels of each step kind are the table of `backends/webgpu/optimizers.ts`, keyed
 * by the same {@link StepKind}. Adding an optimiser adds an entry to each table; a missing
 * entry is a compile error.
 *
 * @module
 */
import type { AdamStep, ParamSpec, SgdStep, StepOptions } from "./backend.ts";
import type { TrainOptions } from "./model.ts";
import { sgdMomentumUpdate, sgdUpdate } from "../cpu/sgd.ts";
import { adamUpdate } from "../cpu/adam.ts";
import type { FloatArray } from "../cpu/types.ts";
import { checkNumber } from "./validate.ts";

/** The public names of the optimisers (`TrainOptions.optimizer`). */
export type OptimizerName = NonNullable<TrainOptions["optimizer"]>;

/** The step an executor receives: one of the step kinds with its hyper-parameters. */
export type OptimizerStep = SgdStep | AdamStep;

/** The step kinds the executors implement (AdamW is an `"adam"` step with `decoupled`). */
export type StepKind = OptimizerStep["kind"];

/** The step of kind `K`. */
export type StepOf<K extends StepKind> = Extract<OptimizerStep, { kind: K }>;

/** One public optimiser choice: its default learning rate, and how its options are read. */
export interface OptimizerChoice {
  /** The learning rate when `TrainOptions.learningRate` is not given. */
  learningRate: number;
  /**
   * Checks the choice's own options (refusing another optimiser's) and builds the step.
   *
   * @param o The caller's options (already checked to be an object or undefined).
   * @param what Names the call in errors, e.g. `trainStep`.
   * @param learningRate The checked learning rate.
   */
  step(o: TrainOptions | undefined, what: string, learningRate: number): OptimizerStep;
}

const ADAM_ONLY = ["beta1", "beta2", "epsilon", "weightDecay"] as const;

/** Adam (`decoupled` false, PyTorch's `Adam`) or AdamW (true, PyTorch's `AdamW`). */
function adam(name: OptimizerName, decoupled: boolean, weightDecay: number): OptimizerChoice {
  return {
    learningRate: 0.001,
    step: (o, what, learningRate) => {
      if (o?.momentum !== undefined) {
        throw new RangeError(`${what}: momentum is an SGD option, but the optimizer is "${name}"`);
      }
      const beta1 = checkNumber(o?.beta1, `${what}: beta1`, "[0, 1)", 0.9);
      const beta2 = checkNumber(o?.beta2, `${what}: beta2`, "[0, 1)", 0.999);
      const epsilon = checkNumber(o?.epsilon, `${what}: epsilon`, "positive", 1e-8);
      const wd = checkNumber(o?.weightDecay, `${what}: weightDecay`, "non-negative", weightDecay);
      return {
        kind: "adam",
        learningRate,
        beta1,
        beta2,
        epsilon,
        weightDecay: wd,
        decoupled,
      };
    },
  };
}

/**
 * Every public optimiser, in the order error messages list them: PyTorch's defaults, and the
 * options each accepts.
 *
 * @example
 * ```ts
 * import { OPTIMIZERS } from "./optimizers.ts";
 *
 * const step = OPTIMIZERS.adamw.step({ beta1: 0.8 }, "trainStep", 0.01);
 * console.log(OPTIMIZERS.adamw.learningRate, step);
 * // 0.001 { kind: "adam", learningRate: 0.01, beta1: 0.8, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, decoupled: true }
 * ```
 */
export const OPTIMIZERS: Readonly<Record<OptimizerName, OptimizerChoice>> = {
  sgd: {
    learningRate: 0.1,
    step: (o, what, learningRate) => {
      const given = ADAM_ONLY.filter((k) => o?.[k] !== undefined);
      if (given.length) {
        throw new RangeError(
          `${what}: ${given.join(", ")}: Adam options, but the optimizer is "sgd"`,
        );
      }
      const momentum = checkNumber(o?.momentum, `${what}: momentum`, "[0, 1)", 0);
      return { kind: "sgd", learningRate, momentum };
    },
  },
  adam: adam("adam", false, 0),
  adamw: adam("adamw", true, 0.01),
};

/** The names of {@link OPTIMIZERS}, in order. */
export const OPTIMIZER_NAMES = Object.keys(OPTIMIZERS) as OptimizerName[];

/**
 * The optimiser state tensors of a trained parameter `p`, `p.<name>`, kept by every executor
 * whatever the step kind (zeros until a step uses them): `m`, SGD's momentum buffer (as
 * PyTorch's `momentum_buffer`) or Adam's first moment; `v`, Adam's second moment.
 */
export const OPTIMIZER_STATE = ["m", "v"] as const;

/** One of {@link OPTIMIZER_STATE}. */
export type StateName = (typeof OPTIMIZER_STATE)[number];

/**
 * The name of a state tensor of a parameter.
 *
 * @param param The parameter's plan name.
 * @param state Which state tensor.
 * @returns `<param>.<state>`.
 *
 * @example
 * ```ts
 * import { stateName } from "./optimizers.ts";
 * console.log(stateName("conv0.weight", "m")); // "conv0.weight.m"
 * ```
 */
export function stateName(param: string, state: StateName): string {
  return `${param}.${state}`;
}

/** How one step kind runs on the host. */
export interface StepKindInfo<K extends StepKind> {
  /** The state tensors its update reads and writes, in the order {@link host} gets them. */
  state: readonly StateName[];
  /**
   * Updates one parameter in place (and its state tensors).
   *
   * @param o The step's hyper-parameters.
   * @param step The 1-based step number (Adam's `t`).
   * @param value The parameter.
   * @param grad Its gradient.
   * @param state Its state tensors, as listed by {@link state}.
   */
  host(o: StepOf<K>, step: number, value: FloatArray, grad: FloatArray, state: FloatArray[]): void;
}

/**
 * Every step kind: its state tensors and its host update (the `cpu/` reference loops).
 *
 * @example
 * ```ts
 * import { STEP_KINDS } from "./optimizers.ts";
 *
 * const p = Float32Array.of(1), m = new Float32Array(1);
 * STEP_KINDS.sgd.host({ kind: "sgd", learningRate: 0.5, momentum: 0.9 }, 1, p, Float32Array.of(2), [m]);
 * console.log(STEP_KINDS.sgd.state, p[0], m[0]); // [ "m" ] 0 2
 * ```
 */
export const STEP_KINDS: { readonly [K in StepKind]: StepKindInfo<K> } = {
  sgd: {
    state: ["m"],
    host: (o, _step, value, grad, [m]) => {
      if (o.momentum > 0) sgdMomentumUpdate(value, grad, m, o.learningRate, o.momentum);
      else sgdUpdate(value, grad, o.learningRate);
    },
  },
  adam: {
    state: ["m", "v"],
    host: (o, step, value, grad, [m, v]) => adamUpdate(value, grad, m, v, { ...o, step }),
  },
};

/** The host tensors of {@link hostUpdate}, by plan name. */
export interface HostTensors {
  /** Trained parameters. */
  values: ReadonlyMap<string, FloatArray>;
  /** Their gradients. */
  grads: ReadonlyMap<string, FloatArray>;
  /** The optimiser state, by {@link stateName}. */
  state: ReadonlyMap<string, FloatArray>;
}

/**
 * The optimiser's update of every trained parameter, in plan order, on host tensors (the
 * `cpu` and `native` executors).
 *
 * @param params The trained parameters (`plan.params`; never the state tensors).
 * @param tensors The parameters, gradients and optimiser state by name.
 * @param options The step: its optimiser and step number.
 *
 * @example
 * ```ts
 * import { hostUpdate } from "./optimizers.ts";
 *
 * const spec = { name: "w", shape: [1], init: { kind: "zeros" as const } };
 * const values = new Map([["w", Float32Array.of(1)]]);
 * const grads = new Map([["w", Float32Array.of(2)]]);
 * const state = new Map([["w.m", new Float32Array(1)], ["w.v", new Float32Array(1)]]);
 * hostUpdate([spec], { values, grads, state }, {
 *   optimizer: { kind: "sgd", learningRate: 0.25, momentum: 0 },
 *   step: 1,
 *   seed: 0,
 *   readLoss: true,
 * });
 * console.log(values.get("w")![0]); // 0.5
 * ```
 */
export function hostUpdate(
  params: readonly ParamSpec[],
  tensors: HostTensors,
  options: StepOptions,
): void {
  const o = options.optimizer;
  const kind = STEP_KINDS[o.kind] as StepKindInfo<StepKind>;
  for (const p of params) {
    kind.host(
      o,
      options.step,
      tensors.values.get(p.name)!,
      tensors.grads.get(p.name)!,
      kind.state.map((s) => tensors.state.get(stateName(p.name, s))!),
    );
  }
}
