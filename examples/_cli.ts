/**
 * What the training examples (`lenet.ts`, `modern.ts`) share: the usage error, the MNIST
 * loading with its hint for machines without network and its check of the validation split,
 * and the `main` that prints errors instead of stack traces. Their checkpoint reader is in
 * `_checkpoint.ts`.
 *
 * @module
 */
import { MNIST_FILES } from "../mod.ts";
import { loadMnist } from "../src/data/mnist_deno.ts";
import type { MnistSplits } from "../src/data/mnist.ts";

/** Thrown for bad command lines; {@link main} prints it with the usage. */
export class UsageError extends Error {}

/**
 * Loads MNIST or Fashion-MNIST; without `dataDir`, a failed download says how to use local files.
 * A training file too small to give a validation split is refused, saying why.
 *
 * @param dataset Which data set.
 * @param dataDir The folder given with --data, if any.
 * @param log Where progress lines go.
 * @returns The train, validation and test splits.
 */
export async function loadData(
  dataset: "mnist" | "fashion-mnist",
  dataDir: string | undefined,
  log: (line: string) => void,
): Promise<MnistSplits> {
  let data;
  try {
    data = await loadMnist({ dataset, dataDir, log });
  } catch (e) {
    if (dataDir) throw e;
    throw new Error(
      `${(e as Error).message}\n  No network? Pass --data DIR: a folder holding the four files ` +
        `${Object.values(MNIST_FILES).join(", ")} (gzipped or not)`,
      { cause: e },
    );
  }
  if (data.valid.count === 0) {
    throw new Error(
      `the training file has ${data.train.count} images: too few for a validation split (one ` +
        `image in six, the last ones, goes to validation); at least 6 are needed`,
    );
  }
  return data;
}

/**
 * Finds an unwritable --save path before any training (not after the first epoch).
 *
 * @param path The checkpoint path.
 */
export async function checkWritable(path: string): Promise<void> {
  const probe = `${path}.probe-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    await Deno.remove(probe);
  } catch (e) {
    throw new Error(`--save ${path}: cannot write there: ${(e as Error).message}`);
  }
}

/**
 * Parses the command line and runs: a usage error prints the message and the usage (exit 2),
 * any other error its message (exit 1), `--help` the usage.
 *
 * @param parse Turns the arguments into a configuration, or `"help"`.
 * @param run Runs a configuration.
 * @param usage The text of `--help`.
 */
export async function main<C>(
  parse: (args: string[]) => C | "help",
  run: (c: C) => Promise<unknown>,
  usage: string,
): Promise<void> {
  let config;
  try {
    config = parse(Deno.args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`error: ${e.message}\n\n${usage}`);
    Deno.exit(2);
  }
  if (config === "help") {
    console.log(usage);
    return;
  }
  try {
    await run(config);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
