/**
 * A small modern CNN on MNIST or Fashion-MNIST: 3x3 "same" convolutions with batch norm and
 * ReLU, max pooling, a dense layer with batch norm and dropout, trained by AdamW with a cosine
 * learning-rate schedule on shuffled minibatches (on MNIST with random shifts of up to 2
 * pixels). The data flags, the output and the checkpoints are those of `examples/lenet.ts`.
 *
 *   deno run -A examples/modern.ts --data /usr/share/datasets/fashion-mnist --dataset fashion-mnist
 *   deno run -A examples/modern.ts --help
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  BatchNorm1D,
  BatchNorm2D,
  Conv2D,
  Dense,
  Dropout,
  type Layer,
  MaxPool2D,
  NonFiniteError,
  RandomState,
  ReLU,
  Sequential,
  Softmax,
  type Tensor,
} from "../mod.ts";
import type { BackendName } from "../src/backend.ts";
import type { ImageSet } from "../src/data/mnist.ts";
import { saveCheckpoint } from "../src/checkpoint_deno.ts";
import { firstNonFinite } from "../src/validate.ts";
import { usePrivateRuntimeDir } from "./_runtime_dir.ts";
import { checkWritable, loadData, main, UsageError } from "./_cli.ts";
import {
  type Check,
  count,
  type Fields,
  fraction,
  metadataJson,
  numberCheck,
  oneOf,
  orNull,
  positive,
  positiveInt,
  type RawCheckpoint,
  readCheckpoint,
  readFields,
  seed,
} from "./_checkpoint.ts";

const USAGE =
  `Train a small modern CNN (batch norm, ReLU, dropout, AdamW) on MNIST or Fashion-MNIST.

Usage: deno run -A examples/modern.ts [options]

Data
  --data DIR            folder with the four MNIST files (train-images-idx3-ubyte.gz, ...);
                        without it they are downloaded once into a cache and verified (SHA-256)
  --dataset NAME        mnist (default) or fashion-mnist
  --limit N             use only the first N training images (quick runs)
Model and training
  --backend NAME        auto (default), webgpu, native or cpu
  --epochs N            epochs; the cosine schedule ends with the last (8)
  --until N             stop after epoch N (default: --epochs); go on later with --resume
  --batch-size N        minibatch size (128)
  --lr X                peak AdamW learning rate (0.003)
  --weight-decay X      AdamW's decoupled weight decay (0.0005)
  --width N             filters of the first block; the next blocks have 2N and 4N (32)
  --blocks N            convolution blocks, 1 to 3 (2)
  --dropout X           dropout rate before the classifier (0.3)
  --augment NAME        shift (random shifts of up to 2 pixels: mnist's default), shift-flip
                        (and horizontal flips) or none (fashion-mnist's default: in so few
                        epochs the network underfits Fashion-MNIST; see the README)
  --seed N              seed of the initial weights, the data order and the dropout masks (1)
Checkpoints
  --save PATH           write a safetensors checkpoint after every epoch (atomically): weights
                        with batch norm's running averages, the Adam state, the settings and
                        where training stands
  --resume PATH         continue from a checkpoint written by --save, exactly where it stopped
  --help                show this text
`;

/** The example's settings, from the command line. */
export interface ModernConfig {
  backend: "auto" | BackendName;
  epochs: number;
  until?: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  width: number;
  blocks: number;
  dropout: number;
  augment: "none" | "shift" | "shift-flip";
  seed: number;
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

/**
 * What each setting a checkpoint keeps must be: checked on the command line and in a
 * checkpoint's metadata.
 */
const SETTINGS = {
  epochs: positiveInt,
  batchSize: positiveInt,
  lr: positive,
  weightDecay: numberCheck("a number >= 0", (x) => x >= 0),
  width: positiveInt,
  blocks: numberCheck("1, 2 or 3", (x) => [1, 2, 3].includes(x)),
  dropout: numberCheck("in [0, 1)", (x) => x >= 0 && x < 1),
  augment: oneOf("none", "shift", "shift-flip"),
  seed,
  dataset: oneOf("mnist", "fashion-mnist"),
  limit: orNull(positiveInt),
};

function number(name: string, v: string | undefined, check: Check<number>): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !check.ok(n)) {
    throw new UsageError(`--${name} must be ${check.what}, got "${v}"`);
  }
  return n;
}

const STRING_FLAGS = [
  "data",
  "dataset",
  "limit",
  "backend",
  "epochs",
  "until",
  "batch-size",
  "lr",
  "weight-decay",
  "width",
  "blocks",
  "dropout",
  "augment",
  "seed",
  "save",
  "resume",
];

