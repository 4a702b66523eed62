/**
 * The layers a {@link Sequential} model is built from, and the planner that resolves
 * their shapes into a {@link NetworkPlan}. Each layer class knows how it is planned
 * (`plan()`: output shape, parameters, initialisation); the planner only chains them.
 *
 * @module
 */
import type { LayerPlan, NetworkPlan, ParamSpec } from "./backend.ts";
import { convWeightBound, denseWeightBound, heWeightBound } from "../cpu/init.ts";
import { conv2dOutputSize, conv2dPadding, poolOutputSize } from "./shapes.ts";
import type { MaxPoolTies } from "../cpu/maxpool2d.ts";
import { type ActivationKind, ACTIVATIONS } from "./activations.ts";
import {
  checkBoolean,
  checkChoice,
  checkInteger,
  checkNumber,
  checkOptions,
  checkString,
  describe,
} from "./validate.ts";

/** Any layer accepted by a model. */
export type Layer =
  | Conv2D
  | Bias
  | MaxPool2D
  | AvgPool2D
  | GlobalAvgPool2D
  | Dense
  | Tanh
  | Sigmoid
  | ReLU
  | GELU
  | Dropout
  | BatchNorm2D
  | BatchNorm1D
  | Softmax;

/** What the planner tells a layer about its place in the network. */
export interface PlanContext {
  /** The layer's resolved name. */
  name: string;
  /** `layer i "name" (Kind)`, the start of every error about this layer. */
  where: string;
  /** Index of the layer in the list. */
  index: number;
  /** The layers after this one (for the initialisation rules). */
  next: readonly Layer[];
}

/** What a layer adds to the plan. */
export interface PlannedLayer {
  /** The layer with every shape resolved. */
  plan: LayerPlan;
  /** Its trained tensors (weight then bias). */
  params?: ParamSpec[];
  /** Its tensors that are not trained (batch norm's running averages). */
  state?: ParamSpec[];
}

/** Checks a size option: one integer >= `min` for both axes, or a pair of them. */
function pair(v: unknown, what: string, min = 1): [number, number] {
  const p = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    const numbers = typeof v === "number" ||
      (Array.isArray(v) && v.every((x) => typeof x === "number"));
    const message = `${what} must be ${
      min === 1 ? "a positive" : "a non-negative"
    } integer or a pair of them, got ${describe(v)}`;
    throw numbers ? new RangeError(message) : new TypeError(message);
  }
  return [p[0], p[1]];
}

function expectImage(shape: readonly number[], where: string): [number, number, number] {
  if (shape.length !== 3) {
    throw new RangeError(
      `${where}: expects input [channels, height, width], got ${formatShape(shape)}`,
    );
  }
  return [shape[0], shape[1], shape[2]];
}

const ZEROS = { kind: "zeros" } as const;
const ONES = { kind: "ones" } as const;

/** Whether the weights before `next` start He-uniform under `"auto"`: a ReLU or GELU follows. */
function heAfter(next: readonly Layer[]): boolean {
  const act = activationAfter(next);
  return act === "relu" || act === "gelu";
}

/** The first layer after `next[0..]` that is not a pooling, batch norm or dropout. */
function activationAfter(next: readonly Layer[]): Layer["kind"] | undefined {
  for (const l of next) {
    const passes = ["maxpool2d", "avgpool2d", "batchnorm2d", "batchnorm1d", "dropout", "bias"];
    if (!passes.includes(l.kind)) {
      return l.kind;
    }
  }
  return undefined;
}

/** How a weight is initialised. */
export type WeightInit = "auto" | "tutorial" | "he" | "zeros";

/** Options of {@link Conv2D}. */
export interface Conv2DOptions {
  /** Number of output feature maps (the tutorial's `nkerns[i]`). */
  filters: number;
  /** Kernel size: one number for a square kernel, or `[height, width]`. */
  kernelSize: number | [number, number];
  /** Stride: one number or `[vertical, horizontal]`. Default 1. */
  stride?: number | [number, number];
  /**
   * Zero padding, as PyTorch's `padding`: `"valid"` (default, none), `"same"` (output size =
   * input size; stride 1 only; an even kernel pads one more at the bottom/right), a number for
   * all sides, or `[rows, columns]` added on both sides.
   */
  padding?: "valid" | "same" | number | [number, number];
  /**
   * Weight initialisation. `"auto"` (default): He uniform ±sqrt(6/fan_in) when the next
   * activation (after any pooling, batch norm or dropout) is {@link ReLU} or {@link GELU}, else the
   * tutorial's `"tutorial"` rule. `"he"`, `"tutorial"` force one; the bias starts at zero.
   */
  init?: Exclude<WeightInit, "zeros">;
  /**
   * Whether the layer adds its own bias (default true). The tutorial's `LeNetConvPoolLayer`
   * adds the bias after the pooling: `Conv2D({ useBias: false })`, `MaxPool2D`, {@linkcode Bias}.
   */
  useBias?: boolean;
  /** Name used for the parameters (`<name>.weight`) and in error messages. Default `conv<i>`. */
  name?: string;
}

