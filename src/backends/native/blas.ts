/**
 * A small loader for a system CBLAS through `Deno.dlopen` (stable in Deno 2: no
 * `--unstable-ffi` flag is needed, only `--allow-ffi`). Importing this module needs no
 * permission; {@link loadBlas} does.
 *
 * Where the library comes from, first found wins:
 *   1. the explicit path given to {@link loadBlas} (`Sequential.create({ blasPath })`);
 *   2. the environment variable `LENET_BLAS` (a path or a name for the dynamic linker);
 *   3. the platform's usual names: on Linux `libopenblas.so.0`, Debian's
 *      `/usr/lib/<arch>-linux-gnu/openblas-pthread/libopenblas.so.0`, ATLAS's `libcblas.so.3`,
 *      then `libblas.so.3` (OpenBLAS's and Debian's reference `libblas3` both export the
 *      `cblas_*` symbols); on macOS Accelerate, then Homebrew's OpenBLAS; on Windows
 *      `libopenblas.dll`.
 *
 * Only `cblas_sgemm` is required. With OpenBLAS, `openblas_set_num_threads` is bound too.
 * OpenBLAS picks its kernels for the CPU when loaded unless `OPENBLAS_CORETYPE` says otherwise
 * (on a Zen 4 core its AVX-512 "Cooperlake" kernels run LeNet's GEMMs 1.7-2x faster than the
 * AVX2 "Haswell" ones); the thread count comes from `OPENBLAS_NUM_THREADS` or the core count.
 *
 * @module
 */

/** `CblasRowMajor`, `CblasNoTrans`, `CblasTrans` of `cblas.h`. */
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

const SGEMM_PARAMETERS = [
  "i32", // order
  "i32", // transA
  "i32", // transB
  "i32", // M
  "i32", // N
  "i32", // K
  "f32", // alpha
  "buffer", // A
  "i32", // lda
  "buffer", // B
  "i32", // ldb
  "f32", // beta
  "buffer", // C
  "i32", // ldc
] as const;

