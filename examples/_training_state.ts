/**
 * The LeNet example's checkpoints: the whole training state in one safetensors file, so that
 * a run resumed at an epoch boundary continues exactly (bit for bit) as if never stopped.
 *
 * Tensors: every parameter under its name, and with momentum the optimiser state as
 * `velocity.<name>`: `velocity.<param>.m`, the SGD momentum buffers in PyTorch's convention
 * (`buf = μ·buf + g; p −= lr·buf`), `velocity.<param>.v` and `velocity.step`. Metadata
 * (`format` "lenet-webgpu/3"): `settings` (what the flags set: architecture, convention, seed,
 * batch size, learning rate and its decay, momentum, patience, data set and limit, the data
 * order) and `state` (epochs done, iterations done, the next epoch's learning rate, patience,
 * best validation and its iteration, test score, whether early stopping ended the run).
 *
 * Older formats are still read: "lenet-webgpu/2" holds the velocities of the old rule
 * (`v = μ·v − lr·g; p += v`; files of version 0.1 as `velocity.<param>` alone), converted on
 * load ({@link readTrainingCheckpoint}); "lenet-webgpu/1" holds no velocities and only part of
 * the settings (as `config`) and of the state.
 *
 * @module
 */
import type { Sequential, Tensor } from "../mod.ts";
import { saveCheckpoint } from "../src/checkpoint_deno.ts";
import { firstNonFinite } from "../src/validate.ts";
import {
  boolean,
  type Check,
  count,
  fraction,
  metadataJson,
  numberCheck,
  oneOf,
  optional,
  orNull,
  positive,
  positiveInt,
  readCheckpoint,
  readFields,
  seed,
} from "./_checkpoint.ts";

/** The checkpoint format written by {@link writeTrainingCheckpoint}. */
export const FORMAT = "lenet-webgpu/3";

/** Settings fixed for a whole run; a resumed run must use the same. */
export interface Settings {
  kernels: [number, number];
  hidden: number;
  convention: "tutorial" | "usual";
  seed: number;
  batchSize: number;
  lr: number;
  lrDecay: number;
  momentum: number;
  patience: number;
  dataset: "mnist" | "fashion-mnist";
  limit: number | null;
  /** The minibatch order: the tutorial's, minibatch k of every epoch is samples [kB, (k+1)B). */
  order: "sequential";
}

/** Where training stands. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Minibatches trained in all (the position in the data order). */
  iteration: number;
  /** The learning rate of the next epoch (decay applied). */
  lr: number;
  /** Early stopping: the iteration up to which training goes on. */
  patience: number;
  /** Best validation error so far (Infinity before the first validation). */
  bestValidation: number;
  /** Iteration (0-based) of the best validation. */
  bestIter: number;
  /** Test error of the best model. */
  testScore: number;
  /** True when early stopping ended the run. */
  stopped: boolean;
}

/** Flag names of the settings, for messages. */
export const FLAG_OF: Record<Exclude<keyof Settings, "order">, string> = {
  kernels: "kernels",
  hidden: "hidden",
  convention: "convention",
  seed: "seed",
  batchSize: "batch-size",
  lr: "lr",
  lrDecay: "lr-decay",
  momentum: "momentum",
  patience: "patience",
  dataset: "dataset",
  limit: "limit",
};

/**
 * Writes the model's parameters, momentum buffers (with momentum) and the state, atomically.
 * Refuses to write non-finite values (the previous file stays as it was).
 */