/**
 * Parses the command line.
 *
 * @param args The arguments (Deno.args).
 * @returns The configuration, or `"help"`.
 */
export function parseModernConfig(args: string[]): ModernConfig | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(STRING_FLAGS.map((k) => [k, { type: "string" as const }])),
        help: { type: "boolean" as const },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values as Record<string, string | undefined> & { help?: boolean };
  if (v.help) return "help";
  const backend = v.backend ?? "auto";
  if (!["auto", "webgpu", "native", "cpu"].includes(backend)) {
    throw new UsageError(`--backend must be auto, webgpu, native or cpu, got "${backend}"`);
  }
  const dataset = v.dataset ?? "mnist";
  if (dataset !== "mnist" && dataset !== "fashion-mnist") {
    throw new UsageError(`--dataset must be mnist or fashion-mnist, got "${dataset}"`);
  }
  const augment = v.augment ?? (dataset === "fashion-mnist" ? "none" : "shift");
  if (!["none", "shift", "shift-flip"].includes(augment)) {
    throw new UsageError(`--augment must be none, shift or shift-flip, got "${augment}"`);
  }
  return {
    backend: backend as ModernConfig["backend"],
    epochs: number("epochs", v.epochs, SETTINGS.epochs) ?? 8,
    until: number("until", v.until, positiveInt),
    batchSize: number("batch-size", v["batch-size"], SETTINGS.batchSize) ?? 128,
    lr: number("lr", v.lr, SETTINGS.lr) ?? 0.003,
    weightDecay: number("weight-decay", v["weight-decay"], SETTINGS.weightDecay) ?? 0.0005,
    width: number("width", v.width, SETTINGS.width) ?? 32,
    blocks: number("blocks", v.blocks, SETTINGS.blocks) ?? 2,
    dropout: number("dropout", v.dropout, SETTINGS.dropout) ?? 0.3,
    augment: augment as ModernConfig["augment"],
    seed: number("seed", v.seed, SETTINGS.seed) ?? 1,
    data: v.data,
    dataset,
    limit: number("limit", v.limit, positiveInt),
    save: v.save,
    resume: v.resume,
    given: Object.keys(v).filter((k) => v[k] !== undefined),
  };
}

/**
 * The network: `blocks` blocks of 3x3 "same" convolution + batch norm + ReLU with `width`,
 * 2·`width`, 4·`width` filters, each followed by a 2x2 max pooling (28 → 14 → 7; a third block
 * by a 3x3 stride-2 overlapping one, 7 → 3), then a dense layer of 4·`width` units with batch
 * norm, ReLU and dropout, and the classifier.
 *
 * @param width Filters of the first block.
 * @param dropout Dropout rate before the classifier.
 * @param blocks Convolution blocks, 1 to 3.
 * @returns The layers.
 */
export function modernCnn(width: number, dropout: number, blocks = 2): Layer[] {
  const layers: Layer[] = [];
  for (let b = 0; b < blocks; b++) {
    layers.push(
      new Conv2D({ filters: width << b, kernelSize: 3, padding: "same" }),
      new BatchNorm2D(),
      new ReLU(),
      b < 2 ? new MaxPool2D({ poolSize: 2 }) : new MaxPool2D({ poolSize: 3, strides: 2 }),
    );
  }
  return [
    ...layers,
    new Dense({ units: 4 * width }),
    new BatchNorm1D(),
    new ReLU(),
    new Dropout({ rate: dropout }),
    new Dense({ units: 10 }),
    new Softmax(),
  ];
}

/** The checkpoint format written by --save. */
export const FORMAT = "modern-cnn/1";

/** The settings a resumed run must keep. */
const KEPT = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[];

const FLAG: Record<keyof typeof SETTINGS, string> = {
  epochs: "epochs",
  batchSize: "batch-size",
  lr: "lr",
  weightDecay: "weight-decay",
  width: "width",
  blocks: "blocks",
  dropout: "dropout",
  augment: "augment",
  seed: "seed",
  dataset: "dataset",
  limit: "limit",
};

/** What each field of where training stands (saved in checkpoints) must be. */
const STATE = {
  epoch: count,
  bestValidation: orNull(fraction),
  bestEpoch: count,
  testScore: fraction,
};

/** Where training stands (saved in checkpoints). */
type State = Fields<typeof STATE>;

