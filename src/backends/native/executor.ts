/**
 * The native backend: the same network as `src/backends/cpu.ts`, with the convolutions
 * and dense layers as `cblas_sgemm` calls into the system's BLAS (via `Deno.dlopen`, see
 * `blas.ts`) and everything else as tight loops over Float32Array.
 *
 * The plan's layers are grouped into stages that fuse what follows a GEMM:
 * Conv2D [+ MaxPool2D] [+ activation], Dense [+ activation], MaxPool2D [+ activation],
 * a lone activation; the final softmax and the NLL are the `cpu/` loops. Every buffer is
 * allocated once, for the plan's batch size (a step allocates only small typed-array views
 * and Promises).
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
  LayerPlan,
  NetworkPlan,
  StepOptions,
  StepResult,
} from "../../backend.ts";
import { softmaxForward } from "../../../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../../../cpu/nll.ts";
import { sgdMomentumUpdate, sgdUpdate } from "../../../cpu/sgd.ts";
import { hostBatch, HostDataset, sizeOf } from "../host.ts";
import { firstNonFinite } from "../../validate.ts";
import { type Blas, loadBlas } from "./blas.ts";
import { ConvStage } from "./conv.ts";
import { DenseStage } from "./dense.ts";
import { PoolStage } from "./pool.ts";
import { activateInPlace, type Activation, activationBackward } from "./pointwise.ts";

/** Options of {@link createNativeExecutor}. */
export interface NativeOptions {
  /** A CBLAS shared library to try before `LENET_BLAS` and the usual names. */
  blasPath?: string;
  /**
   * When given, every training step appends its timings (ms) here: one entry per stage and
   * direction (`"0 conv fwd"`, …), the part of it spent in blocking sgemm calls
   * (`"2 dense fwd sgemm"`; the conv stages' GEMMs overlap JavaScript and are not split
   * out), `"loss"`, `"sgd"` and `"step"`.
   */
  profile?: Map<string, number[]>;
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
    const blas = loadBlas({ path: options.blasPath });
    const profiler = options.profile ? new Profiler(options.profile) : null;
    return Promise.resolve(
      new NativeExecutor(plan, profiler ? profiler.wrap(blas) : blas, profiler),
    );
  } catch (e) {
    return Promise.reject(e);
  }
}

/** One fused group of layers, with the names of its parameters and its output size. */
type Stage =
  | { kind: "conv"; op: ConvStage; weight: string; bias: string; outSize: number }
  | { kind: "dense"; op: DenseStage; weight: string; bias: string; outSize: number }
  | { kind: "pool"; op: PoolStage; outSize: number }
  | { kind: "act"; act: Activation; outSize: number };

/** Groups the layers (all but the final softmax) into fused stages. */
function buildStages(blas: Blas, plan: NetworkPlan): Stage[] {
  const layers = plan.layers.slice(0, -1);
  const n = plan.batchSize;
  const stages: Stage[] = [];
  const actAt = (i: number): Activation => {
    const k = layers[i]?.kind;
    return k === "tanh" || k === "sigmoid" ? k : null;
  };
  for (let i = 0; i < layers.length; i++) {
    const layer: LayerPlan = layers[i];
    const first = stages.length === 0;
    switch (layer.kind) {
      case "conv2d": {
        const next = layers[i + 1];
        const pool = next?.kind === "maxpool2d" ? next : null;
        if (pool) i++;
        const act = actAt(i + 1);
        if (act) i++;
        const [C, H, W] = layer.inShape;
        const op = new ConvStage(
          blas,
          {
            batch: n,
            inChannels: C,
            height: H,
            width: W,
            outChannels: layer.outShape[0],
            kernelH: layer.kernelH,
            kernelW: layer.kernelW,
          },
          pool,
          act,
          !first,
        );
        stages.push({
          kind: "conv",
          op,
          weight: layer.weight.name,
          bias: layer.bias.name,
          outSize: op.outSize,
        });
        break;
      }
      case "dense": {
        const act = actAt(i + 1);
        if (act) i++;
        const op = new DenseStage(blas, layer.inFeatures, layer.outFeatures, act, n);
        stages.push({
          kind: "dense",
          op,
          weight: layer.weight.name,
          bias: layer.bias.name,
          outSize: op.outSize,
        });
        break;
      }
      case "maxpool2d": {
        const act = actAt(i + 1);
        if (act) i++;
        const op = new PoolStage(layer.inShape, layer.outShape, layer.poolH, layer.poolW, act, n);
        stages.push({ kind: "pool", op, outSize: op.outSize });
        break;
      }
      case "tanh":
      case "sigmoid":
        stages.push({ kind: "act", act: layer.kind, outSize: sizeOf(layer.outShape) });
        break;
      case "softmax":
        throw new RangeError(`native: softmax "${layer.name}" must be the last layer`);
    }
  }
  return stages;
}

