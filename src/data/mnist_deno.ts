/**
 * Loading MNIST / Fashion-MNIST under Deno: from a local directory, or
 * downloaded from public mirrors into a cache, SHA-256 verified.
 *
 * Deno-only (files, environment, network). Parsing is in the runtime-agnostic
 * `mnist.ts`.
 *
 * @module
 */

import { writeFileAtomic } from "../checkpoint_deno.ts";
import {
  FASHION_MNIST_SHA256,
  MNIST_FILES,
  MNIST_SHA256,
  type MnistFileKey,
  type MnistFiles,
  type MnistSplits,
  parseMnist,
  sha256Hex,
} from "./mnist.ts";

/** Which data set {@linkcode loadMnist} loads. */
export type MnistDataset = "mnist" | "fashion-mnist";

/** Default download mirrors per data set, tried in order. */
export const MNIST_MIRRORS: Readonly<Record<MnistDataset, readonly string[]>> = Object.freeze({
  "mnist": Object.freeze([
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
  ]),
  "fashion-mnist": Object.freeze([
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
  ]),
});

/** Options of {@linkcode loadMnist}. */
export interface LoadMnistOptions {
  /** Which data set; default `"mnist"`. */
  dataset?: MnistDataset;
  /**
   * Read the four files from this directory instead of downloading. Each file
   * may be gzipped (`train-images-idx3-ubyte.gz`) or not
   * (`train-images-idx3-ubyte`). Their hashes are not checked (so recompressed
   * copies, such as Debian's `dataset-fashion-mnist` in
   * `/usr/share/datasets/fashion-mnist`, work), but their contents are.
   */
  dataDir?: string;
  /**
   * Where downloads are cached; default `$XDG_CACHE_HOME/lenet-webgpu/<dataset>`
   * or `~/.cache/lenet-webgpu/<dataset>`.
   */
  cacheDir?: string;
  /** Base URLs (ending in `/`) tried in order; default {@linkcode MNIST_MIRRORS}. */
  mirrors?: string[];
  /** The `fetch` to download with (tests inject a fake one); default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Receives progress lines; default: none. */
  log?: (msg: string) => void;
  /**
   * Expected SHA-256 (hex) of each `.gz` file by file name; default
   * {@linkcode MNIST_SHA256} or {@linkcode FASHION_MNIST_SHA256}. Meant for
   * tests and private mirrors.
   */
  sha256?: Record<string, string>;
}

const KEYS: readonly MnistFileKey[] = ["trainImages", "trainLabels", "testImages", "testLabels"];

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * The default cache directory for a data set:
 * `$XDG_CACHE_HOME/lenet-webgpu/<dataset>`, else `$HOME/.cache/lenet-webgpu/<dataset>`
 * (`%LOCALAPPDATA%` on Windows when `HOME` is unset).
 *
 * @param dataset The data set's name.
 * @returns The directory path (not created).
 * @throws {Error} When none of those environment variables is set.
 *
 * @example
 * ```ts ignore
 * import { defaultCacheDir } from "./mnist_deno.ts";
 * console.log(defaultCacheDir("mnist")); // e.g. /home/me/.cache/lenet-webgpu/mnist
 * ```
 */
export function defaultCacheDir(dataset: MnistDataset): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(join(xdg, "lenet-webgpu"), dataset);
  const home = Deno.env.get("HOME");
  if (home) return join(join(home, ".cache/lenet-webgpu"), dataset);
  const local = Deno.env.get("LOCALAPPDATA");
  if (local) return join(join(local, "lenet-webgpu"), dataset);
  throw new Error("cannot find a cache directory: set XDG_CACHE_HOME or HOME, or pass cacheDir");
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function readFromDir(
  dir: string,
): Promise<{ files: MnistFiles; names: Record<MnistFileKey, string> }> {
  const files: Partial<MnistFiles> = {};
  const names: Partial<Record<MnistFileKey, string>> = {};
  const missing: string[] = [];
  for (const k of KEYS) {
    const gz = MNIST_FILES[k];
    const raw = gz.replace(/\.gz$/, "");
    let found = false;
    for (const name of [gz, raw]) {
      const bytes = await readIfExists(join(dir, name));
      if (bytes) {
        files[k] = bytes;
        names[k] = name;
        found = true;
        break;
      }
    }
    if (!found) missing.push(`${gz} (or ${raw})`);
  }
  if (missing.length > 0) {
    throw new Error(`missing MNIST files in ${dir}: ${missing.join(", ")}`);
  }
  return { files: files as MnistFiles, names: names as Record<MnistFileKey, string> };
}

function size(n: number): string {
  return n >= 1e6
    ? (n / 1e6).toFixed(1) + " MB"
    : n >= 1e3
    ? (n / 1e3).toFixed(1) + " kB"
    : n + " B";
}