/**
 * 2-D convolution (a cross-correlation, as in PyTorch and TensorFlow) with zero padding and
 * stride, one bias per output map; weights `[filters, inChannels, kh, kw]`.
 *
 * Theano's `conv2d` flips the kernel, so a Theano weight equals ours rotated by 180 degrees
 * (`flipKernels`). The tutorial's initialisation (`"tutorial"`): uniform in
 * ±sqrt(6 / (fan_in + fan_out)) with fan_out divided by the area of a directly following
 * {@link MaxPool2D}.
 *
 * @example The tutorial's first layer, and a modern 3x3 "same" layer
 * ```ts
 * import { Conv2D } from "./layers.ts";
 * const conv = new Conv2D({ filters: 20, kernelSize: 5 });
 * console.log(conv.filters, conv.kernelSize); // 20 [5, 5]
 * const same = new Conv2D({ filters: 32, kernelSize: 3, padding: "same" });
 * console.log(same.padding, same.stride); // same [1, 1]
 * ```
 */
export class Conv2D {
  /** Discriminant used by the planner. */
  readonly kind = "conv2d" as const;
  /** Number of output feature maps. */
  readonly filters: number;
  /** `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** `[vertical, horizontal]`. */
  readonly stride: [number, number];
  /** As given (default `"valid"`). */
  readonly padding: "valid" | "same" | number | [number, number];
  /** Initialisation rule. */
  readonly init: Exclude<WeightInit, "zeros">;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; shapes are resolved when a model is built.
   *
   * @param options Filters, kernel size, stride, padding, initialisation, bias, optional name.
   */
  constructor(options: Conv2DOptions) {
    checkOptions(options, "Conv2D", false);
    this.filters = checkInteger(options.filters, "Conv2D: filters", { min: 1 });
    this.kernelSize = pair(options.kernelSize, "Conv2D: kernelSize");
    this.stride = options.stride === undefined ? [1, 1] : pair(options.stride, "Conv2D: stride");
    const padding = options.padding === undefined ? "valid" : options.padding;
    if (typeof padding === "number" || Array.isArray(padding)) pair(padding, "Conv2D: padding", 0);
    else if (padding !== "valid" && padding !== "same") {
      const given = typeof padding === "string" ? JSON.stringify(padding) : describe(padding);
      const message = `Conv2D: padding must be "valid", "same", a number or [rows, columns], ` +
        `got ${given}`;
      throw typeof padding === "string" ? new RangeError(message) : new TypeError(message);
    }
    if (padding === "same" && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new RangeError(
        `Conv2D: padding "same" needs stride 1 (as in PyTorch), got stride [${
          this.stride.join(", ")
        }]`,
      );
    }
    this.padding = padding;
    this.init = checkChoice(options.init, "Conv2D: init", ["auto", "tutorial", "he"], "auto");
    this.useBias = checkBoolean(options.useBias, "Conv2D: useBias", true);
    this.name = checkString(options.name, "Conv2D: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample.
   * @param ctx Name, position and following layers.
   * @returns The plan and the parameters.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    const [c, h, w] = expectImage(input, ctx.where);
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    const pad = conv2dPadding(this.padding, kh, kw, sh, sw);
    const shape = {
      batch: 1,
      inChannels: c,
      height: h,
      width: w,
      outChannels: this.filters,
      kernelH: kh,
      kernelW: kw,
      strideH: sh,
      strideW: sw,
      padTop: pad.top,
      padLeft: pad.left,
      padBottom: pad.bottom,
      padRight: pad.right,
    };
    if (kh > h + pad.top + pad.bottom || kw > w + pad.left + pad.right) {
      throw new RangeError(
        `${ctx.where}: kernel ${kh}x${kw} does not fit input ${formatShape(input)}${
          pad.top + pad.left + pad.bottom + pad.right ? " with its padding" : ""
        }`,
      );
    }
    const { outH, outW } = conv2dOutputSize(shape);
    const next = ctx.next[0];
    const he = this.init === "he" || (this.init === "auto" && heAfter(ctx.next));
    const poolArea = next?.kind === "maxpool2d" ? next.poolSize[0] * next.poolSize[1] : 1;
    const weight: ParamSpec = {
      name: `${ctx.name}.weight`,
      shape: [this.filters, c, kh, kw],
      init: {
        kind: "uniform",
        bound: he ? heWeightBound(c * kh * kw) : convWeightBound(this.filters, c, kh, kw, poolArea),
      },
    };
    const bias: ParamSpec | null = this.useBias
      ? { name: `${ctx.name}.bias`, shape: [this.filters], init: ZEROS }
      : null;
    return {
      plan: {
        kind: "conv2d",
        name: ctx.name,
        inShape: [c, h, w],
        outShape: [this.filters, outH, outW],
        kernelH: kh,
        kernelW: kw,
        strideH: sh,
        strideW: sw,
        padTop: pad.top,
        padLeft: pad.left,
        padBottom: pad.bottom,
        padRight: pad.right,
        weight,
        bias,
      },
      params: bias ? [weight, bias] : [weight],
    };
  }
}

/** Options of {@link Bias}. */
export interface BiasOptions {
  /** Name used for the parameter (`<name>.bias`) and in error messages. Default `bias<i>`. */
  name?: string;
}

/**
 * A learned bias per channel, starting at zero: `y[n, c, …] = x[n, c, …] + b[c]` (per feature
 * for `[K]` inputs). The tutorial's `LeNetConvPoolLayer` adds its bias after the max pooling,
 * `tanh(pool(conv(x)) + b)`: with {@linkcode MaxPool2D}'s `ties: "all"` only this placement
 * gives Theano's bias gradient (a tied window's gradient reaches the bias once, not once per
 * tied input).
 *
 * @example The tutorial's convolution + pooling layer
 * ```ts
 * import { Bias, Conv2D, MaxPool2D, Tanh } from "./layers.ts";
 * const layers = [
 *   new Conv2D({ filters: 20, kernelSize: 5, useBias: false }),
 *   new MaxPool2D({ poolSize: 2, ties: "all" }),
 *   new Bias(),
 *   new Tanh(),
 * ];
 * console.log(layers.map((l) => l.kind).join(" ")); // conv2d maxpool2d bias tanh
 * ```
 */
export class Bias {
  /** Discriminant used by the planner. */
  readonly kind = "bias" as const;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param options Optional name.
   */
  constructor(options: BiasOptions = {}) {
    checkOptions(options, "Bias", true);
    this.name = checkString(options.name, "Bias: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample: `[C, H, W]` or `[K]`.
   * @param ctx Name and position.
   * @returns The plan (same shape out as in) and the bias `[C]`.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    if (input.length !== 3 && input.length !== 1) {
      throw new RangeError(
        `${ctx.where}: expects [channels, height, width] or [features], got ${formatShape(input)}`,
      );
    }
    const bias: ParamSpec = { name: `${ctx.name}.bias`, shape: [input[0]], init: ZEROS };
    return {
      plan: {
        kind: "bias",
        name: ctx.name,
        inShape: [...input],
        outShape: [...input],
        channels: input[0],
        positions: product(input) / input[0],
        bias,
      },
      params: [bias],
    };
  }
}

/** Options of {@link MaxPool2D} and {@link AvgPool2D}. */
export interface Pool2DOptions {
  /** Window size: one number or `[height, width]`. */
  poolSize: number | [number, number];
  /** Stride: one number or `[vertical, horizontal]`. Default: the window size (no overlap). */
  strides?: number | [number, number];
  /**
   * Theano's `ignore_border`: true (default, as in the tutorial's LeNet) drops a partial
   * window at the bottom/right border, false keeps it (PyTorch's `ceil_mode=True`).
   */
  ignoreBorder?: boolean;
  /** Name used in error messages. Default `pool<i>`. */
  name?: string;
}

/** Options of {@linkcode MaxPool2D}: those of every pooling, and the tie rule of backward. */
export interface MaxPool2DOptions extends Pool2DOptions {
  /**
   * Where backward sends a window's gradient when several of its elements equal the maximum:
   * `"first"` (default, PyTorch): to the first in row-major order; `"all"` (Theano's
   * `MaxPoolGrad`, the tutorial's): to every one of them.
   */
  ties?: MaxPoolTies;
}

/** Checks pooling options once: window, strides (default: the window), border mode. */
function poolSettings(
  o: Pool2DOptions,
  layer: string,
): [[number, number], [number, number], boolean] {
  checkOptions(o, layer, false);
  const poolSize = pair(o.poolSize, `${layer}: poolSize`);
  const strides = o.strides === undefined ? poolSize : pair(o.strides, `${layer}: strides`);
  return [poolSize, strides, checkBoolean(o.ignoreBorder, `${layer}: ignoreBorder`, true)];
}

function planPool(
  kind: "maxpool2d" | "avgpool2d",
  layer: {
    poolSize: [number, number];
    strides: [number, number];
    ignoreBorder: boolean;
    ties?: MaxPoolTies;
  },
  input: readonly number[],
  ctx: PlanContext,
): PlannedLayer {
  const [c, h, w] = expectImage(input, ctx.where);
  const [ph, pw] = layer.poolSize;
  const [sh, sw] = layer.strides;
  const outH = poolOutputSize(h, ph, sh, layer.ignoreBorder);
  const outW = poolOutputSize(w, pw, sw, layer.ignoreBorder);
  if (outH < 1 || outW < 1) {
    throw new RangeError(
      `${ctx.where}: pool ${ph}x${pw} with ignoreBorder gives an empty output for input ${
        formatShape(input)
      }`,
    );
  }
  return {
    plan: {
      kind,
      name: ctx.name,
      inShape: [c, h, w],
      outShape: [c, outH, outW],
      poolH: ph,
      poolW: pw,
      strideH: sh,
      strideW: sw,
      ignoreBorder: layer.ignoreBorder,
      ...(kind === "maxpool2d" ? { ties: layer.ties ?? "first" } : {}),
    },
  };
}

/**
 * Max pooling, exactly Theano's `max_pool_2d` when the stride is the window (the default);
 * with a smaller stride the windows overlap (e.g. 3x3 stride 2), as PyTorch's `MaxPool2d`.
 *
 * Backward routes each output gradient to the first maximum of its window in row-major
 * order (summed where windows overlap), or with `ties: "all"` to every element equal to the
 * maximum, as Theano's `MaxPoolGrad` (the tutorial's rule).
 *
 * @example
 * ```ts
 * import { MaxPool2D } from "./layers.ts";
 * const pool = new MaxPool2D({ poolSize: 2, ignoreBorder: false, ties: "all" });
 * console.log(pool.poolSize, pool.strides, pool.ignoreBorder, pool.ties); // [2, 2] [2, 2] false all
 * ```
 */
export class MaxPool2D {
  /** Discriminant used by the planner. */
  readonly kind = "maxpool2d" as const;
  /** `[ph, pw]`. */
  readonly poolSize: [number, number];
  /** `[vertical, horizontal]`. */
  readonly strides: [number, number];
  /** Keep (false) or drop (true) partial border windows. */
  readonly ignoreBorder: boolean;
  /** Backward's tie rule: `"first"` maximum or `"all"` of them. */
  readonly ties: MaxPoolTies;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; shapes are resolved when a model is built.
   *
   * @param options Pool size, strides, border mode, tie rule, optional name.
   */
  constructor(options: MaxPool2DOptions) {
    [this.poolSize, this.strides, this.ignoreBorder] = poolSettings(options, "MaxPool2D");
    this.ties = checkChoice(options.ties, "MaxPool2D: ties", ["first", "all"], "first");
    this.name = checkString(options.name, "MaxPool2D: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample.
   * @param ctx Name and position.
   * @returns The plan.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    return planPool("maxpool2d", this, input, ctx);
  }
}

/**
 * Average pooling, as PyTorch's `AvgPool2d` (padding 0): the mean of the window's values; with
 * `ignoreBorder: false` a partial border window averages the values it holds.
 *
 * @example
 * ```ts
 * import { AvgPool2D } from "./layers.ts";
 * const pool = new AvgPool2D({ poolSize: 3, strides: 2 });
 * console.log(pool.poolSize, pool.strides); // [3, 3] [2, 2]
 * ```
 */
export class AvgPool2D {
  /** Discriminant used by the planner. */
  readonly kind = "avgpool2d" as const;
  /** `[ph, pw]`. */
  readonly poolSize: [number, number];
  /** `[vertical, horizontal]`. */
  readonly strides: [number, number];
  /** Keep (false) or drop (true) partial border windows. */
  readonly ignoreBorder: boolean;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; shapes are resolved when a model is built.
   *
   * @param options Pool size, strides, border mode, optional name.
   */
  constructor(options: Pool2DOptions) {
    [this.poolSize, this.strides, this.ignoreBorder] = poolSettings(options, "AvgPool2D");
    this.name = checkString(options.name, "AvgPool2D: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample.
   * @param ctx Name and position.
   * @returns The plan.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    return planPool("avgpool2d", this, input, ctx);
  }
}

/**
 * Global average pooling: `[C, H, W]` to `[C]`, the mean of each plane (PyTorch's
 * `AdaptiveAvgPool2d(1)` then `flatten`).
 *
 * @example
 * ```ts
 * import { GlobalAvgPool2D } from "./layers.ts";
 * console.log(new GlobalAvgPool2D().kind); // "globalavgpool2d"
 * ```
 */
export class GlobalAvgPool2D {
  /** Discriminant used by the planner. */
  readonly kind = "globalavgpool2d" as const;
  /** Optional name used in error messages. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    this.name = checkString(name, "GlobalAvgPool2D: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample.
   * @param ctx Name and position.
   * @returns The plan: an average pooling whose window is the whole plane.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    const [c, h, w] = expectImage(input, ctx.where);
    return {
      plan: {
        kind: "avgpool2d",
        name: ctx.name,
        inShape: [c, h, w],
        outShape: [c],
        poolH: h,
        poolW: w,
        strideH: h,
        strideW: w,
        ignoreBorder: true,
      },
    };
  }
}

/** Options of {@link Dense}. */
export interface DenseOptions {
  /** Number of outputs. */
  units: number;
  /**
   * Weight initialisation. `"auto"` (default) follows the tutorial: zeros when the next
   * layer is {@link Softmax} (LogisticRegression), uniform ±sqrt(6/(in+out)) otherwise, times
   * 4 when the next layer is {@link Sigmoid} (HiddenLayer); He uniform ±sqrt(6/in) when the
   * next activation (after any batch norm or dropout) is {@link ReLU} or {@link GELU}. `"uniform"` is the
   * tutorial's rule without the zeros.
   */
  init?: "auto" | "uniform" | "he" | "zeros";
  /** Name used for the parameters and in error messages. Default `dense<i>`. */
  name?: string;
}

/**
 * Fully connected layer `y = flatten(x) · W + b`, weights `[inFeatures, units]`.
 *
 * @example The tutorial's hidden layer
 * ```ts
 * import { Dense } from "./layers.ts";
 * const hidden = new Dense({ units: 500 });
 * console.log(hidden.units); // 500
 * ```
 */
export class Dense {
  /** Discriminant used by the planner. */
  readonly kind = "dense" as const;
  /** Number of outputs. */
  readonly units: number;
  /** Initialisation rule. */
  readonly init: "auto" | "uniform" | "he" | "zeros";
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; the input is flattened, whatever its shape.
   *
   * @param options Units, initialisation, optional name.
   */
  constructor(options: DenseOptions) {
    checkOptions(options, "Dense", false);
    this.units = checkInteger(options.units, "Dense: units", { min: 1 });
    const inits = ["auto", "uniform", "he", "zeros"] as const;
    this.init = checkChoice(options.init, "Dense: init", inits, "auto");
    this.name = checkString(options.name, "Dense: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample (flattened).
   * @param ctx Name, position and following layers.
   * @returns The plan and the parameters.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    const inFeatures = product(input);
    const next = ctx.next[0]?.kind;
    const rule = this.init !== "auto"
      ? this.init
      : next === "softmax"
      ? "zeros"
      : heAfter(ctx.next)
      ? "he"
      : "uniform";
    const weight: ParamSpec = {
      name: `${ctx.name}.weight`,
      shape: [inFeatures, this.units],
      init: rule === "zeros" ? ZEROS : {
        kind: "uniform",
        bound: rule === "he"
          ? heWeightBound(inFeatures)
          : denseWeightBound(inFeatures, this.units, { sigmoid: next === "sigmoid" }),
      },
    };
    const bias: ParamSpec = { name: `${ctx.name}.bias`, shape: [this.units], init: ZEROS };
    return {
      plan: {
        kind: "dense",
        name: ctx.name,
        inShape: [...input],
        outShape: [this.units],
        inFeatures,
        outFeatures: this.units,
        weight,
        bias,
      },
      params: [weight, bias],
    };
  }
}

/**
 * The base of the elementwise activation layers, one per entry of `ACTIVATIONS`
 * (`src/activations.ts`, where their formulas, kernels and CPU loops come from).
 *
 * @example
 * ```ts
 * import { ActivationLayer, Tanh } from "./layers.ts";
 * console.log(new Tanh() instanceof ActivationLayer); // true
 * ```
 */
export class ActivationLayer<K extends ActivationKind> {
  /** Discriminant used by the planner. */
  readonly kind: K;
  /** Optional name used in error messages. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param kind The key of `ACTIVATIONS`.
   * @param name Optional name used in error messages.
   */
  constructor(kind: K, name?: string) {
    this.kind = kind;
    this.name = checkString(name, `${ACTIVATIONS[kind].label}: name`);
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample.
   * @param ctx Name and position.
   * @returns The plan (same shape out as in).
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    return {
      plan: { kind: this.kind, name: ctx.name, inShape: [...input], outShape: [...input] },
    };
  }
}

/**
 * Elementwise hyperbolic tangent.
 *
 * @example
 * ```ts
 * import { Tanh } from "./layers.ts";
 * const act = new Tanh();
 * console.log(act.kind); // "tanh"
 * ```
 */
export class Tanh extends ActivationLayer<"tanh"> {
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    super("tanh", name);
  }
}

/**
 * Elementwise logistic sigmoid `1 / (1 + exp(-x))`.
 *
 * @example
 * ```ts
 * import { Sigmoid } from "./layers.ts";
 * const act = new Sigmoid();
 * console.log(act.kind); // "sigmoid"
 * ```
 */
export class Sigmoid extends ActivationLayer<"sigmoid"> {
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    super("sigmoid", name);
  }
}

/**
 * Elementwise rectifier `max(x, 0)` (a NaN input stays NaN); its gradient is 1 where the
 * output is positive, else 0 (PyTorch's).
 *
 * @example
 * ```ts
 * import { ReLU } from "./layers.ts";
 * console.log(new ReLU().kind); // "relu"
 * ```
 */
export class ReLU extends ActivationLayer<"relu"> {
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    super("relu", name);
  }
}

/** Options of {@link GELU}. */
export interface GELUOptions {
  /**
   * PyTorch's `approximate`: `"none"` (default), the exact `x * Phi(x)`; `"tanh"`,
   * `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
   */
  approximate?: "none" | "tanh";
  /** Name used in error messages. Default `gelu<i>`. */
  name?: string;
}

/**
 * Gaussian error linear unit, PyTorch's `nn.GELU(approximate)`: `x * Phi(x)`, Phi the standard
 * normal distribution function, or its tanh approximation. Weights feeding it start He-uniform
 * under `init: "auto"`, as for {@link ReLU}. Formulas, kernels and CPU loops:
 * `ACTIVATIONS.gelu` and `ACTIVATIONS.gelu_tanh` (`src/activations.ts`), `cpu/gelu.ts`.
 *
 * @example
 * ```ts
 * import { GELU } from "./layers.ts";
 * console.log(new GELU().approximate, new GELU({ approximate: "tanh" }).approximate); // none tanh
 * ```
 */
export class GELU extends ActivationLayer<"gelu"> {
  /** `"none"` (exact) or `"tanh"`. */
  readonly approximate: "none" | "tanh";
  /**
   * Creates the layer.
   *
   * @param options `approximate` and `name`.
   * @throws {TypeError} On an unknown option or a wrong type.
   * @throws {RangeError} If `approximate` is not `"none"` or `"tanh"`.
   */
  constructor(options?: GELUOptions) {
    checkOptions(options, "GELU", true);
    super("gelu", options?.name);
    this.approximate = checkChoice(
      options?.approximate,
      "GELU: approximate",
      ["none", "tanh"],
      "none",
    );
  }