export async function writeTrainingCheckpoint(
  path: string,
  model: Sequential,
  settings: Settings,
  state: TrainState,
): Promise<void> {
  const tensors: Record<string, Tensor> = { ...await model.getWeights() };
  if (settings.momentum > 0) {
    for (const [name, t] of Object.entries(await model.getOptimizerState())) {
      tensors[`velocity.${name}`] = t;
    }
  }
  for (const [name, t] of Object.entries(tensors)) {
    const i = firstNonFinite(t.data);
    if (i >= 0) {
      throw new Error(
        `not saving ${path}: tensor "${name}" holds ${
          t.data[i]
        } at index ${i}; the file is left as it was`,
      );
    }
  }
  await saveCheckpoint(path, tensors, {
    format: FORMAT,
    settings: JSON.stringify(settings),
    state: JSON.stringify({
      epoch: state.epoch,
      iteration: state.iteration,
      lr: state.lr,
      patience: state.patience,
      bestValidation: Number.isFinite(state.bestValidation) ? state.bestValidation : null,
      bestIter: state.bestIter,
      testScore: state.testScore,
      stopped: state.stopped,
    }),
  });
}

/** A checkpoint read back: settings, state, parameters and momentum buffers. */
export interface TrainingCheckpoint {
  /** The run's settings (undefined fields: a format 1 checkpoint did not record them). */
  settings: Partial<Settings>;
  state: TrainState;
  weights: Record<string, Tensor>;
  /**
   * The optimiser state for `Sequential.setOptimizerState`, in the library's convention (an
   * older file's velocities converted, see {@link momentumBuffers}); null without momentum.
   */
  optimizer: Record<string, Tensor> | null;
  /** The format found, e.g. "lenet-webgpu/1" for an older file. */
  format: string;
}

/** What each setting must be. */
const SETTINGS = {
  kernels: {
    what: "two positive integers",
    ok: (v: unknown): v is [number, number] =>
      Array.isArray(v) && v.length === 2 && v.every((k) => positiveInt.ok(k)),
  },
  hidden: positiveInt,
  convention: oneOf("tutorial", "usual"),
  seed,
  batchSize: positiveInt,
  lr: positive,
  lrDecay: numberCheck("in (0, 1]", (x) => x > 0 && x <= 1),
  momentum: numberCheck("in [0, 1)", (x) => x >= 0 && x < 1),
  patience: positiveInt,
  dataset: oneOf("mnist", "fashion-mnist"),
  limit: orNull(positiveInt),
  order: oneOf("sequential"),
} satisfies { [K in keyof Settings]: Check<Settings[K]> };

/** Format 1 recorded some settings (under "config"): each may be missing. */
const SETTINGS_1 = Object.fromEntries(
  Object.entries(SETTINGS).map(([k, check]) => [k, optional<unknown>(check)]),
) as { [K in keyof Settings]: Check<Settings[K] | undefined> };

/** What each field of the state must be. */
const STATE = {
  epoch: count,
  iteration: count,
  lr: positive,
  patience: count,
  bestValidation: orNull(fraction),
  bestIter: count,
  testScore: fraction,
  stopped: boolean,
};

/** Format 1 did not record the iteration nor whether early stopping ended the run. */
const STATE_1 = { ...STATE, iteration: optional(count), stopped: optional(boolean) };

/**
 * Reads a checkpoint written by {@link writeTrainingCheckpoint} (or by an older format: 2, or
 * 1, which held the weights and part of the state and settings). Refuses non-finite tensors,
 * naming them, and corrupt metadata, naming the file and the key. The momentum velocities of
 * a format 2 file are converted to the library's momentum buffers ({@link momentumBuffers}).
 *
 * @param path The checkpoint file.
 * @returns Its settings, state, weights and optimiser state.
 */
export async function readTrainingCheckpoint(path: string): Promise<TrainingCheckpoint> {
  const { format, metadata, weights, optimizer } = await readCheckpoint(
    path,
    [FORMAT, "lenet-webgpu/2", "lenet-webgpu/1"],
    "velocity.",
  );
  const v1 = format === "lenet-webgpu/1";
  const s = readFields(path, "state", metadataJson(path, metadata, "state"), v1 ? STATE_1 : STATE);
  const key = v1 ? "config" : "settings";
  const settings: Partial<Settings> = readFields(
    path,
    key,
    metadataJson(path, metadata, key),
    v1 ? SETTINGS_1 : SETTINGS,
  );
  const state: TrainState = {
    ...s,
    iteration: s.iteration ?? -1, // format 1: lenet.ts counts epoch × minibatches per epoch
    bestValidation: s.bestValidation ?? Infinity,
    stopped: s.stopped ?? false,
  };
  const converted = optimizer && format === "lenet-webgpu/2"
    ? momentumBuffers(optimizer, lastRate(settings as Settings, state), state.iteration)
    : optimizer;
  const renamed = format !== FORMAT && settings.convention === "tutorial";
  return {
    settings,
    state,
    weights: renamed ? tutorialBiasNames(weights) : weights,
    optimizer: renamed && converted ? tutorialBiasNames(converted) : converted,
    format,
  };
}

