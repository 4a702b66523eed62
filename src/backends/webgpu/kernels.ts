/**
 * The kernels as the executor and the tests use them: for each op, which shader, its
 * override constants (the shapes) and how many workgroups a batch of `count` needs; and
 * {@link Kernel}, a compiled pipeline that binds buffers once and records dispatches.
 *
 * Dimension letters as in `src/backend.ts`. Every kernel's binding 0 is `params`, the step's
 * uniform block (`./params.ts`). A kernel's bindings are named by its shader's `var`s alone:
 * `shaders/embed.ts` lists them in the generated `SHADER_BINDINGS`, and the specs' `sizes` and
 * the buffers given to {@link Kernel.bind} are checked against that list, by name.
 *
 * @module
 */
import type { Conv2DPlan, Pool2DPlan } from "../../backend.ts";
import { dropoutScale, dropoutThreshold } from "../../../cpu/dropout.ts";
import { pipelineFor, type ShaderName } from "./device.ts";
import { SHADER_BINDINGS } from "./shaders.ts";
import { type ActivationKind, ACTIVATIONS } from "../../activations.ts";

export { packParams, PARAMS_SIZE } from "./params.ts";

/**
 * What an op needs to run: its shader, shapes as override constants, binding sizes, grid.
 * Its bindings are the shader's (`SHADER_BINDINGS`, generated from its `var`s).
 */