  /**
   * Resolves the layer for an input shape: the plan kind `gelu` or `gelu_tanh`.
   *
   * @param input Shape of one input sample.
   * @param ctx Name and position.
   * @returns The plan (same shape out as in).
   */
  override plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    const kind = this.approximate === "tanh" ? "gelu_tanh" : "gelu";
    return { plan: { kind, name: ctx.name, inShape: [...input], outShape: [...input] } };
  }
}

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing each value in training, in [0, 1). */
  rate: number;
  /** Name used in error messages. Default `dropout<i>`. */
  name?: string;
}

/**
 * Inverted dropout (PyTorch's `Dropout`): in training each value is zeroed with probability
 * `rate` and the others are scaled by `1 / (1 - rate)`; in evaluation it is the identity.
 * The mask comes from a counter-based hash of (model seed, step, layer, value index), so
 * every backend drops the same values and a resumed run continues the same masks.
 *
 * @example
 * ```ts
 * import { Dropout } from "./layers.ts";
 * console.log(new Dropout({ rate: 0.5 }).rate); // 0.5
 * ```
 */
export class Dropout {
  /** Discriminant used by the planner. */
  readonly kind = "dropout" as const;
  /** Probability of dropping a value. */
  readonly rate: number;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param options Rate, optional name.
   */
  constructor(options: DropoutOptions) {
    checkOptions(options, "Dropout", false);
    this.rate = checkNumber(options.rate, "Dropout: rate", "[0, 1)");
    this.name = checkString(options.name, "Dropout: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample.
   * @param ctx Name and position.
   * @returns The plan (same shape out as in).
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    return {
      plan: {
        kind: "dropout",
        name: ctx.name,
        inShape: [...input],
        outShape: [...input],
        rate: this.rate,
        index: ctx.index,
      },
    };
  }
}

/** Options of {@link BatchNorm2D} and {@link BatchNorm1D}. */
export interface BatchNormOptions {
  /** Added to the variance. Default 1e-5 (PyTorch's). */
  epsilon?: number;
  /** Weight of each batch in the running averages. Default 0.1 (PyTorch's). */
  momentum?: number;
  /** Name used for the tensors (`<name>.weight`, `.running_mean`) and in errors. */
  name?: string;
}

function planBatchNorm(
  layer: { epsilon: number; momentum: number },
  channels: number,
  positions: number,
  input: readonly number[],
  ctx: PlanContext,
): PlannedLayer {
  const t = (suffix: string, init: ParamSpec["init"]): ParamSpec => ({
    name: `${ctx.name}.${suffix}`,
    shape: [channels],
    init,
  });
  const weight = t("weight", ONES), bias = t("bias", ZEROS);
  const runningMean = t("running_mean", ZEROS), runningVar = t("running_var", ONES);
  return {
    plan: {
      kind: "batchnorm",
      name: ctx.name,
      inShape: [...input],
      outShape: [...input],
      channels,
      positions,
      epsilon: layer.epsilon,
      momentum: layer.momentum,
      weight,
      bias,
      runningMean,
      runningVar,
    },
    params: [weight, bias],
    state: [runningMean, runningVar],
  };
}

function batchNormSettings(o: BatchNormOptions, layer: string) {
  checkOptions(o, layer, false);
  return {
    epsilon: checkNumber(o.epsilon, `${layer}: epsilon`, "positive", 1e-5),
    momentum: checkNumber(o.momentum, `${layer}: momentum`, "(0, 1]", 0.1),
    name: checkString(o.name, `${layer}: name`),
  };
}

/**
 * Batch normalisation of `[C, H, W]` feature maps, per channel (PyTorch's `BatchNorm2d`):
 * training normalises with the batch's mean and biased variance over (batch, H, W) and
 * updates the running averages (`r = (1 - momentum)·r + momentum·batch`, the variance
 * unbiased); evaluation uses the running averages. Learnable scale `weight` (γ, ones) and
 * shift `bias` (β, zeros); `running_mean` and `running_var` are saved with the weights.
 *
 * @example
 * ```ts
 * import { BatchNorm2D } from "./layers.ts";
 * const bn = new BatchNorm2D();
 * console.log(bn.epsilon, bn.momentum); // 0.00001 0.1
 * ```
 */
export class BatchNorm2D {
  /** Discriminant used by the planner. */
  readonly kind = "batchnorm2d" as const;
  /** Added to the variance. */
  readonly epsilon: number;
  /** Weight of each batch in the running averages. */
  readonly momentum: number;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param options Epsilon, momentum, optional name.
   */
  constructor(options: BatchNormOptions = {}) {
    const { epsilon, momentum, name } = batchNormSettings(options, "BatchNorm2D");
    this.epsilon = epsilon;
    this.momentum = momentum;
    this.name = name;
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample, `[C, H, W]`.
   * @param ctx Name and position.
   * @returns The plan, γ and β, and the running averages.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    const [c, h, w] = expectImage(input, ctx.where);
    return planBatchNorm(this, c, h * w, input, ctx);
  }
}

/**
 * Batch normalisation of feature vectors (PyTorch's `BatchNorm1d` on `[N, F]`), per feature;
 * the same rules as {@link BatchNorm2D}. Put it after a {@link Dense}.
 *
 * @example
 * ```ts
 * import { BatchNorm1D } from "./layers.ts";
 * console.log(new BatchNorm1D().kind); // "batchnorm1d"
 * ```
 */
export class BatchNorm1D {
  /** Discriminant used by the planner. */
  readonly kind = "batchnorm1d" as const;
  /** Added to the variance. */
  readonly epsilon: number;
  /** Weight of each batch in the running averages. */
  readonly momentum: number;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param options Epsilon, momentum, optional name.
   */
  constructor(options: BatchNormOptions = {}) {
    const { epsilon, momentum, name } = batchNormSettings(options, "BatchNorm1D");
    this.epsilon = epsilon;
    this.momentum = momentum;
    this.name = name;
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample, `[F]`.
   * @param ctx Name and position.
   * @returns The plan, γ and β, and the running averages.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    if (input.length !== 1) {
      throw new RangeError(
        `${ctx.where}: expects features [F] (use BatchNorm2D for feature maps), got ${
          formatShape(input)
        }`,
      );
    }
    return planBatchNorm(this, input[0], 1, input, ctx);
  }
}

/**
 * Row-wise softmax; must be the last layer. Training minimises the mean negative
 * log-likelihood of the labels (the tutorial's `LogisticRegression`), computed
 * stably from the logits.
 *
 * @example
 * ```ts
 * import { Softmax } from "./layers.ts";
 * const out = new Softmax();
 * console.log(out.kind); // "softmax"
 * ```
 */
export class Softmax {
  /** Discriminant used by the planner. */
  readonly kind = "softmax" as const;
  /** Optional name used in error messages. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    this.name = checkString(name, "Softmax: name");
  }

  /**
   * Resolves the layer for an input shape.
   *
   * @param input Shape of one input sample, `[classes]`.
   * @param ctx Name and position.
   * @returns The plan.
   */
  plan(input: readonly number[], ctx: PlanContext): PlannedLayer {
    if (ctx.next.length !== 0) {
      throw new RangeError(`${ctx.where}: Softmax must be the last layer`);
    }
    if (input.length !== 1) {
      throw new RangeError(
        `${ctx.where}: expects a vector of class scores (put a Dense before it), got ${
          formatShape(input)
        }`,
      );
    }
    if (input[0] < 2) {
      throw new RangeError(`${ctx.where}: needs at least 2 classes, got ${formatShape(input)}`);
    }
    return { plan: { kind: "softmax", name: ctx.name, inShape: [input[0]], outShape: [input[0]] } };
  }
}

/** Options of {@link lenet5}. */
export interface LeNet5Options {
  /** Kernels of the two convolutional layers (the tutorial's `nkerns`). Default `[20, 50]`. */
  kernels?: [number, number];
  /** Units of the tanh hidden layer. Default 500. */
  hidden?: number;
  /** Number of classes. Default 10. */
  classes?: number;
  /**
   * `"usual"` (default): each convolution has its bias and max pooling sends a window's
   * gradient to its first maximum (PyTorch). `"tutorial"`: Theano's `LeNetConvPoolLayer`
   * exactly, `tanh(pool(conv(x)) + b)`: a convolution without bias, max pooling with
   * `ties: "all"` (Theano's `MaxPoolGrad`), then a {@linkcode Bias}; the parameters are
   * `conv0.weight`, `bias0.bias`, `conv1.weight`, `bias1.bias`, then the dense layers'.
   */
  convention?: "usual" | "tutorial";
}

/**
 * The tutorial's LeNet as a layer list: two 5x5 conv + 2x2 max-pool + tanh stages,
 * a tanh hidden layer and a softmax (`evaluate_lenet5` of convolutional_mlp.py).
 *
 * @param options Kernels, hidden units, classes (defaults are the tutorial's).
 * @returns Fresh layers for {@link Sequential.create}.
 *
 * @example
 * ```ts
 * import { lenet5 } from "./layers.ts";
 * const layers = lenet5({ kernels: [20, 50], hidden: 500 });
 * console.log(layers.map((l) => l.kind).join(" "));
 * // conv2d maxpool2d tanh conv2d maxpool2d tanh dense tanh dense softmax
 * ```
 */
export function lenet5(options: LeNet5Options = {}): Layer[] {
  const [k0, k1] = options.kernels ?? [20, 50];
  const convention = checkChoice(
    options.convention,
    "lenet5: convention",
    ["usual", "tutorial"],
    "usual",
  );
  const tutorial = convention === "tutorial";
  const convPool = (filters: number): Layer[] =>
    tutorial
      ? [
        new Conv2D({ filters, kernelSize: 5, useBias: false }),
        new MaxPool2D({ poolSize: 2, ties: "all" }),
        new Bias(),
      ]
      : [new Conv2D({ filters, kernelSize: 5 }), new MaxPool2D({ poolSize: 2 })];
  return [
    ...convPool(k0),
    new Tanh(),
    ...convPool(k1),
    new Tanh(),
    new Dense({ units: options.hidden ?? 500 }),
    new Tanh(),
    new Dense({ units: options.classes ?? 10 }),
    new Softmax(),
  ];
}

const KIND_LABEL: Record<Layer["kind"], string> = {
  conv2d: "Conv2D",
  bias: "Bias",
  maxpool2d: "MaxPool2D",
  avgpool2d: "AvgPool2D",
  globalavgpool2d: "GlobalAvgPool2D",
  dense: "Dense",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
  relu: "ReLU",
  gelu: "GELU",
  dropout: "Dropout",
  batchnorm2d: "BatchNorm2D",
  batchnorm1d: "BatchNorm1D",
  softmax: "Softmax",
};

const DEFAULT_PREFIX: Record<Layer["kind"], string> = {
  conv2d: "conv",
  bias: "bias",
  maxpool2d: "pool",
  avgpool2d: "pool",
  globalavgpool2d: "pool",
  dense: "dense",
  tanh: "tanh",
  sigmoid: "sigmoid",
  relu: "relu",
  gelu: "gelu",
  dropout: "dropout",
  batchnorm2d: "bn",
  batchnorm1d: "bn",
  softmax: "softmax",
};

/** Formats a shape as `[1, 28, 28]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Resolves every layer's shapes, names its parameters and checks that the layers fit
 * together. Errors name the layer and the expected and actual shapes.
 *
 * @param inputShape Shape of one sample, `[C, H, W]` or `[features]`.
 * @param layers The layers in order; the last must be {@link Softmax}.
 * @param batchSize Largest batch the network will see.
 * @returns The plan handed to a backend.
 *
 * @example
 * ```ts
 * import { lenet5, planNetwork } from "./layers.ts";
 * const plan = planNetwork([1, 28, 28], lenet5(), 500);
 * console.log(plan.layers[3].outShape); // [ 50, 8, 8 ]
 * ```
 */
export function planNetwork(
  inputShape: readonly number[],
  layers: readonly Layer[],
  batchSize: number,
): NetworkPlan {
  checkInteger(batchSize, "batchSize", { min: 1 });
  if (
    !Array.isArray(inputShape) || inputShape.length === 0 ||
    inputShape.some((d) => !Number.isInteger(d) || d < 1)
  ) {
    const numbers = Array.isArray(inputShape) && inputShape.every((d) => typeof d === "number");
    const message = `inputShape must be positive integers like [1, 28, 28], got ${
      describe(inputShape)
    }`;
    throw numbers ? new RangeError(message) : new TypeError(message);
  }
  if (!Array.isArray(layers as unknown)) {
    throw new TypeError(`layers must be an array of layers, got ${describe(layers)}`);
  }
  if (layers.length === 0 || layers[layers.length - 1]?.kind !== "softmax") {
    throw new RangeError("the last layer must be a Softmax (the model is trained with NLL loss)");
  }
  const counters: Record<string, number> = {};
  const names = new Set<string>();
  const plans: LayerPlan[] = [];
  const params: ParamSpec[] = [];
  const state: ParamSpec[] = [];
  let shape: readonly number[] = [...inputShape];
  layers.forEach((layer, i) => {
    if (!layer || typeof layer.plan !== "function" || !(layer.kind in KIND_LABEL)) {
      throw new TypeError(`layer ${i} is not a layer of this library, got ${describe(layer)}`);
    }
    const prefix = DEFAULT_PREFIX[layer.kind];
    const index = counters[prefix] ?? 0;
    counters[prefix] = index + 1;
    const name = layer.name ?? `${prefix}${index}`;
    if (names.has(name)) throw new RangeError(`two layers are named "${name}"`);
    names.add(name);
    const where = `layer ${i} "${name}" (${KIND_LABEL[layer.kind]})`;
    const planned = layer.plan(shape, { name, where, index: i, next: layers.slice(i + 1) });
    plans.push(planned.plan);
    params.push(...planned.params ?? []);
    state.push(...planned.state ?? []);
    shape = planned.plan.outShape;
  });
  return {
    inputShape: [...inputShape],
    batchSize,
    layers: plans,
    params,
    state,
    classes: shape[0],
  };
}
