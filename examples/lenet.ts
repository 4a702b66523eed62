/**
 * The Theano tutorial's LeNet on MNIST (`evaluate_lenet5` of convolutional_mlp.py):
 * two conv + max-pool + tanh layers (20 and 50 kernels of 5x5), a 500-unit tanh
 * hidden layer, a softmax over 10 classes, minibatch SGD with early stopping.
 *
 *   deno run -A examples/lenet.ts --data ../shared/data/mnist
 *   deno run -A examples/lenet.ts --help
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Dataset, lenet5, NonFiniteError, Sequential } from "../mod.ts";
import type { BackendName } from "../src/backend.ts";
import {
  FLAG_OF,
  readTrainingCheckpoint,
  type Settings,
  type TrainingCheckpoint,
  type TrainState,
  writeTrainingCheckpoint,
} from "./_training_state.ts";
import { usePrivateRuntimeDir } from "./_runtime_dir.ts";
import { checkWritable, loadData, main, UsageError } from "./_cli.ts";

const USAGE = `Train the Theano tutorial's LeNet on MNIST.

Usage: deno run -A examples/lenet.ts [options]

Data
  --data DIR            folder with the four MNIST files (train-images-idx3-ubyte.gz, ...);
                        without it they are downloaded once into a cache and verified (SHA-256)
  --dataset NAME        mnist (default) or fashion-mnist
  --limit N             use only the first N training images (quick runs)
Model and training (defaults are the tutorial's)
  --backend NAME        auto (default), webgpu, native or cpu
  --epochs N            at most N epochs (200)
  --batch-size N        minibatch size (500)
  --lr X                learning rate (0.1)
  --lr-decay X          multiply the learning rate by X after every epoch (1 = off)
  --momentum X          classical momentum (0 = the tutorial's plain SGD)
  --kernels A,B         kernels of the two conv layers (20,50)
  --hidden N            hidden units (500)
  --patience N          early-stopping patience in iterations (10000)
  --seed N              RandomState seed of the initial weights (23455)
  --convention NAME     tutorial (default): exactly the tutorial's start, pixels k/256 as in its
                        mnist.pkl.gz, the drawn conv kernels flipped (Theano's conv2d is a
                        true convolution) and a max-pool window's gradient given to every
                        tied maximum (Theano's MaxPoolGrad); usual: pixels k/255, the draws
                        used unflipped, the gradient to the first maximum (PyTorch)
Checkpoints
  --save PATH           write a safetensors checkpoint after every epoch (atomically): weights,
                        momentum buffers, learning rate, epoch, patience, best validation, test
                        score
  --resume PATH         continue training from a checkpoint written by --save, exactly where it
                        stopped; its settings are kept (a flag that contradicts them is refused)
  --help                show this text
`;

/** The example's settings, from the command line. */
export interface Config {
  backend: "auto" | BackendName;
  epochs: number;
  batchSize: number;
  lr: number;
  lrDecay: number;
  momentum: number;
  kernels: [number, number];
  hidden: number;
  patience: number;
  seed: number;
  convention: "tutorial" | "usual";
  data?: string;
  dataset: "mnist" | "fashion-mnist";
  limit?: number;
  save?: string;
  resume?: string;
  /** The flags given on the command line (the others hold defaults). */
  given: string[];
}

/** Thrown for bad command lines; main prints it with the usage. */
export { UsageError };