class NativeExecutor implements Executor {
  readonly backend = "native" as const;
  readonly #plan: NetworkPlan;
  readonly #blas: Blas;
  readonly #stages: Stage[];
  /** acts[k] is the input of stage k; acts[S] the logits. */
  readonly #acts: Float32Array[];
  /** grads[k] is dLoss/d(acts[k]); grads[0] is never computed. */
  readonly #grads: Float32Array[];
  readonly #probs: Float32Array;
  readonly #params = new Map<string, Float32Array>();
  readonly #paramGrads = new Map<string, Float32Array>();
  readonly #velocity = new Map<string, Float32Array>();
  readonly #labels: Int32Array;
  readonly #profile: Profiler | null;
  #disposed = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(plan: NetworkPlan, blas: Blas, profile: Profiler | null) {
    this.#plan = plan;
    this.#profile = profile;
    this.#blas = blas;
    this.#stages = buildStages(blas, plan);
    const n = plan.batchSize;
    this.#acts = [new Float32Array(n * sizeOf(plan.inputShape))];
    this.#grads = [new Float32Array(0)];
    for (const st of this.#stages) {
      this.#acts.push(new Float32Array(n * st.outSize));
      this.#grads.push(new Float32Array(n * st.outSize));
    }
    this.#probs = new Float32Array(n * plan.classes);
    for (const p of plan.params) {
      this.#params.set(p.name, new Float32Array(sizeOf(p.shape)));
      this.#paramGrads.set(p.name, new Float32Array(sizeOf(p.shape)));
    }
    this.#labels = new Int32Array(n);
  }

  setParams(values: Map<string, Float32Array>): Promise<void> {
    return this.#serial(() => {
      for (const [name, dst] of this.#params) dst.set(values.get(name)!);
      return Promise.resolve();
    });
  }

  getOptimizerState(): Promise<Map<string, Float32Array>> {
    return this.#serial(() => {
      const out = new Map<string, Float32Array>();
      for (const [name, p] of this.#params) {
        out.set(name, this.#velocity.get(name)?.slice() ?? new Float32Array(p.length));
      }
      return Promise.resolve(out);
    });
  }

  setOptimizerState(values: Map<string, Float32Array>): Promise<void> {
    return this.#serial(() => {
      for (const name of this.#params.keys()) this.#velocity.set(name, values.get(name)!.slice());
      return Promise.resolve();
    });
  }

  getParams(): Promise<Map<string, Float32Array>> {
    return this.#serial(() => {
      const out = new Map<string, Float32Array>();
      for (const [name, v] of this.#params) out.set(name, v.slice());
      return Promise.resolve(out);
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

  async #forward(n: number): Promise<void> {
    const acts = this.#acts, params = this.#params;
    for (let k = 0; k < this.#stages.length; k++) {
      const st = this.#stages[k];
      const x = acts[k], out = acts[k + 1];
      const t0 = this.#profile?.start(`${k} ${st.kind} fwd`) ?? 0;
      switch (st.kind) {
        case "conv":
          await st.op.forward(out, x, params.get(st.weight)!, params.get(st.bias)!, n);
          break;
        case "dense":
          st.op.forward(out, x, params.get(st.weight)!, params.get(st.bias)!, n);
          break;
        case "pool":
          st.op.forward(out, x, n);
          break;
        case "act":
          out.set(x.subarray(0, n * st.outSize));
          activateInPlace(st.act, out, n * st.outSize);
          break;
      }
      this.#profile?.stop(t0);
    }
  }

  async #backward(n: number): Promise<void> {
    const acts = this.#acts, grads = this.#grads, params = this.#params;
    const pgrads = this.#paramGrads;
    const S = this.#stages.length;
    softmaxNllBackward(
      grads[S].subarray(0, n * this.#plan.classes),
      this.#logits(n),
      this.#labels.subarray(0, n),
      n,
      this.#plan.classes,
    );
    for (let k = S - 1; k >= 0; k--) {
      const st = this.#stages[k];
      const dx = k === 0 ? null : grads[k];
      const t0 = this.#profile?.start(`${k} ${st.kind} bwd`) ?? 0;
      switch (st.kind) {
        case "conv":
          await st.op.backward(
            dx,
            pgrads.get(st.weight)!,
            pgrads.get(st.bias)!,
            grads[k + 1],
            acts[k + 1],
            params.get(st.weight)!,
            n,
          );
          break;
        case "dense":
          st.op.backward(
            dx,
            pgrads.get(st.weight)!,
            pgrads.get(st.bias)!,
            grads[k + 1],
            acts[k + 1],
            acts[k],
            params.get(st.weight)!,
            n,
          );
          break;
        case "pool":
          if (dx) st.op.backward(dx, grads[k + 1], acts[k + 1], n);
          break;
        case "act":
          if (dx) activationBackward(st.act, dx, grads[k + 1], acts[k + 1], n * st.outSize);
          break;
      }
      this.#profile?.stop(t0);
    }
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
      const tStep = this.#profile?.start("step") ?? 0;
      const n = this.#load(batch, true);
      await this.#forward(n);
      const labels = this.#labels.subarray(0, n);
      let t0 = this.#profile?.start("loss") ?? 0;
      const loss = options.readLoss
        ? nllLoss(this.#logits(n), labels, n, this.#plan.classes)
        : Number.NaN;
      this.#profile?.stop(t0);
      await this.#backward(n);
      t0 = this.#profile?.start("sgd") ?? 0;
      const lr = options.optimizer.learningRate;
      const m = options.optimizer.kind === "sgd" ? options.optimizer.momentum : 0;
      for (const [name, p] of this.#params) {
        const g = this.#paramGrads.get(name)!;
        if (m > 0) {
          let v = this.#velocity.get(name);
          if (!v) this.#velocity.set(name, v = new Float32Array(p.length));
          sgdMomentumUpdate(p, g, v, lr, m);
        } else {
          sgdUpdate(p, g, lr);
        }
      }
      let paramsNonFinite = false;
      for (const p of this.#params.values()) paramsNonFinite ||= firstNonFinite(p) >= 0;
      this.#profile?.stop(t0);
      this.#profile?.stop(tStep, "step");
      this.#profile?.endStep();
      return { loss, lossNonFinite: options.readLoss && !Number.isFinite(loss), paramsNonFinite };
    });
  }

  evaluate(batch: BatchSource): Promise<EvalResult> {
    return this.#serial(async () => {
      const n = this.#load(batch, true);
      await this.#forward(n);
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
      await this.#forward(n);
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
      this.#params.clear();
      this.#paramGrads.clear();
      this.#velocity.clear();
    });
  }
}

/** Collects the timings of {@link NativeOptions.profile}. */
class Profiler {
  readonly #out: Map<string, number[]>;
  readonly #step = new Map<string, number>();
  #label = "";

  constructor(out: Map<string, number[]>) {
    this.#out = out;
  }

  /** Names the part now running; returns its start time. */
  start(label: string): number {
    if (label !== "step") this.#label = label;
    return performance.now();
  }

  /** Adds the time since `t0` to the part named (default: the one running). */
  stop(t0: number, label = this.#label): void {
    this.#step.set(label, (this.#step.get(label) ?? 0) + performance.now() - t0);
  }

  /** Appends this step's totals to the output map. */
  endStep(): void {
    for (const [k, v] of this.#step) {
      const list = this.#out.get(k);
      if (list) list.push(v);
      else this.#out.set(k, [v]);
    }
    this.#step.clear();
  }

  /** A BLAS whose sgemm time is added to `"<part running> sgemm"`. */
  wrap(blas: Blas): Blas {
    return {
      ...blas,
      sgemm: (...args: Parameters<Blas["sgemm"]>) => {
        const t0 = performance.now();
        blas.sgemm(...args);
        this.stop(t0, `${this.#label} sgemm`);
      },
    };
  }
}
