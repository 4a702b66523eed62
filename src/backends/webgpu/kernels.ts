/**
 * The kernels as the executor and the tests use them: for each op, which shader, its
 * override constants (the shapes) and how many workgroups a batch of `count` needs; and
 * {@link Kernel}, a compiled pipeline that binds buffers once and records dispatches.
 *
 * Dimension letters as in `src/backend.ts`; every kernel's binding 0 is the step's
 * uniform {@link PARAMS_SIZE}-byte block (count, byte offset, scale, lr, momentum).
 *
 * @module
 */
import { pipelineFor, type ShaderName } from "./device.ts";

/** Bytes of the uniform block every kernel reads at binding 0. */
export const PARAMS_SIZE = 32;

/**
 * Packs the uniform block: `count` (u32), `byteOffset` (u32), `scale`, `lr`, `momentum` (f32).
 *
 * @returns The 32 bytes to write.
 */
export function packParams(
  p: { count: number; byteOffset?: number; scale?: number; lr?: number; momentum?: number },
): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_SIZE);
  const u = new Uint32Array(buf), f = new Float32Array(buf);
  u[0] = p.count;
  u[1] = p.byteOffset ?? 0;
  f[2] = p.scale ?? 1;
  f[3] = p.lr ?? 0;
  f[4] = p.momentum ?? 0;
  return buf;
}