function int(
  name: string,
  v: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be an integer >= ${min}${
        max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""
      }, got "${v}"`,
    );
  }
  return n;
}

function num(name: string, v: string | undefined, ok: (x: number) => boolean, what: string) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || !ok(n)) {
    throw new UsageError(`--${name} must be ${what}, got "${v}"`);
  }
  return n;
}

/**
 * Parses the command line into a configuration.
 *
 * @param args The arguments (Deno.args).
 * @returns The configuration, or `"help"`.
 */
export function parseConfig(args: string[]): Config | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        backend: { type: "string" },
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        lr: { type: "string" },
        "lr-decay": { type: "string" },
        momentum: { type: "string" },
        kernels: { type: "string" },
        hidden: { type: "string" },
        patience: { type: "string" },
        seed: { type: "string" },
        convention: { type: "string" },
        data: { type: "string" },
        dataset: { type: "string" },
        limit: { type: "string" },
        save: { type: "string" },
        resume: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  const backend = v.backend ?? "auto";
  if (!["auto", "webgpu", "native", "cpu"].includes(backend)) {
    throw new UsageError(`--backend must be auto, webgpu, native or cpu, got "${backend}"`);
  }
  const dataset = v.dataset ?? "mnist";
  if (dataset !== "mnist" && dataset !== "fashion-mnist") {
    throw new UsageError(`--dataset must be mnist or fashion-mnist, got "${dataset}"`);
  }
  const convention = v.convention ?? "tutorial";
  if (convention !== "tutorial" && convention !== "usual") {
    throw new UsageError(`--convention must be tutorial or usual, got "${convention}"`);
  }
  let kernels: [number, number] = [20, 50];
  if (v.kernels !== undefined) {
    const parts = v.kernels.split(",");
    if (parts.length !== 2) throw new UsageError(`--kernels takes two numbers like 20,50`);
    kernels = [int("kernels", parts[0], 1)!, int("kernels", parts[1], 1)!];
  }
  return {
    backend: backend as Config["backend"],
    epochs: int("epochs", v.epochs, 1) ?? 200,
    batchSize: int("batch-size", v["batch-size"], 1) ?? 500,
    lr: num("lr", v.lr, (x) => x > 0, "a positive number") ?? 0.1,
    lrDecay: num("lr-decay", v["lr-decay"], (x) => x > 0 && x <= 1, "in (0, 1]") ?? 1,
    momentum: num("momentum", v.momentum, (x) => x >= 0 && x < 1, "in [0, 1)") ?? 0,
    kernels,
    hidden: int("hidden", v.hidden, 1) ?? 500,
    patience: int("patience", v.patience, 1) ?? 10000,
    seed: int("seed", v.seed, 0, 2 ** 32 - 1) ?? 23455, // RandomState takes 32-bit seeds
    convention,
    data: v.data,
    dataset,
    limit: int("limit", v.limit, 1),
    save: v.save,
    resume: v.resume,
    given: Object.keys(v).filter((k) => v[k as keyof typeof v] !== undefined),
  };
}

/**
 * The factor applied to each pixel byte: the tutorial's `mnist.pkl.gz` holds `k / 256`
 * (largest value 255/256, the LISA lab's conversion); the usual convention is `k / 255`.
 *
 * @param convention `"tutorial"` or `"usual"`.
 * @returns The scale for `createDataset`.
 */
export function pixelScale(convention: Config["convention"]): number {
  return convention === "tutorial" ? 1 / 256 : 1 / 255;
}

/** Creates the model on the requested backend, or with `auto` on the fastest one that works. */
async function createModel(c: Config, log: (line: string) => void): Promise<Sequential> {
  const model = await Sequential.create({
    inputShape: [1, 28, 28],
    // the tutorial's convention: Theano's LeNetConvPoolLayer, tanh(pool(conv(x)) + b), with
    // the max-pool gradient going to every tied maximum
    layers: lenet5({ kernels: c.kernels, hidden: c.hidden, convention: c.convention }),
    batchSize: c.batchSize,
    seed: c.seed,
    theanoKernels: c.convention === "tutorial",
    backend: c.backend,
  });
  // The full reason: the choice, then every backend skipped with its whole message.
  if (c.backend === "auto") log(`... backend ${model.backendReason.replaceAll("\n", "\n    ")}`);
  return model;
}

function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h
    ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`
    : `${m}:${String(r).padStart(2, "0")}`;
}