/** The cosine learning rate of step `t` (0-based) of `total`. */
function cosine(peak: number, t: number, total: number): number {
  return 0.5 * peak * (1 + Math.cos(Math.PI * Math.min(t / total, 1)));
}

/**
 * Copies sample `src` of `set`, shifted by (dy, dx) pixels with zeros coming in and flipped
 * horizontally when asked, into `out` at `at`, as floats k/255.
 */
function augmentInto(
  out: Float32Array,
  at: number,
  set: ImageSet,
  src: number,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  const h = set.height, w = set.width, base = src * h * w;
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    for (let x = 0; x < w; x++) {
      const sx0 = x - dx;
      const sx = flip ? w - 1 - sx0 : sx0;
      out[at + y * w + x] = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w
        ? set.images[base + sy * w + sx] / 255
        : 0;
    }
  }
}

function fmtDuration(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function save(
  path: string,
  model: Sequential,
  c: ModernConfig,
  s: State,
): Promise<void> {
  const tensors: Record<string, Tensor> = { ...await model.getWeights() };
  for (const [name, t] of Object.entries(await model.getOptimizerState())) {
    tensors[`optimizer.${name}`] = t;
  }
  for (const [name, t] of Object.entries(tensors)) {
    const i = firstNonFinite(t.data);
    if (i >= 0) {
      throw new Error(`not saving ${path}: tensor "${name}" holds ${t.data[i]} at index ${i}`);
    }
  }
  const settings = Object.fromEntries(KEPT.map((k) => [k, c[k] ?? null]));
  await saveCheckpoint(path, tensors, {
    format: FORMAT,
    settings: JSON.stringify(settings),
    state: JSON.stringify(s),
  });
}

/**
 * Trains the modern CNN and prints the LeNet example's lines.
 *
 * @param c The configuration.
 * @param log Where the lines go.
 * @returns The best validation error, its epoch, the test error of that model, the minutes.
 */
export async function runModern(
  c: ModernConfig,
  log: (line: string) => void = console.log,
): Promise<{ bestValidation: number; testScore: number; epochs: number; minutes: number }> {
  usePrivateRuntimeDir();
  if (c.save) await checkWritable(c.save);
  let resumed: RawCheckpoint | null = null;
  let s: State = { epoch: 0, bestValidation: null, bestEpoch: 0, testScore: 0 };
  if (c.resume) {
    const path = c.resume;
    resumed = await readCheckpoint(path, [FORMAT], "optimizer.");
    const { metadata } = resumed;
    const theirs = readFields(path, "settings", metadataJson(path, metadata, "settings"), SETTINGS);
    s = readFields(path, "state", metadataJson(path, metadata, "state"), STATE);
    const conflicts = KEPT.filter((k) =>
      c.given.includes(FLAG[k]) && JSON.stringify(c[k] ?? null) !== JSON.stringify(theirs[k])
    );
    if (conflicts.length) {
      throw new UsageError(
        `--resume ${c.resume} was trained with ${
          conflicts.map((k) => `--${FLAG[k]} ${theirs[k]}`).join(", ")
        }: drop the contradicting flags, or start a new run`,
      );
    }
    c = { ...c, ...Object.fromEntries(KEPT.map((k) => [k, theirs[k] ?? undefined])) };
  }
  const data = await loadData(c.dataset, c.data, log);
  const train = data.train;
  const trainCount = Math.min(train.count, c.limit ?? train.count);
  const steps = Math.floor(trainCount / c.batchSize);
  if (steps < 1) {
    throw new UsageError(`--batch-size ${c.batchSize} exceeds the ${trainCount} training images`);
  }
  if (train.height !== 28 || train.width !== 28) {
    throw new Error(`wrong image size: ${train.height}x${train.width}, this network takes 28x28`);
  }
  log("... building the model");
  const model = await Sequential.create({
    inputShape: [1, 28, 28],
    layers: modernCnn(c.width, c.dropout, c.blocks),
    batchSize: c.batchSize,
    seed: c.seed,
    backend: c.backend,
  });
  if (c.backend === "auto") log(`... backend ${model.backendReason.replaceAll("\n", "\n    ")}`);
  const validDs = model.createDataset(data.valid.images, data.valid.labels);
  const testDs = model.createDataset(data.test.images, data.test.labels);
  if (resumed) {
    try {
      await model.setWeights(resumed.weights);
      await model.setOptimizerState(resumed.optimizer ?? {});
    } catch (e) {
      throw new Error(`${c.resume} does not fit this model: ${(e as Error).message}`);
    }
    log(`... resumed from ${c.resume} after epoch ${s.epoch}`);
  }
  log(
    `... ${model.plan.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0)} ` +
      `parameters, ${trainCount} training images, ${steps} minibatches of ${c.batchSize} per epoch, ` +
      `augment ${c.augment}, backend ${model.backend}`,
  );
  log("... training");
  const x = new Float32Array(c.batchSize * 784);
  const labels = new Int32Array(c.batchSize);
  const start = performance.now();
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const last = Math.min(c.epochs, c.until ?? c.epochs);
  while (s.epoch < last) {
    const epoch = s.epoch + 1;
    // The epoch's order and shifts come from (seed, epoch): a resumed run draws the same.
    const rng = new RandomState((c.seed + 7919 * epoch) >>> 0);
    const order = rng.permutation(trainCount);
    const shifts = rng.randint(-2, 3, 2 * trainCount);
    const flips = rng.randint(0, 2, trainCount);
    const epochStart = performance.now();
    for (let mb = 0; mb < steps; mb++) {
      for (let k = 0; k < c.batchSize; k++) {
        const i = mb * c.batchSize + k, src = order[i];
        const shift = c.augment !== "none";
        augmentInto(
          x,
          k * 784,
          train,
          src,
          shift ? shifts[2 * i] : 0,
          shift ? shifts[2 * i + 1] : 0,
          c.augment === "shift-flip" && flips[i] === 1,
        );
        labels[k] = train.labels[src];
      }
      const lr = cosine(c.lr, (epoch - 1) * steps + mb, c.epochs * steps);
      let loss: number;
      try {
        loss = await model.trainStep(x, labels, {
          optimizer: "adamw",
          learningRate: lr,
          weightDecay: c.weightDecay,
          readLoss: model.backend !== "webgpu" || mb % 10 === 9 || mb === steps - 1,
        });
      } catch (e) {
        if (!(e instanceof NonFiniteError)) throw e;
        throw new Error(
          `training stopped at epoch ${epoch}, minibatch ${mb + 1}: ${e.message} (--lr)`,
          { cause: e },
        );
      }
      if (tty && (mb % 10 === 9 || mb === steps - 1)) {
        const elapsed = (performance.now() - epochStart) / 1000;
        Deno.stderr.writeSync(enc.encode(
          `\r${mb + 1}/${steps} ${((mb + 1) * c.batchSize / elapsed).toFixed(0)} img/s ETA ${
            fmtDuration(elapsed / (mb + 1) * (steps - mb - 1))
          } loss ${loss.toFixed(4)} lr ${lr.toExponential(2)}\x1b[K`,
        ));
      }
    }
    if (tty) Deno.stderr.writeSync(enc.encode("\r\x1b[K"));
    const v = (await model.evaluateDataset(validDs)).errorRate;
    const minutes = (performance.now() - start) / 60000;
    log(
      `epoch ${epoch}, minibatch ${steps}/${steps}, validation error ${(v * 100).toFixed(6)} % ` +
        `(${minutes.toFixed(2)} min)`,
    );
    if (s.bestValidation === null || v < s.bestValidation) {
      s.bestValidation = v;
      s.bestEpoch = epoch;
      s.testScore = (await model.evaluateDataset(testDs)).errorRate;
      log(
        `     epoch ${epoch}, minibatch ${steps}/${steps}, test error of best model ${
          (s.testScore * 100).toFixed(6)
        } %`,
      );
    }
    s.epoch = epoch;
    if (c.save) await save(c.save, model, c, s);
  }
  const minutes = (performance.now() - start) / 60000;
  if (s.epoch < c.epochs) {
    log(
      `... stopped after epoch ${s.epoch} of ${c.epochs} (--until)${
        c.save ? `; go on with --resume ${c.save}` : ""
      }`,
    );
  }
  log("Optimization complete.");
  log(
    `Best validation score of ${((s.bestValidation ?? NaN) * 100).toFixed(6)} % obtained at ` +
      `epoch ${s.bestEpoch}, with test performance ${(s.testScore * 100).toFixed(6)} %`,
  );
  log(`The code for file modern.ts ran for ${minutes.toFixed(2)}m (backend ${model.backend})`);
  validDs.dispose();
  testDs.dispose();
  model.dispose();
  return {
    bestValidation: s.bestValidation ?? NaN,
    testScore: s.testScore,
    epochs: s.epoch,
    minutes,
  };
}

if (import.meta.main) await main(parseModernConfig, (c) => runModern(c), USAGE);