export interface KernelSpec {
  shader: ShaderName;
  constants: Record<string, number>;
  /**
   * The values (4 bytes each) each buffer binding needs for a batch of `count`, by name; where
   * given, {@link Kernel.bind} checks the bound ranges against it (a buffer planned for another
   * shape fails at bind time, naming the binding, instead of computing garbage).
   */
  sizes?: (count: number) => Record<string, number>;
  /**
   * Workgroups for a batch of `count`: `[linear, y]`, the linear count folded into x and z
   * (the kernel computes `wid.z * nwg.x + wid.x`), or `[x, y, z]` used as they are.
   */
  groups(count: number): [number, number] | [number, number, number];
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
/** 1-D kernels: one invocation per element, workgroups of 64. */
const perElement = (perSample: number) => (count: number): [number, number] => [
  ceilDiv(count * perSample, 64),
  1,
];

/**
 * Shape of a convolution (as `src/shapes.ts`'s `Conv2DShape`, without the batch): stride
 * `SH x SW` (default 1), zero padding `PT, PL, PB, PR` above, left, below, right (default 0),
 * and the output plane `OH x OW`, as the plan's `outShape` gives it (the kernels compute no
 * output size: a caller without a plan takes it from `conv2dOutputSize` in `src/shapes.ts`).
 * The bottom and right padding are implied by `OH x OW`; the kernels do not read `PB`, `PR`.
 */
export interface ConvDims {
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  SH?: number;
  SW?: number;
  PT?: number;
  PL?: number;
  PB?: number;
  PR?: number;
  /** Output height, `floor((H + PT + PB - KH) / SH) + 1`. */
  OH: number;
  /** Output width, `floor((W + PL + PR - KW) / SW) + 1`. */
  OW: number;
}

/**
 * The dims of a convolution layer.
 *
 * @param layer The layer's plan.
 * @returns Its shape without the batch, the output plane from its `outShape`.
 */
export function convDims(layer: Conv2DPlan): ConvDims {
  const [C, H, W] = layer.inShape;
  const [O, OH, OW] = layer.outShape;
  return {
    C,
    H,
    W,
    O,
    KH: layer.kernelH,
    KW: layer.kernelW,
    SH: layer.strideH,
    SW: layer.strideW,
    PT: layer.padTop,
    PL: layer.padLeft,
    PB: layer.padBottom,
    PR: layer.padRight,
    OH,
    OW,
  };
}

/** The override constants of the three conv2d kernels (shape, stride, top/left padding). */
function convConstants(d: ConvDims) {
  return {
    C: d.C,
    H: d.H,
    W: d.W,
    O: d.O,
    KH: d.KH,
    KW: d.KW,
    OH: d.OH,
    OW: d.OW,
    SH: d.SH ?? 1,
    SW: d.SW ?? 1,
    PT: d.PT ?? 0,
    PL: d.PL ?? 0,
  };
}

/** Of two block sizes, the one that rounds `n` up the least (the first on a tie). */
const leastWaste = (n: number, a: number, b: number) =>
  Math.ceil(n / b) * b < Math.ceil(n / a) * a ? b : a;

/**
 * How conv2d_backward_weight.wgsl is laid out: one invocation per (c, i, `JB` kernel columns)
 * plus one for the bias (`lanes`), each with `OB` output channels (JB 5 or 4, OB 10 or 8,
 * whichever wastes less: LeNet 5 and 10, a 3x3 kernel with 32 channels 4 and 8); `WG`
 * invocations per workgroup (a multiple of 8, at most 256), and `S` batch slices so that
 * about 4096 invocations share the work.
 */
export function convWeightLayout(
  d: ConvDims,
): { S: number; WG: number; lanes: number; JB: number; OB: number } {
  const JB = leastWaste(d.KW, 5, 4), OB = leastWaste(d.O, 10, 8);
  const lanes = d.C * d.KH * Math.ceil(d.KW / JB) + 1;
  const WG = Math.min(256, Math.ceil(lanes / 8) * 8);
  const perSlice = Math.ceil(lanes / WG) * WG * Math.ceil(d.O / OB);
  return { S: Math.min(256, Math.max(1, Math.ceil(4096 / perSlice))), WG, lanes, JB, OB };
}

/** Batch slices of conv2d_backward_weight.wgsl (its partial sums are [S, O*C*KH*KW + O]). */
export function convWeightSplits(d: ConvDims): number {
  return convWeightLayout(d).S;
}

/**
 * Shape of a max or average pooling (as `cpu/maxpool2d.ts`, without the batch): window
 * `PH x PW`, stride `SH x SW` (default the window), and the output plane `OH x OW`, as the
 * plan's `outShape` gives it (the kernels compute no output size: a caller without a plan
 * takes it from `poolOutputSize` in `src/shapes.ts`). A global average pooling is the window
 * `H x W` with a `1 x 1` output.
 */
export interface PoolDims {
  C: number;
  H: number;
  W: number;
  PH: number;
  PW: number;
  SH?: number;
  SW?: number;
  ignoreBorder: boolean;
  /** Max pooling's backward tie rule (default `"first"`). */
  ties?: "first" | "all";
  /** Output height (0 when `ignoreBorder` and the window is taller than the input). */
  OH: number;
  /** Output width. */
  OW: number;
}

/**
 * The dims of a pooling layer.
 *
 * @param layer The layer's plan.
 * @returns Its shape without the batch, the output plane from its `outShape` (`1 x 1` for a
 *   global pooling, whose `outShape` is `[C]`).
 */
export function poolDims(layer: Pool2DPlan): PoolDims {
  const [C, H, W] = layer.inShape;
  const [OH, OW] = layer.outShape.length === 3 ? [layer.outShape[1], layer.outShape[2]] : [1, 1];
  return {
    C,
    H,
    W,
    PH: layer.poolH,
    PW: layer.poolW,
    SH: layer.strideH,
    SW: layer.strideW,
    ignoreBorder: layer.ignoreBorder,
    ties: layer.ties,
    OH,
    OW,
  };
}

/** The override constants of the pooling kernels (shape, strides filled in, output plane). */
function poolConstants(d: PoolDims) {
  return {
    C: d.C,
    H: d.H,
    W: d.W,
    PH: d.PH,
    PW: d.PW,
    SH: d.SH ?? d.PH,
    SW: d.SW ?? d.PW,
    OH: d.OH,
    OW: d.OW,
  };
}

/** A pooling forward (max or average): one invocation per output. */
function poolForward(shader: "maxpool2d_forward" | "avgpool2d_forward", d: PoolDims): KernelSpec {
  const c = poolConstants(d);
  return {
    shader,
    constants: c,
    sizes: (n) => ({ inp: n * d.C * d.H * d.W, out: n * d.C * c.OH * c.OW }),
    groups: perElement(d.C * c.OH * c.OW),
  };
}

/** Every op's kernel spec, by op. */
export const specs = {
  loadBatch: (sample: number): KernelSpec => ({
    shader: "load_batch",
    sizes: (n) => ({ bytes: ceilDiv(n * sample + 3, 4), x: n * sample }),
    constants: { SAMPLE: sample },
    groups: perElement(sample),
  }),
  conv2dForward: (d: ConvDims): KernelSpec => {
    const c = convConstants(d), weights = d.O * d.C * d.KH * d.KW;
    // 64 images per workgroup; y: 8-channel blocks x rows x 8-column blocks.
    const y = ceilDiv(d.O, 8) * c.OH * ceilDiv(c.OW, 8);
    return {
      shader: "conv2d_forward",
      constants: c,
      sizes: (n) => ({ inp: n * d.C * d.H * d.W, w: weights, b: d.O, out: n * d.O * c.OH * c.OW }),
      groups: (n) => [ceilDiv(n, 64), y],
    };
  },
  conv2dBackwardInput: (d: ConvDims): KernelSpec => {
    // 64 images per workgroup; y: 4-channel blocks x rows x 12-column blocks.
    const y = ceilDiv(d.C, 4) * d.H * ceilDiv(d.W, 12);
    const c = convConstants(d);
    return {
      shader: "conv2d_backward_input",
      sizes: (n) => ({
        dOut: n * d.O * c.OH * c.OW,
        w: d.O * d.C * d.KH * d.KW,
        dx: n * d.C * d.H * d.W,
      }),
      constants: c,
      groups: (n) => [ceilDiv(n, 64), y],
    };
  },
  /** First pass of dw and db: partial sums over `convWeightSplits(d)` batch slices. */
  conv2dBackwardWeight: (d: ConvDims): KernelSpec => {
    const { S, WG, lanes, JB, OB } = convWeightLayout(d);
    const c = convConstants(d);
    return {
      shader: "conv2d_backward_weight",
      sizes: (n) => ({
        dOut: n * d.O * c.OH * c.OW,
        inp: n * d.C * d.H * d.W,
        partial: S * (d.O * d.C * d.KH * d.KW + d.O),
      }),
      constants: { ...c, S, WG, JB, OB },
      groups: () => [ceilDiv(lanes, WG), ceilDiv(d.O, OB), S],
    };
  },
  /** out[k] (k < K), then outB[k - K] (k < K + B) = sum of the S partial sums partial[s, k]. */
  splitSum: (S: number, K: number, B: number): KernelSpec => ({
    shader: "split_sum",
    sizes: () => ({ partial: S * (K + B), out: K, outB: B }),
    constants: { S, K, B },
    groups: () => [ceilDiv(K + B, 64), 1],
  }),
  /** db[k] = sum over batch and the P positions of channel k (dense; conv's is in its dw). */
  biasBackward: (K: number, P: number): KernelSpec => ({
    shader: "bias_backward",
    sizes: (n) => ({ dOut: n * K * P, db: K }),
    constants: { K, P },
    groups: () => [K, 1],
  }),
  /** out = inp + b[c] over `C` channels of `P` values per sample. */
  biasForward: (C: number, P: number): KernelSpec => ({
    shader: "bias_forward",
    sizes: (n) => ({ inp: n * C * P, b: C, out: n * C * P }),
    constants: { C, P },
    groups: perElement(C * P),
  }),
  maxPool2dForward: (d: PoolDims): KernelSpec => poolForward("maxpool2d_forward", d),
  /**
   * Windows apart (stride >= window): one invocation per window, writing the inputs it owns;
   * overlapping (or no) windows: one per input, gathering (the shader makes the same choice).
   */
  maxPool2dBackward: (d: PoolDims): KernelSpec => {
    const c = poolConstants(d);
    const apart = c.SH >= c.PH && c.SW >= c.PW && c.OH > 0 && c.OW > 0;
    return {
      shader: "maxpool2d_backward",
      constants: { ...c, TIES: d.ties === "all" ? 1 : 0 },
      sizes: (n) => ({
        dOut: n * d.C * c.OH * c.OW,
        inp: n * d.C * d.H * d.W,
        dx: n * d.C * d.H * d.W,
      }),
      groups: perElement(apart ? d.C * c.OH * c.OW : d.C * d.H * d.W),
    };
  },
  avgPool2dForward: (d: PoolDims): KernelSpec => poolForward("avgpool2d_forward", d),
  /** One invocation per input, gathering from the windows that contain it. */
  avgPool2dBackward: (d: PoolDims): KernelSpec => {
    const c = poolConstants(d);
    return {
      shader: "avgpool2d_backward",
      constants: c,
      sizes: (n) => ({ dOut: n * d.C * c.OH * c.OW, dx: n * d.C * d.H * d.W }),
      groups: perElement(d.C * d.H * d.W),
    };
  },
  // The dense kernels compute 8 x 8 tiles: 64 column blocks of 8 per workgroup, y over rows.
  denseForward: (I: number, J: number): KernelSpec => ({
    shader: "dense_forward",
    sizes: (n) => ({ x: n * I, w: I * J, b: J, out: n * J }),
    constants: { I, J },
    groups: (n) => [ceilDiv(ceilDiv(J, 8), 64), ceilDiv(n, 8)],
  }),
  denseBackwardInput: (I: number, J: number): KernelSpec => ({
    shader: "dense_backward_input",
    sizes: (n) => ({ dOut: n * J, w: I * J, dx: n * I }),
    constants: { I, J },
    groups: (n) => [ceilDiv(ceilDiv(I, 8), 64), ceilDiv(n, 8)],
  }),
  denseBackwardWeight: (I: number, J: number): KernelSpec => ({
    shader: "dense_backward_weight",
    sizes: (n) => ({ x: n * I, dOut: n * J, dw: I * J }),
    constants: { I, J },
    groups: () => [ceilDiv(ceilDiv(J, 8), 64), ceilDiv(I, 8)],
  }),
  /** An activation of `ACTIVATIONS`; its backward reads x or y as the entry's `from` says. */
  activation: (
    kind: ActivationKind,
    direction: "forward" | "backward",
    size: number,
  ): KernelSpec => ({
    shader: `${kind}_${direction}`,
    sizes: (n): Record<string, number> =>
      direction === "forward"
        ? { inp: n * size, out: n * size }
        : { dOut: n * size, [ACTIVATIONS[kind].from]: n * size, dx: n * size },
    constants: { SIZE: size },
    groups: perElement(size),
  }),
  /**
   * Inverted dropout of `size` values per sample: `mode` "train" draws the mask of layer
   * `layer` from (params.seed, params.step); "eval" is the identity (threshold 0, scale 1).
   */
  dropout: (
    direction: "forward" | "backward",
    size: number,
    rate: number,
    layer: number,
    mode: "train" | "eval" = "train",
  ): KernelSpec => ({
    shader: `dropout_${direction}`,
    constants: {
      SIZE: size,
      LAYER: layer,
      THRESHOLD: mode === "train" ? dropoutThreshold(rate) : 0,
      SCALE: mode === "train" ? dropoutScale(rate) : 1,
    },
    sizes: (n): Record<string, number> =>
      direction === "forward" ? { inp: n * size, out: n * size } : { dOut: n * size, dx: n * size },
    groups: perElement(size),
  }),
  /** Batch statistics, running-average update, normalisation: one workgroup per channel. */
  batchNormForwardTrain: (C: number, P: number, epsilon: number, momentum: number): KernelSpec => ({
    shader: "batchnorm_forward_train",
    constants: { C, P, EPSILON: epsilon, MOMENTUM: momentum },
    sizes: (n) => ({
      x: n * C * P,
      gamma: C,
      beta: C,
      runMean: C,
      runVar: C,
      saveMean: C,
      saveInvStd: C,
      y: n * C * P,
    }),
    groups: () => [C, 1],
  }),
  batchNormForwardEval: (C: number, P: number, epsilon: number): KernelSpec => ({
    shader: "batchnorm_forward_eval",
    constants: { C, P, EPSILON: epsilon },
    sizes: (n) => ({ x: n * C * P, gamma: C, beta: C, runMean: C, runVar: C, y: n * C * P }),
    groups: perElement(C * P),
  }),
  /** dγ, dβ and dx of training-mode batch norm: one workgroup per channel. */
  batchNormBackward: (C: number, P: number): KernelSpec => ({
    shader: "batchnorm_backward",
    constants: { C, P },
    sizes: (n) => ({
      dOut: n * C * P,
      x: n * C * P,
      gamma: C,
      saveMean: C,
      saveInvStd: C,
      dGamma: C,
      dBeta: C,
      dx: n * C * P,
    }),
    groups: () => [C, 1],
  }),
  softmaxForward: (classes: number): KernelSpec => ({
    shader: "softmax_forward",
    sizes: (n) => ({ z: n * classes, out: n * classes }),
    constants: { CLASSES: classes },
    groups: perElement(1),
  }),
  softmaxNllBackward: (classes: number): KernelSpec => ({
    shader: "softmax_nll_backward",
    sizes: (n) => ({ z: n * classes, labels: n, dz: n * classes }),
    constants: { CLASSES: classes },
    groups: perElement(1),
  }),
  nllLoss: (classes: number): KernelSpec => ({
    shader: "nll_loss",
    sizes: (n) => ({ z: n * classes, labels: n, result: 2 }),
    constants: { CLASSES: classes },
    groups: () => [1, 1],
  }),
  sgdUpdate: (size: number): KernelSpec => ({
    shader: "sgd_update",
    sizes: () => ({ g: size, p: size, v: size, result: 2, flag: 1 }),
    constants: {},
    groups: () => [ceilDiv(size, 64), 1],
  }),
  adamUpdate: (size: number): KernelSpec => ({
    shader: "adam_update",
    constants: {},
    sizes: () => ({ g: size, p: size, m: size, v: size, result: 2, flag: 1 }),
    groups: () => [ceilDiv(size, 64), 1],
  }),
};

/** A buffer, or a byte range of one, bound to a kernel. */
export type Binding = GPUBuffer | GPUBufferBinding;

/** A kernel compiled for one shape; binds buffers into reusable dispatches. */
export class Kernel {
  readonly spec: KernelSpec;
  readonly pipeline: GPUComputePipeline;
  readonly #device: GPUDevice;