/** A one-line progress bar on a terminal; silent otherwise. */
class Progress {
  readonly #tty = Deno.stderr.isTerminal();
  readonly #enc = new TextEncoder();
  #shown = false;
  update(done: number, total: number, imagesPerSec: number, loss: number, epochEta: number) {
    if (!this.#tty) return;
    const width = 30;
    const fill = Math.round((done / total) * width);
    const bar = "#".repeat(fill) + ".".repeat(width - fill);
    const lossText = Number.isNaN(loss) ? "" : ` loss ${loss.toFixed(4)}`;
    const line = `\r[${bar}] ${done}/${total} ${imagesPerSec.toFixed(0)} img/s ETA ${
      fmtDuration(epochEta)
    }${lossText}\x1b[K`;
    Deno.stderr.writeSync(this.#enc.encode(line));
    this.#shown = true;
  }
  clear() {
    if (this.#shown) Deno.stderr.writeSync(this.#enc.encode("\r\x1b[K"));
    this.#shown = false;
  }
}

/** The settings a checkpoint records, from the configuration. */
function settingsOf(c: Config): Settings {
  return {
    kernels: c.kernels,
    hidden: c.hidden,
    convention: c.convention,
    seed: c.seed,
    batchSize: c.batchSize,
    lr: c.lr,
    lrDecay: c.lrDecay,
    momentum: c.momentum,
    patience: c.patience,
    dataset: c.dataset,
    limit: c.limit ?? null,
    order: "sequential",
  };
}

/**
 * The configuration of a resumed run: the checkpoint's settings. A flag given on the command
 * line that contradicts them is refused; the ones not given are taken from the checkpoint.
 */
function resumedConfig(c: Config, ck: TrainingCheckpoint, log: (line: string) => void): Config {
  const mine = settingsOf(c) as unknown as Record<string, unknown>;
  const theirs = ck.settings as Record<string, unknown>;
  const conflicts: string[] = [], taken: string[] = [], missing: string[] = [];
  const out = { ...c } as unknown as Record<string, unknown>;
  const show = (v: unknown) => Array.isArray(v) ? v.join(",") : v === null ? "none" : String(v);
  for (const [key, flag] of Object.entries(FLAG_OF)) {
    if (theirs[key] === undefined) {
      missing.push(`--${flag}`);
      continue;
    }
    if (JSON.stringify(mine[key]) === JSON.stringify(theirs[key])) continue;
    if (c.given.includes(flag)) {
      conflicts.push(`--${flag} ${show(mine[key])} (the checkpoint has ${show(theirs[key])})`);
    } else {
      out[key] = theirs[key] ?? undefined;
      taken.push(`--${flag} ${show(theirs[key])}`);
    }
  }
  if (conflicts.length) {
    throw new UsageError(
      `--resume ${c.resume} was trained with other settings: ${conflicts.join(", ")}. ` +
        `A resumed run goes on with the checkpoint's settings: drop these flags, or start a new run`,
    );
  }
  if (taken.length) log(`... settings from the checkpoint: ${taken.join(" ")}`);
  if (missing.length) {
    log(
      `... ${c.resume} is an older checkpoint (${ck.format}): ${missing.join(" ")} not recorded ` +
        `in it, taken from the command line${
          ck.optimizer ? "" : "; momentum buffers start at zero"
        }`,
    );
  }
  return out as unknown as Config;
}

/**
 * Runs the tutorial's training loop and prints what the tutorial prints.
 *
 * @param c The configuration.
 */
export async function run(
  c: Config,
  log: (line: string) => void = console.log,
): Promise<{ bestValidation: number; testScore: number; epochs: number; bestIter: number }> {
  usePrivateRuntimeDir(); // before any adapter request: no Mesa warning about XDG_RUNTIME_DIR
  if (c.save) await checkWritable(c.save);
  const resumed = c.resume ? await readTrainingCheckpoint(c.resume) : null;
  if (resumed) c = resumedConfig(c, resumed, log);
  const data = await loadData(c.dataset, c.data, log);
  const train = data.train;
  const trainCount = Math.min(train.count, c.limit ?? train.count);
  const nTrain = Math.floor(trainCount / c.batchSize);
  if (nTrain < 1) {
    throw new UsageError(`--batch-size ${c.batchSize} exceeds the ${trainCount} training images`);
  }
  log("... building the model");
  const model = await createModel(c, log);
  const [, height, width] = model.plan.inputShape;
  if (train.height !== height || train.width !== width) {
    model.dispose();
    throw new Error(
      `wrong image size: the data's images are ${train.height}x${train.width}, this LeNet ` +
        `takes ${height}x${width} images (MNIST's)`,
    );
  }
  const scale = pixelScale(c.convention);
  log(
    c.convention === "tutorial"
      ? "... the tutorial's convention: pixels k/256, drawn conv kernels flipped as Theano's " +
        "conv2d uses them, max-pool gradient to every tied maximum"
      : "... the usual convention: pixels k/255, drawn conv kernels used as cross-correlation weights",
  );
  const trainDs = model.createDataset(
    train.images.subarray(0, trainCount * train.height * train.width),
    train.labels.subarray(0, trainCount),
    { scale },
  );
  const validDs = model.createDataset(data.valid.images, data.valid.labels, { scale });
  const testDs = model.createDataset(data.test.images, data.test.labels, { scale });

  const patienceIncrease = 2, improvementThreshold = 0.995;
  const validationFrequency = Math.max(1, Math.min(nTrain, Math.floor(c.patience / 2)));
  let s: TrainState = {
    epoch: 0,
    iteration: 0,
    bestValidation: Infinity,
    bestIter: 0,
    testScore: 0,
    patience: c.patience,
    lr: c.lr,
    stopped: false,
  };
  if (resumed) {
    try {
      await model.setWeights(resumed.weights);
      if (resumed.optimizer) await model.setOptimizerState(resumed.optimizer);
    } catch (e) {
      throw new Error(`${c.resume} does not fit this model: ${(e as Error).message}`);
    }
    if (c.momentum > 0 && !resumed.optimizer) {
      log(`... ${c.resume} holds no momentum buffers: momentum restarts from zero`);
    }
    s = resumed.state;
    if (s.iteration < 0) s.iteration = s.epoch * nTrain; // older checkpoints
    log(
      `... resumed from ${c.resume} after epoch ${s.epoch} (best validation ${
        (s.bestValidation * 100).toFixed(6)
      } %, learning rate ${s.lr})`,
    );
    if (s.stopped) log(`... its run had already ended by early stopping: nothing to train`);
    else if (s.epoch >= c.epochs) {
      log(`... it is already at --epochs ${c.epochs}: nothing to train`);
    }
  }
  log("... training");
  const progress = new Progress();
  const start = performance.now();
  let done = s.stopped;
  let savedEpoch = 0; // the epoch of the last checkpoint this run wrote
  while (s.epoch < c.epochs && !done) {
    const epoch = s.epoch + 1;
    const epochStart = performance.now();
    for (let mb = 0; mb < nTrain; mb++) {
      const iter = (epoch - 1) * nTrain + mb;
      const validate = (iter + 1) % validationFrequency === 0;
      // WebGPU runs ahead without reading the loss; it reads (and so checks for non-finite
      // values) every 10th minibatch, before every validation, at the end of an epoch and
      // before early stopping, so nothing non-finite is validated or saved.
      const readLoss = model.backend !== "webgpu" || mb % 10 === 9 || mb === nTrain - 1 ||
        validate || s.patience <= iter;
      let loss: number;
      try {
        loss = await model.trainBatch(trainDs, mb * c.batchSize, c.batchSize, {
          learningRate: s.lr,
          momentum: c.momentum,
          readLoss,
        });
      } catch (e) {
        if (!(e instanceof NonFiniteError)) throw e;
        progress.clear();
        const kept = savedEpoch
          ? `The last good checkpoint, ${c.save} (after epoch ${savedEpoch}), is left untouched.`
          : `No checkpoint was written${c.resume ? ` (${c.resume} is left untouched)` : ""}.`;
        throw new Error(
          `training stopped at epoch ${epoch}, minibatch ${mb + 1}: ${e.message} (--lr). ${kept}`,
          { cause: e },
        );
      }
      s.iteration = iter + 1;
      const elapsed = (performance.now() - epochStart) / 1000;
      progress.update(
        mb + 1,
        nTrain,
        ((mb + 1) * c.batchSize) / elapsed,
        loss,
        (elapsed / (mb + 1)) * (nTrain - mb - 1),
      );
      if (validate) {
        const v = (await model.evaluateDataset(validDs)).errorRate;
        progress.clear();
        log(
          `epoch ${epoch}, minibatch ${mb + 1}/${nTrain}, validation error ${
            (v * 100).toFixed(6)
          } %`,
        );
        if (v < s.bestValidation) {
          if (v < s.bestValidation * improvementThreshold) {
            s.patience = Math.max(s.patience, iter * patienceIncrease);
          }
          s.bestValidation = v;
          s.bestIter = iter;
          s.testScore = (await model.evaluateDataset(testDs)).errorRate;
          log(
            `     epoch ${epoch}, minibatch ${mb + 1}/${nTrain}, test error of best model ${
              (s.testScore * 100).toFixed(6)
            } %`,
          );
        }
      }
      if (s.patience <= iter) {
        done = true;
        break;
      }
    }
    s.epoch = epoch;
    s.lr *= c.lrDecay;
    s.stopped = done;
    if (c.save) {
      await writeTrainingCheckpoint(c.save, model, settingsOf(c), s);
      savedEpoch = epoch;
    }
  }
  progress.clear();
  const minutes = (performance.now() - start) / 60000;
  log("Optimization complete.");
  log(
    `Best validation score of ${(s.bestValidation * 100).toFixed(6)} % obtained at iteration ${
      s.bestIter + 1
    }, with test performance ${(s.testScore * 100).toFixed(6)} %`,
  );
  log(
    `The code for file lenet.ts ran for ${minutes.toFixed(2)}m (backend ${model.backend})`,
  );
  for (const ds of [trainDs, validDs, testDs] as Dataset[]) ds.dispose();
  model.dispose();
  return {
    bestValidation: s.bestValidation,
    testScore: s.testScore,
    epochs: s.epoch,
    bestIter: s.bestIter + 1,
  };
}

if (import.meta.main) await main(parseConfig, (c) => run(c), USAGE);