const SYMBOLS = {
  cblas_sgemm: { parameters: SGEMM_PARAMETERS, result: "void" },
  /** The same function run on a thread of Deno's pool: the call returns a Promise. */
  cblas_sgemm_async: {
    name: "cblas_sgemm",
    parameters: SGEMM_PARAMETERS,
    result: "void",
    nonblocking: true,
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

const NO_PERMISSION = "no --allow-ffi permission";

/** The environment variable naming a CBLAS library to load before the usual names. */
export const BLAS_ENV_VAR = "LENET_BLAS";

/** A loaded CBLAS library: row-major single-precision GEMM, and OpenBLAS's thread count. */
export interface Blas {
  /** The path or name the library was loaded from. */
  readonly path: string;
  /**
   * Row-major `C = alpha * op(A) · op(B) + beta * C`, `op(A)` `[M, K]`, `op(B)` `[K, N]`,
   * `C` `[M, N]`; `lda`, `ldb`, `ldc` are the row strides of the arrays as stored.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  /**
   * {@link Blas.sgemm} run on another thread (Deno's `nonblocking` FFI), so that JavaScript
   * can work meanwhile. The arrays must not be touched until the Promise resolves.
   */
  sgemmAsync(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): Promise<void>;
  /** OpenBLAS's build and kernel description, e.g. `"OpenBLAS 0.3.21 … SkylakeX …"`, or null. */
  config(): string | null;
  /** The kernels OpenBLAS chose for this CPU, e.g. `"Haswell"`, or null for another library. */
  coreName(): string | null;
  /** OpenBLAS's thread count, or null for a library without `openblas_get_num_threads`. */
  threads(): number | null;
  /** Sets OpenBLAS's thread count; returns false (and does nothing) for other libraries. */
  setThreads(n: number): boolean;
}

/**
 * One line on the library and its kernels, for `backendReason`. OpenBLAS falls back to its
 * generic x86-64 kernels ("Prescott", SSE3) on a CPU model it does not know, even one with AVX2;
 * the line then says so: on a 2-vCPU Xeon with AVX2, sgemm 1024³ ran 9-29 GFLOP/s with them and
 * 100-123 GFLOP/s with `OPENBLAS_CORETYPE=Haswell` (the variable is read when the library loads).
 *
 * @param blas The loaded library.
 * @returns E.g. `OpenBLAS kernels "Haswell"`, or the library's path for another CBLAS.
 */
export function describeBlas(blas: Blas): string {
  const core = blas.coreName();
  if (core === null) return `CBLAS ${blas.path}`;
  const generic = core === "Prescott"
    ? ": OpenBLAS's generic kernels; on a CPU with AVX2, OPENBLAS_CORETYPE=Haswell (set before " +
      "the process starts) gives about 4x faster GEMMs"
    : "";
  return `OpenBLAS kernels "${core}"${generic}`;
}

/** Thrown by {@link loadBlas} when no candidate could be loaded; lists each and why. */
export class BlasNotFoundError extends Error {
  /** Each candidate tried, with the reason it failed. */
  readonly tried: { path: string; reason: string }[];

  /**
   * Builds the message from what was tried.
   *
   * @param tried Each candidate with the reason it failed.
   */
  constructor(tried: { path: string; reason: string }[]) {
    const lines = tried.map((t) => `  - ${t.path}: ${t.reason}`);
    const hints: string[] = [];
    if (tried.some((t) => t.reason === NO_PERMISSION)) {
      hints.push("The native backend calls a C library: run deno with --allow-ffi (or -A).");
    }
    if (tried.some((t) => t.reason !== NO_PERMISSION)) {
      hints.push(
        `Install a CBLAS, or name one with ${BLAS_ENV_VAR}=/path/to/lib or the blasPath option:\n` +
          "  Debian/Ubuntu: sudo apt-get install libopenblas0-pthread\n" +
          "  Fedora:        sudo dnf install openblas\n" +
          "  macOS:         Accelerate ships with the system; or brew install openblas\n" +
          "  Windows:       put libopenblas.dll (github.com/OpenMathLib/OpenBLAS releases) on PATH",
      );
    }
    super(`no CBLAS library could be loaded. Tried:\n${lines.join("\n")}\n${hints.join("\n")}`);
    this.name = "BlasNotFoundError";
    this.tried = tried;
  }
}

/**
 * The library names and paths {@link loadBlas} tries, in order.
 *
 * @param explicit A path given by the caller, tried first.
 * @returns Candidates; the environment variable is included when readable.
 */
export function blasCandidates(explicit?: string): string[] {
  const out: string[] = [];
  if (explicit) out.push(explicit);
  const fromEnv = readEnv(BLAS_ENV_VAR);
  if (fromEnv) out.push(fromEnv);
  switch (Deno.build.os) {
    case "darwin":
      out.push(
        "/System/Library/Frameworks/Accelerate.framework/Accelerate",
        "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
        "/usr/local/opt/openblas/lib/libopenblas.dylib",
        "libopenblas.dylib",
      );
      break;
    case "windows":
      out.push("libopenblas.dll", "openblas.dll");
      break;
    default: {
      const triplet = `${Deno.build.arch}-linux-gnu`;
      out.push(
        "libopenblas.so.0",
        `/usr/lib/${triplet}/openblas-pthread/libopenblas.so.0`,
        "libcblas.so.3",
        "libblas.so.3",
      );
    }
  }
  return [...new Set(out)];
}

/**
 * Loads the first CBLAS of {@link blasCandidates} that opens and exports `cblas_sgemm`.
 *
 * @param options `path`: a library to try first; `threads`: OpenBLAS thread count to set.
 * @returns The bound library.
 * @throws {BlasNotFoundError} If none loads; the message lists every candidate and why it
 *   failed, and says how to install one (or to add `--allow-ffi`).
 */
export function loadBlas(options: { path?: string; threads?: number } = {}): Blas {
  const tried: { path: string; reason: string }[] = [];
  for (const path of blasCandidates(options.path)) {
    try {
      const blas = bind(path);
      if (options.threads !== undefined) blas.setThreads(options.threads);
      return blas;
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        tried.push({ path, reason: NO_PERMISSION });
      } else {
        const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
        tried.push({ path, reason: message.replaceAll("Could not open library: ", "") });
      }
    }
  }
  throw new BlasNotFoundError(tried);
}

/**
 * Like {@link loadBlas} but returns the error instead of throwing: for tests and for choosing
 * a default backend.
 *
 * @param path A library to try first.
 * @returns The library, or the reason none loaded.
 */
export function tryLoadBlas(path?: string): { blas: Blas } | { error: Error } {
  try {
    return { blas: loadBlas({ path }) };
  } catch (e) {
    return { error: e instanceof Error ? e : new Error(String(e)) };
  }
}

/** The row-major CBLAS argument list of one sgemm call (shared by the sync and async forms). */
function cblasArgs(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
): Deno.ToNativeParameterTypes<typeof SGEMM_PARAMETERS> {
  const tA = transA ? TRANS : NO_TRANS, tB = transB ? TRANS : NO_TRANS;
  return [ROW_MAJOR, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc];
}

/**
 * Libraries loaded so far, by path. A library is loaded once and never closed: OpenBLAS
 * keeps a pool of threads and buffers that it does not expect to lose under `dlclose`
 * (closing it per executor corrupted the heap at process exit, rarely, in CI).
 */
const loaded = new Map<string, Blas>();

function bind(path: string): Blas {
  const cached = loaded.get(path);
  if (cached) return cached;
  const blas = open(path);
  loaded.set(path, blas);
  return blas;
}

function open(path: string): Blas {
  const lib = Deno.dlopen(path, SYMBOLS);
  const s = lib.symbols;
  return {
    path,
    sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      s.cblas_sgemm(...cblasArgs(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
    },
    sgemmAsync(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      return s.cblas_sgemm_async(
        ...cblasArgs(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc),
      );
    },
    config() {
      const p = s.openblas_get_config ? s.openblas_get_config() : null;
      return p ? Deno.UnsafePointerView.getCString(p) : null;
    },
    coreName() {
      const p = s.openblas_get_corename ? s.openblas_get_corename() : null;
      return p ? Deno.UnsafePointerView.getCString(p) : null;
    },
    threads: () => s.openblas_get_num_threads ? s.openblas_get_num_threads() : null,
    setThreads(n: number) {
      if (!s.openblas_set_num_threads) return false;
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`setThreads: n must be a positive integer, received ${n}`);
      }
      s.openblas_set_num_threads(n);
      return true;
    },
  };
}

function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}