  private constructor(device: GPUDevice, spec: KernelSpec, pipeline: GPUComputePipeline) {
    this.#device = device;
    this.spec = spec;
    this.pipeline = pipeline;
  }

  /**
   * Compiles a spec.
   *
   * @param device The device.
   * @param spec Shader, constants, grid.
   * @returns The compiled kernel.
   */
  static async create(device: GPUDevice, spec: KernelSpec): Promise<Kernel> {
    const names: readonly string[] = SHADER_BINDINGS[spec.shader];
    const unknown = Object.keys(spec.sizes?.(1) ?? {}).filter((n) => !names.includes(n));
    if (unknown.length) {
      throw new Error(
        `WebGPU: the spec of shaders/${spec.shader}.wgsl gives sizes of [${unknown}], ` +
          `not bindings of the shader: [${names}]`,
      );
    }
    return new Kernel(device, spec, await pipelineFor(device, spec.shader, spec.constants));
  }

  /** The shader's binding names, in binding order (its `var`s; `SHADER_BINDINGS`). */
  get bindings(): readonly string[] {
    return SHADER_BINDINGS[this.spec.shader];
  }

  /**
   * Creates the bind group once; the returned dispatch is recorded every step.
   *
   * @param bindings A buffer (or a range of one) for every binding of the shader, by name
   *   ({@link Kernel.bindings}).
   * @param count The largest batch the dispatch will record: with `spec.sizes`, every bound
   *   range must hold what that batch needs.
   * @returns A dispatch to record.
   * @throws {Error} If a name is missing or unknown, or a range is too small.
   */
  bind(bindings: Record<string, Binding>, count?: number): Dispatch {
    const names = this.bindings;
    const missing = names.filter((n) => !(n in bindings));
    const unknown = Object.keys(bindings).filter((n) => !names.includes(n));
    if (missing.length || unknown.length) {
      throw new Error(
        `WebGPU: shaders/${this.spec.shader}.wgsl binds [${names}]; ` +
          `missing [${missing}], unknown [${unknown}]`,
      );
    }
    if (count !== undefined && this.spec.sizes) {
      for (const [name, values] of Object.entries(this.spec.sizes(count))) {
        const b = bindings[name];
        const bytes = b instanceof GPUBuffer ? b.size : b.size ?? b.buffer.size - (b.offset ?? 0);
        if (bytes < values * 4) {
          throw new Error(
            `WebGPU: shaders/${this.spec.shader}.wgsl: binding "${name}" needs ${values * 4} ` +
              `bytes at batch ${count}, the buffer bound has ${bytes}`,
          );
        }
      }
    }
    const entries = names.map((name, binding) => {
      const b = bindings[name];
      return { binding, resource: b instanceof GPUBuffer ? { buffer: b } : b };
    });
    const group = this.#device.createBindGroup({
      label: this.spec.shader,
      layout: this.pipeline.getBindGroupLayout(0),
      entries,
    });
    return new Dispatch(this, group, this.#device.limits.maxComputeWorkgroupsPerDimension);
  }
}

/** A kernel with its buffers bound: records itself into a compute pass. */
export class Dispatch {
  constructor(
    readonly kernel: Kernel,
    readonly group: GPUBindGroup,
    readonly maxPerDimension: number,
  ) {}

  /**
   * Records the dispatch for a batch of `count` samples.
   *
   * @param pass The open compute pass.
   * @param count Samples in the batch.
   */
  record(pass: GPUComputePassEncoder, count: number): void {
    const groups = this.kernel.spec.groups(count);
    const max = this.maxPerDimension;
    let [x, y, z] = groups;
    if (groups.length === 2) {
      const linear = groups[0];
      x = Math.min(linear, max);
      z = Math.ceil(linear / Math.max(x, 1));
    }
    if (x === 0 || z === 0) return;
    if (x > max || y > max || z! > max) {
      throw new RangeError(
        `WebGPU: shaders/${this.kernel.spec.shader}.wgsl needs ${groups.join(" x ")} workgroups, ` +
          `over this device's maxComputeWorkgroupsPerDimension (${max})`,
      );
    }
    pass.setPipeline(this.kernel.pipeline);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(x, y, z!);
  }
}
