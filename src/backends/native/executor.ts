/**
 * The native backend: the same network as `src/backends/cpu.ts`, with the convolutions
 * and dense layers as `cblas_sgemm` calls into the system's BLAS (via `Deno.dlopen`, see
 * `blas.ts`) and everything else as tight loops over Float32Array.
 *
 * The plan's layers are grouped into stages by the table of `stages.ts`, which fuses what
 * follows a GEMM (Conv2D [+ MaxPool2D] [+ activation], Dense [+ activation]) or a batch norm
 * (+ activation); the executor runs the stages in order, training mode in `trainStep`,
 * evaluation mode (running statistics, no dropout) in `evaluate` and `predict`. The final
 * softmax, the NLL and the optimisers are the `cpu/` loops (the optimisers through
 * `../../optimizers.ts`, shared with the cpu executor). Every buffer is allocated once,
 * for the plan's batch size (a step allocates only small typed-array views and Promises).
 *
 * The convolution stages run their GEMMs on another thread while JavaScript works beside
 * them (see `conv.ts`), so the methods of the executor really are asynchronous: calls are
 * queued and run one after another, and `dispose` frees the library after the queue.
 *
 * @module
 */
import type {
  BatchSource,
  DeviceDataset,
  EvalResult,
  Executor,
  NetworkPlan,
  StepOptions,
  StepResult,
} from "../../backend.ts";
import { softmaxForward } from "../../../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../../../cpu/nll.ts";
import { hostBatch, HostDataset, sizeOf } from "../host.ts";
import { firstNonFinite } from "../../validate.ts";
import { hostUpdate, OPTIMIZER_STATE, stateName } from "../../optimizers.ts";
import { type Blas, describeBlas, loadBlas } from "./blas.ts";
import { buildStages, type Run, type Stage } from "./stages.ts";

/** Options of {@link createNativeExecutor}. */
export interface NativeOptions {
  /** A CBLAS shared library to try before `LENET_BLAS` and the usual names. */
  blasPath?: string;
}

/**
 * Creates the native executor for a plan, loading a CBLAS library.
 *
 * @param plan The resolved network.
 * @param options Where to look for the BLAS first.
 * @returns An executor whose GEMMs run in the system's BLAS.
 * @throws {import("./blas.ts").BlasNotFoundError} If no CBLAS can be loaded (or `--allow-ffi`
 *   is missing); the message lists what was tried.
 */
export function createNativeExecutor(
  plan: NetworkPlan,
  options: NativeOptions = {},
): Promise<Executor> {
  try {
    return Promise.resolve(new NativeExecutor(plan, loadBlas({ path: options.blasPath })));
  } catch (e) {
    return Promise.reject(e);
  }
}

const EVAL: Run = { training: false, seed: 0, step: 0 };