/**
 * Up to format 2 the tutorial convention's LeNet had each convolution's bias in the
 * convolution (`conv0.bias`, `conv1.bias`, added before the max pooling); since format 3 it is
 * Theano's layer, a Bias after the pooling (`bias0.bias`, `bias1.bias`). The forward values
 * are the same (max(x + b) = max(x) + b), so an older file's biases are renamed; the training
 * goes on with Theano's tie rule.
 */
function tutorialBiasNames(tensors: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    out[name.replace(/^conv([01])\.bias(?=$|\.)/, "bias$1.bias")] = t;
  }
  return out;
}

/**
 * The learning rate of the last step before the save. lenet.ts trains epoch e at
 * `lr · lrDecay^(e − 1)` and multiplies its rate by `lrDecay` at the END of every epoch,
 * before it saves: a checkpoint's `state.lr` is already the NEXT epoch's rate, and the last
 * step's is `state.lr / lrDecay`. That division may miss the rate by one unit in the last
 * place; the loop's own product, `settings.lr` multiplied by `lrDecay` `epoch − 1` times one
 * after the other, is the rate bit for bit, and is taken when it gives `state.lr` again (it
 * always does, unless `state.lr` was edited by hand: then the division honours the edit).
 */
function lastRate(settings: Settings, state: TrainState): number {
  let lr = settings.lr;
  for (let e = 1; e < state.epoch; e++) lr *= settings.lrDecay;
  return lr * settings.lrDecay === state.lr ? lr : state.lr / settings.lrDecay;
}

/**
 * Converts the velocities of a format 2 file to the library's momentum buffers. Up to format
 * 2 the library's SGD momentum was `v = μ·v − lr·g; p += v` and the file holds v (as
 * `<param>.m`, with `<param>.v` and `step`; a file of version 0.1 as `<param>` alone). Since
 * format 3 it is PyTorch's `buf = μ·buf + g; p −= lr·buf`, the file holding buf. At a constant
 * rate the two rules are one run with `buf = −v / lr`; the rate was constant through the last
 * epoch before the save, so `buf = −v / lrLast` with `lrLast` the rate of the last step
 * ({@link lastRate}): the buffer the new rule would hold had it taken the last epoch's steps.
 * (Under `--lr-decay` the terms of v from earlier epochs were taken at larger rates, so they
 * come out larger by the decay between; they are damped by μ^(minibatches per epoch) or more.)
 *
 * @param velocities The tensors under "velocity.", prefix removed.
 * @param lrLast The rate of the last step before the save.
 * @param steps The steps taken (for a 0.1 file's missing `step`).
 */
function momentumBuffers(
  velocities: Record<string, Tensor>,
  lrLast: number,
  steps: number,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const scaled = (t: Tensor): Tensor => ({
    shape: t.shape,
    data: t.data.map((x) => -x / lrLast),
  });
  for (const [name, t] of Object.entries(velocities)) {
    if (name === "step" || name.endsWith(".v")) {
      out[name] = t;
    } else if (name.endsWith(".m")) {
      out[name] = scaled(t);
    } else { // version 0.1: the velocity under the parameter's name, no .v nor step
      out[`${name}.m`] = scaled(t);
      out[`${name}.v`] = { shape: t.shape, data: new Float32Array(t.data.length) };
      out.step ??= { shape: [1], data: Float32Array.of(steps) };
    }
  }
  return out;
}
