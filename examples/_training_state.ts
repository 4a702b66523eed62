/**
 * The LeNet example's checkpoints: the whole training state in one safetensors file, so that
 * a run resumed at an epoch boundary continues exactly (bit for bit) as if never stopped.
 *
 * Tensors: every parameter under its name, and with momentum the optimiser state as
 * `velocity.<name>` (`velocity.<param>.m`, the velocities; `.v`; `velocity.step`; format 2 files
 * of version 0.1 hold `velocity.<param>`, still read). Metadata (`format` "lenet-webgpu/2"): `settings` (what the flags set:
 * architecture, convention, seed, batch size, learning rate and its decay, momentum,
 * patience, data set and limit, the data order) and `state` (epochs done, iterations done,
 * the current learning rate, patience, best validation and its iteration, test score,
 * whether early stopping ended the run).
 *
 * @module
 */
import type { Sequential, Tensor } from "../mod.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/checkpoint_deno.ts";
import { firstNonFinite } from "../src/validate.ts";

/** The checkpoint format written by {@link writeTrainingCheckpoint}. */
export const FORMAT = "lenet-webgpu/2";

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
 * Writes the model's parameters, velocities (with momentum) and the state, atomically.
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

/** A checkpoint read back: settings, state, parameters and velocities. */
export interface TrainingCheckpoint {
  /** The run's settings (undefined fields: an older checkpoint did not record them). */
  settings: Partial<Settings>;
  state: TrainState;
  weights: Record<string, Tensor>;
  velocities: Record<string, Tensor> | null;
  /** The format found, e.g. "lenet-webgpu/1" for an older file. */
  format: string;
}

function parseJson(path: string, key: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined) {
    throw new Error(`${path} has no "${key}" in its metadata (was it written by --save?)`);
  }
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object") throw new Error(`not an object: ${text.slice(0, 40)}`);
    return v;
  } catch (e) {
    throw new Error(
      `${path}: corrupt "${key}" metadata (not the JSON --save writes): ${(e as Error).message}`,
    );
  }
}

function num(path: string, o: Record<string, unknown>, key: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new Error(`${path}: corrupt training state: "${key}" is ${JSON.stringify(o[key])}`);
  }
  return v;
}

/**
 * Reads a checkpoint written by {@link writeTrainingCheckpoint} (or by the older format 1,
 * which held the weights and part of the state). Refuses non-finite tensors, naming them,
 * and corrupt metadata, naming the file.
 */
export async function readTrainingCheckpoint(path: string): Promise<TrainingCheckpoint> {
  const { tensors, metadata } = await loadCheckpoint(path);
  const format = metadata.format ?? "unknown";
  if (format !== FORMAT && format !== "lenet-webgpu/1") {
    throw new Error(`${path}: unknown checkpoint format "${format}" (expected ${FORMAT})`);
  }
  const weights: Record<string, Tensor> = {};
  let velocities: Record<string, Tensor> | null = null;
  for (const [name, t] of Object.entries(tensors)) {
    const i = firstNonFinite(t.data);
    if (i >= 0) {
      throw new Error(
        `${path}: tensor "${name}" holds ${t.data[i]} at index ${i}: refusing a checkpoint ` +
          `with non-finite values`,
      );
    }
    if (name.startsWith("velocity.")) {
      (velocities ??= {})[name.slice("velocity.".length)] = { shape: t.shape, data: t.data };
    } else {
      weights[name] = { shape: t.shape, data: t.data };
    }
  }
  const s = parseJson(path, "state", metadata.state);
  const settings = parseJson(
    path,
    format === FORMAT ? "settings" : "config",
    format === FORMAT ? metadata.settings : metadata.config,
  ) as Partial<Settings>;
  const best = s.bestValidation === null ? Infinity : num(path, s, "bestValidation");
  const epoch = num(path, s, "epoch");
  const state: TrainState = {
    epoch,
    iteration: num(path, s, "iteration", -1),
    lr: num(path, s, "lr"),
    patience: num(path, s, "patience"),
    bestValidation: best,
    bestIter: num(path, s, "bestIter"),
    testScore: num(path, s, "testScore"),
    stopped: s.stopped === true,
  };
  return { settings, state, weights, velocities, format };
}