/** What an op needs to run: its shader, shapes as override constants, and its grid. */
export interface KernelSpec {
  shader: ShaderName;
  constants: Record<string, number>;
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

/** Shape of a convolution (as `cpu/conv2d.ts`, without the batch). */
export interface ConvDims {
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
}

function convConstants(d: ConvDims) {
  return { ...d, OH: d.H - d.KH + 1, OW: d.W - d.KW + 1 };
}

/**
 * How conv2d_backward_weight.wgsl is laid out: one invocation per (c, i, 5 kernel columns)
 * plus one for the bias (`lanes`), each with 10 output channels; `WG` invocations per workgroup (a multiple of 8,
 * at most 256), and `S` batch slices so that about 4096 invocations share the work.
 */
export function convWeightLayout(d: ConvDims): { S: number; WG: number; lanes: number } {
  const lanes = d.C * d.KH * Math.ceil(d.KW / 5) + 1;
  const WG = Math.min(256, Math.ceil(lanes / 8) * 8);
  const perSlice = Math.ceil(lanes / WG) * WG * Math.ceil(d.O / 10);
  return { S: Math.min(256, Math.max(1, Math.ceil(4096 / perSlice))), WG, lanes };
}

/** Batch slices of conv2d_backward_weight.wgsl (its partial sums are [S, O*C*KH*KW + O]). */
export function convWeightSplits(d: ConvDims): number {
  return convWeightLayout(d).S;
}

/** Shape of a max pooling (as `cpu/maxpool2d.ts`, without the batch). */
export interface PoolDims {
  C: number;
  H: number;
  W: number;
  PH: number;
  PW: number;
  ignoreBorder: boolean;
}

function poolConstants(d: PoolDims) {
  const round = d.ignoreBorder ? Math.floor : Math.ceil;
  return {
    C: d.C,
    H: d.H,
    W: d.W,
    PH: d.PH,
    PW: d.PW,
    OH: round(d.H / d.PH),
    OW: round(d.W / d.PW),
  };
}

/** Every op's kernel spec, by op. */
export const specs = {
  loadBatch: (sample: number): KernelSpec => ({
    shader: "load_batch",
    constants: { SAMPLE: sample },
    groups: perElement(sample),
  }),
  conv2dForward: (d: ConvDims): KernelSpec => {
    const c = convConstants(d);
    // 64 images per workgroup; y: 8-channel blocks x rows x 8-column blocks.
    const y = ceilDiv(d.O, 8) * c.OH * ceilDiv(c.OW, 8);
    return { shader: "conv2d_forward", constants: c, groups: (n) => [ceilDiv(n, 64), y] };
  },
  conv2dBackwardInput: (d: ConvDims): KernelSpec => {
    // 64 images per workgroup; y: 4-channel blocks x rows x 12-column blocks.
    const y = ceilDiv(d.C, 4) * d.H * ceilDiv(d.W, 12);
    return {
      shader: "conv2d_backward_input",
      constants: convConstants(d),
      groups: (n) => [ceilDiv(n, 64), y],
    };
  },
  /** First pass of dw and db: partial sums over `convWeightSplits(d)` batch slices. */
  conv2dBackwardWeight: (d: ConvDims): KernelSpec => {
    const { S, WG, lanes } = convWeightLayout(d);
    return {
      shader: "conv2d_backward_weight",
      constants: { ...convConstants(d), S, WG },
      groups: () => [ceilDiv(lanes, WG), ceilDiv(d.O, 10), S],
    };
  },
  /** out[k] (k < K), then outB[k - K] (k < K + B) = sum of the S partial sums partial[s, k]. */
  splitSum: (S: number, K: number, B: number): KernelSpec => ({
    shader: "split_sum",
    constants: { S, K, B },
    groups: () => [ceilDiv(K + B, 64), 1],
  }),
  /** db[k] = sum over batch and the P positions of channel k (dense; conv's is in its dw). */
  biasBackward: (K: number, P: number): KernelSpec => ({
    shader: "bias_backward",
    constants: { K, P },
    groups: () => [K, 1],
  }),
  maxPool2dForward: (d: PoolDims): KernelSpec => {
    const c = poolConstants(d);
    return { shader: "maxpool2d_forward", constants: c, groups: perElement(d.C * c.OH * c.OW) };
  },
  maxPool2dBackward: (d: PoolDims): KernelSpec => {
    const c = poolConstants(d);
    return { shader: "maxpool2d_backward", constants: c, groups: perElement(d.C * c.OH * c.OW) };
  },
  // The dense kernels compute 8 x 8 tiles: 64 column blocks of 8 per workgroup, y over rows.
  denseForward: (I: number, J: number): KernelSpec => ({
    shader: "dense_forward",
    constants: { I, J },
    groups: (n) => [ceilDiv(ceilDiv(J, 8), 64), ceilDiv(n, 8)],
  }),
  denseBackwardInput: (I: number, J: number): KernelSpec => ({
    shader: "dense_backward_input",
    constants: { I, J },
    groups: (n) => [ceilDiv(ceilDiv(I, 8), 64), ceilDiv(n, 8)],
  }),
  denseBackwardWeight: (I: number, J: number): KernelSpec => ({
    shader: "dense_backward_weight",
    constants: { I, J },
    groups: () => [ceilDiv(ceilDiv(J, 8), 64), ceilDiv(I, 8)],
  }),
  activation: (
    kind: "tanh" | "sigmoid",
    direction: "forward" | "backward",
    size: number,
  ): KernelSpec => ({
    shader: `${kind}_${direction}`,
    constants: { SIZE: size },
    groups: perElement(size),
  }),
  softmaxForward: (classes: number): KernelSpec => ({
    shader: "softmax_forward",
    constants: { CLASSES: classes },
    groups: perElement(1),
  }),
  softmaxNllBackward: (classes: number): KernelSpec => ({
    shader: "softmax_nll_backward",
    constants: { CLASSES: classes },
    groups: perElement(1),
  }),
  nllLoss: (classes: number): KernelSpec => ({
    shader: "nll_loss",
    constants: { CLASSES: classes },
    groups: () => [1, 1],
  }),
  sgdUpdate: (size: number): KernelSpec => ({
    shader: "sgd_update",
    constants: {},
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
    return new Kernel(device, spec, await pipelineFor(device, spec.shader, spec.constants));
  }

  /**
   * Creates the bind group once; the returned dispatch is recorded every step.
   *
   * @param bindings Buffers in binding order (binding 0: the uniform block).
   * @returns A dispatch to record.
   */
  bind(bindings: Binding[]): Dispatch {
    const entries = bindings.map((b, binding) => ({
      binding,
      resource: b instanceof GPUBuffer ? { buffer: b } : b,
    }));
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