class NativeExecutor implements Executor {
  readonly backend = "native" as const;
  /** The BLAS and its kernels (`describeBlas`). */
  readonly detail: string;
  readonly #plan: NetworkPlan;
  readonly #stages: Stage[];
  /** acts[k] is the input of stage k; acts[S] the logits. */
  readonly #acts: Float32Array[];
  /** grads[k] is dLoss/d(acts[k]); grads[0] is never computed. */
  readonly #grads: Float32Array[];
  readonly #probs: Float32Array;
  /** Trained parameters and state tensors, by plan name. */
  readonly #values = new Map<string, Float32Array>();
  /** Gradients of the trained parameters. */
  readonly #paramGrads = new Map<string, Float32Array>();
  /** Optimiser state `<param>.m` (SGD's momentum buffer, Adam's first moment) and `<param>.v`. */
  readonly #moments = new Map<string, Float32Array>();
  readonly #labels: Int32Array;
  #disposed = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(plan: NetworkPlan, blas: Blas) {
    this.#plan = plan;
    this.detail = describeBlas(blas);
    const n = plan.batchSize;
    for (const p of plan.params) {
      const size = sizeOf(p.shape);
      this.#values.set(p.name, new Float32Array(size));
      this.#paramGrads.set(p.name, new Float32Array(size));
      for (const s of OPTIMIZER_STATE) {
        this.#moments.set(stateName(p.name, s), new Float32Array(size));
      }
    }
    for (const p of plan.state) this.#values.set(p.name, new Float32Array(sizeOf(p.shape)));
    this.#stages = buildStages(plan.layers, {
      blas,
      batch: n,
      param: (spec) => ({
        value: this.#values.get(spec.name)!,
        grad: this.#paramGrads.get(spec.name)!,
      }),
      state: (spec) => this.#values.get(spec.name)!,
    });
    this.#acts = [new Float32Array(n * sizeOf(plan.inputShape))];
    this.#grads = [new Float32Array(0)];
    for (const st of this.#stages) {
      this.#acts.push(new Float32Array(n * st.outSize));
      this.#grads.push(new Float32Array(n * st.outSize));
    }
    this.#probs = new Float32Array(n * plan.classes);
    this.#labels = new Int32Array(n);
  }

  setParams(values: Map<string, Float32Array>): Promise<void> {
    return this.#serial(() => {
      for (const [name, dst] of this.#values) dst.set(values.get(name)!);
      return Promise.resolve();
    });
  }

  getParams(): Promise<Map<string, Float32Array>> {
    return this.#serial(() => Promise.resolve(copyOf(this.#values)));
  }

  getOptimizerState(): Promise<Map<string, Float32Array>> {
    return this.#serial(() => Promise.resolve(copyOf(this.#moments)));
  }

  setOptimizerState(values: Map<string, Float32Array>): Promise<void> {
    return this.#serial(() => {
      for (const [name, dst] of this.#moments) dst.set(values.get(name)!);
      return Promise.resolve();
    });
  }

  createDataset(
    images: Uint8Array | Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    scale: number,
  ): DeviceDataset {
    return new HostDataset(images, labels, count, scale, sizeOf(this.#plan.inputShape));
  }

  async #forward(n: number, run: Run): Promise<void> {
    const acts = this.#acts, stages = this.#stages;
    for (let k = 0; k < stages.length; k++) await stages[k].forward(acts[k], acts[k + 1], n, run);
  }

  async #backward(n: number): Promise<void> {
    const acts = this.#acts, grads = this.#grads, stages = this.#stages, S = stages.length;
    softmaxNllBackward(
      grads[S].subarray(0, n * this.#plan.classes),
      this.#logits(n),
      this.#labels.subarray(0, n),
      n,
      this.#plan.classes,
    );
    for (let k = S - 1; k >= 0; k--) {
      await stages[k].backward(k === 0 ? null : grads[k], grads[k + 1], acts[k], acts[k + 1], n);
    }
  }

  /** The optimiser's update of every trained parameter (never the state tensors). */
  #update(options: StepOptions): void {
    const tensors = { values: this.#values, grads: this.#paramGrads, state: this.#moments };
    hostUpdate(this.#plan.params, tensors, options);
  }

  #load(batch: BatchSource, needLabels: boolean): number {
    return hostBatch(
      batch,
      this.#acts[0],
      needLabels ? this.#labels : null,
      sizeOf(this.#plan.inputShape),
    );
  }

  #logits(n: number): Float32Array {
    return this.#acts[this.#stages.length].subarray(0, n * this.#plan.classes);
  }

  /**
   * Runs `work` after every call made before it: the stages await GEMMs running on other
   * threads, and two calls must not share the buffers meanwhile.
   */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.#disposed) {
      return Promise.reject(new Error("native executor: used after dispose()"));
    }
    const result = this.#queue.then(work);
    this.#queue = result.then(() => {}, () => {});
    return result;
  }

  trainStep(batch: BatchSource, options: StepOptions): Promise<StepResult> {
    return this.#serial(async () => {
      const n = this.#load(batch, true);
      await this.#forward(n, { training: true, seed: options.seed, step: options.step });
      const loss = options.readLoss
        ? nllLoss(this.#logits(n), this.#labels.subarray(0, n), n, this.#plan.classes)
        : Number.NaN;
      await this.#backward(n);
      this.#update(options);
      let paramsNonFinite = false;
      for (const p of this.#plan.params) {
        paramsNonFinite ||= firstNonFinite(this.#values.get(p.name)!) >= 0;
      }
      return { loss, lossNonFinite: options.readLoss && !Number.isFinite(loss), paramsNonFinite };
    });
  }

  evaluate(batch: BatchSource): Promise<EvalResult> {
    return this.#serial(async () => {
      const n = this.#load(batch, true);
      await this.#forward(n, EVAL);
      const logits = this.#logits(n);
      const labels = this.#labels.subarray(0, n);
      return {
        loss: nllLoss(logits, labels, n, this.#plan.classes),
        errors: errorCount(logits, labels, n, this.#plan.classes),
      };
    });
  }

  predict(batch: BatchSource): Promise<Float32Array> {
    return this.#serial(async () => {
      const n = this.#load(batch, false);
      await this.#forward(n, EVAL);
      const probs = this.#probs.subarray(0, n * this.#plan.classes);
      softmaxForward(probs, this.#logits(n), n, this.#plan.classes);
      return probs.slice();
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // after the work already queued: a GEMM may still be running on another thread.
    // The BLAS library itself stays loaded for the process (see blas.ts).
    this.#queue.then(() => {
      this.#values.clear();
      this.#paramGrads.clear();
      this.#moments.clear();
    });
  }
}

function copyOf(tensors: Map<string, Float32Array>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of tensors) out.set(name, v.slice());
  return out;
}