async function readBody(
  res: Response,
  url: string,
  log: (msg: string) => void,
): Promise<Uint8Array> {
  const total = Number(res.headers.get("content-length")) || 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let got = 0;
  let nextReport = 0.25;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    if (total > 4e6 && got / total >= nextReport && got < total) {
      log(`  ${url}: ${Math.floor((100 * got) / total)}% of ${size(total)}`);
      while (got / total >= nextReport) nextReport += 0.25;
    }
  }
  if (total && got !== total) {
    throw new Error(`incomplete download: got ${got} of ${total} bytes`);
  }
  const out = new Uint8Array(got);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

async function fetchVerified(
  name: string,
  expected: string,
  cacheDir: string,
  mirrors: readonly string[],
  fetchFn: typeof fetch,
  log: (msg: string) => void,
): Promise<Uint8Array> {
  const path = join(cacheDir, name);
  const cached = await readIfExists(path);
  if (cached) {
    const h = await sha256Hex(cached);
    if (h === expected) {
      log(`${name}: using cached ${path}`);
      return cached;
    }
    log(`${name}: cached ${path} has a wrong SHA-256 (${h}); downloading it again`);
  }
  const errors: string[] = [];
  for (const base of mirrors) {
    const url = base.endsWith("/") ? base + name : `${base}/${name}`;
    log(`${name}: downloading ${url}`);
    try {
      const res = await fetchFn(url);
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      }
      const bytes = await readBody(res, url, log);
      const h = await sha256Hex(bytes);
      if (h !== expected) {
        throw new Error(
          `SHA-256 mismatch: got ${h}, expected ${expected} (${bytes.length} bytes; ` +
            "for a repackaged local copy, pass dataDir instead)",
        );
      }
      await writeFileAtomic(path, bytes);
      log(`${name}: ${size(bytes.length)}, SHA-256 ok, saved to ${path}`);
      return bytes;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      log(`${name}: ${url} failed: ${msg}`);
      errors.push(`${url}: ${msg}`);
    }
  }
  throw new Error(`could not download ${name} from any mirror:\n  ${errors.join("\n  ")}`);
}

/**
 * Loads MNIST or Fashion-MNIST, split as in the LeNet tutorial (50,000 train,
 * 10,000 valid, 10,000 test; see `parseMnist`).
 *
 * With `dataDir`, reads the four files from that directory (gzipped or not).
 * Otherwise downloads each missing file from the mirrors (in order, falling
 * back to the next on any failure) into the cache directory, checks its
 * SHA-256, and writes it atomically (`<file>.tmp-<random>` then rename), so a
 * failed or partial download never leaves a file under the final name. Cached
 * files are re-hashed on every load; a bad one is downloaded again.
 *
 * @param opts Data set, directories, mirrors, `fetch` and `log`; see
 *   {@linkcode LoadMnistOptions}.
 * @returns The train, valid and test splits.
 * @throws {Error} Listing missing files (with `dataDir`), every mirror's failure
 *   for a file that could not be downloaded, or what is wrong with a file's
 *   contents (naming it).
 *
 * @example
 * ```ts ignore
 * import { loadMnist } from "./mnist_deno.ts";
 * const { train, valid, test } = await loadMnist({ log: console.log });
 * console.log(train.count, valid.count, test.count); // 50000 10000 10000
 * ```
 */
export async function loadMnist(opts: LoadMnistOptions = {}): Promise<MnistSplits> {
  const dataset = opts.dataset ?? "mnist";
  if (!(dataset in MNIST_MIRRORS)) {
    throw new Error(`unknown dataset "${dataset}" (expected "mnist" or "fashion-mnist")`);
  }
  const log = opts.log ?? (() => {});
  if (opts.dataDir !== undefined) {
    const { files, names } = await readFromDir(opts.dataDir);
    log(`${dataset}: reading ${opts.dataDir}`);
    return await parseMnist(files, { name: opts.dataDir, fileNames: names });
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir(dataset);
  const mirrors = opts.mirrors ?? MNIST_MIRRORS[dataset];
  if (mirrors.length === 0) throw new Error("no mirrors to download from");
  const hashes = opts.sha256 ?? (dataset === "mnist" ? MNIST_SHA256 : FASHION_MNIST_SHA256);
  const fetchFn = opts.fetch ?? globalThis.fetch;
  await Deno.mkdir(cacheDir, { recursive: true });
  const files: Partial<MnistFiles> = {};
  for (const k of KEYS) {
    const name = MNIST_FILES[k];
    const expected = hashes[name];
    if (!expected) throw new Error(`no SHA-256 given for ${name}`);
    files[k] = await fetchVerified(name, expected.toLowerCase(), cacheDir, mirrors, fetchFn, log);
  }
  return await parseMnist(files as MnistFiles, { name: cacheDir });
}
