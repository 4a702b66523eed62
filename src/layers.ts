/**
 * The layers a {@link Sequential} model is built from, and the planner that resolves
 * their shapes into a {@link NetworkPlan}.
 *
 * @module
 */
import type { LayerPlan, NetworkPlan, ParamSpec } from "./backend.ts";
import { convWeightBound, denseWeightBound } from "../cpu/init.ts";

/** Any layer accepted by a model. */
export type Layer = Conv2D | MaxPool2D | Dense | Tanh | Sigmoid | Softmax;

function pair(v: number | [number, number], what: string): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : v;
  for (const x of p) {
    if (!Number.isInteger(x) || x < 1) {
      throw new RangeError(
        `${what} must be a positive integer or a pair of them, got ${String(v)}`,
      );
    }
  }
  return p;
}

/** Options of {@link Conv2D}. */
export interface Conv2DOptions {
  /** Number of output feature maps (the tutorial's `nkerns[i]`). */
  filters: number;
  /** Kernel size: one number for a square kernel, or `[height, width]`. */
  kernelSize: number | [number, number];
  /** Name used for the parameters (`<name>.weight`) and in error messages. Default `conv<i>`. */
  name?: string;
}

/**
 * Valid 2-D convolution, stride 1, with one bias per output map.
 *
 * Weights have shape `[filters, inChannels, kh, kw]`. The operation is a
 * cross-correlation (as in PyTorch and TensorFlow): Theano's `conv2d` flips the
 * kernel, so a Theano weight equals ours rotated by 180 degrees (`flipKernels`).
 * Initialisation follows the tutorial's `LeNetConvPoolLayer`: uniform in
 * ±sqrt(6 / (fan_in + fan_out)) with fan_out divided by the area of a directly
 * following {@link MaxPool2D}; bias zero.
 *
 * @example Build the tutorial's first layer
 * ```ts
 * import { Conv2D } from "./layers.ts";
 * const conv = new Conv2D({ filters: 20, kernelSize: 5 });
 * console.log(conv.filters, conv.kernelSize); // 20 [5, 5]
 * ```
 */
export class Conv2D {
  /** Discriminant used by the planner. */
  readonly kind = "conv2d" as const;
  /** Number of output feature maps. */
  readonly filters: number;
  /** `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; shapes are resolved when a model is built.
   *
   * @param options Filters, kernel size, optional name.
   */
  constructor(options: Conv2DOptions) {
    if (!Number.isInteger(options.filters) || options.filters < 1) {
      throw new RangeError(`Conv2D: filters must be a positive integer, got ${options.filters}`);
    }
    this.filters = options.filters;
    this.kernelSize = pair(options.kernelSize, "Conv2D: kernelSize");
    this.name = options.name;
  }
}

/** Options of {@link MaxPool2D}. */
export interface MaxPool2DOptions {
  /** Pool size: one number or `[height, width]`; the stride equals the size. */
  poolSize: number | [number, number];
  /**
   * Theano's `ignore_border`: true (default, as in the tutorial's LeNet) drops a
   * partial window at the bottom/right border, false keeps it.
   */
  ignoreBorder?: boolean;
  /** Name used in error messages. Default `pool<i>`. */
  name?: string;
}

/**
 * Non-overlapping max pooling, exactly Theano's `max_pool_2d`.
 *
 * Backward routes each output gradient to the first maximum of its window in
 * row-major order.
 *
 * @example
 * ```ts
 * import { MaxPool2D } from "./layers.ts";
 * const pool = new MaxPool2D({ poolSize: 2, ignoreBorder: false });
 * console.log(pool.poolSize, pool.ignoreBorder); // [2, 2] false
 * ```
 */
export class MaxPool2D {
  /** Discriminant used by the planner. */
  readonly kind = "maxpool2d" as const;
  /** `[ph, pw]`. */
  readonly poolSize: [number, number];
  /** Keep (false) or drop (true) partial border windows. */
  readonly ignoreBorder: boolean;
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; shapes are resolved when a model is built.
   *
   * @param options Pool size, border mode, optional name.
   */
  constructor(options: MaxPool2DOptions) {
    this.poolSize = pair(options.poolSize, "MaxPool2D: poolSize");
    this.ignoreBorder = options.ignoreBorder ?? true;
    this.name = options.name;
  }
}

/** Options of {@link Dense}. */
export interface DenseOptions {
  /** Number of outputs. */
  units: number;
  /**
   * Weight initialisation. `"auto"` (default) follows the tutorial: zeros when the
   * next layer is {@link Softmax} (LogisticRegression), uniform ±sqrt(6/(in+out))
   * otherwise, times 4 when the next layer is {@link Sigmoid} (HiddenLayer).
   */
  init?: "auto" | "uniform" | "zeros";
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
  readonly init: "auto" | "uniform" | "zeros";
  /** Optional explicit name. */
  readonly name?: string;
  /**
   * Creates the layer; the input is flattened, whatever its shape.
   *
   * @param options Units, initialisation, optional name.
   */
  constructor(options: DenseOptions) {
    if (!Number.isInteger(options.units) || options.units < 1) {
      throw new RangeError(`Dense: units must be a positive integer, got ${options.units}`);
    }
    this.units = options.units;
    this.init = options.init ?? "auto";
    this.name = options.name;
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
export class Tanh {
  /** Discriminant used by the planner. */
  readonly kind = "tanh" as const;
  /** Optional name used in error messages. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    this.name = name;
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
export class Sigmoid {
  /** Discriminant used by the planner. */
  readonly kind = "sigmoid" as const;
  /** Optional name used in error messages. */
  readonly name?: string;
  /**
   * Creates the layer.
   *
   * @param name Optional name used in error messages.
   */
  constructor(name?: string) {
    this.name = name;
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
    this.name = name;
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
  return [
    new Conv2D({ filters: k0, kernelSize: 5 }),
    new MaxPool2D({ poolSize: 2 }),
    new Tanh(),
    new Conv2D({ filters: k1, kernelSize: 5 }),
    new MaxPool2D({ poolSize: 2 }),
    new Tanh(),
    new Dense({ units: options.hidden ?? 500 }),
    new Tanh(),
    new Dense({ units: options.classes ?? 10 }),
    new Softmax(),
  ];
}

const KIND_LABEL = {
  conv2d: "Conv2D",
  maxpool2d: "MaxPool2D",
  dense: "Dense",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
  softmax: "Softmax",
} as const;

const DEFAULT_PREFIX = {
  conv2d: "conv",
  maxpool2d: "pool",
  dense: "dense",
  tanh: "tanh",
  sigmoid: "sigmoid",
  softmax: "softmax",
} as const;

/** Formats a shape as `[1, 28, 28]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

const ZEROS = { kind: "zeros" } as const;

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
 */
export function planNetwork(
  inputShape: readonly number[],
  layers: readonly Layer[],
  batchSize: number,
): NetworkPlan {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(
      `inputShape must be positive integers like [1, 28, 28], got ${formatShape(inputShape)}`,
    );
  }
  if (layers.length === 0 || layers[layers.length - 1].kind !== "softmax") {
    throw new RangeError("the last layer must be a Softmax (the model is trained with NLL loss)");
  }
  const counters: Record<string, number> = {};
  const names = new Set<string>();
  const plans: LayerPlan[] = [];
  const params: ParamSpec[] = [];
  let shape = [...inputShape];
  layers.forEach((layer, i) => {
    const prefix = DEFAULT_PREFIX[layer.kind];
    const index = counters[prefix] ?? 0;
    counters[prefix] = index + 1;
    const name = layer.name ?? `${prefix}${index}`;
    if (names.has(name)) throw new RangeError(`two layers are named "${name}"`);
    names.add(name);
    const where = `layer ${i} "${name}" (${KIND_LABEL[layer.kind]})`;
    switch (layer.kind) {
      case "conv2d": {
        if (shape.length !== 3) {
          throw new RangeError(
            `${where}: expects input [channels, height, width], got ${formatShape(shape)}`,
          );
        }
        const [c, h, w] = shape;
        const [kh, kw] = layer.kernelSize;
        if (kh > h || kw > w) {
          throw new RangeError(
            `${where}: kernel ${kh}x${kw} does not fit input ${formatShape(shape)}`,
          );
        }
        const out: [number, number, number] = [layer.filters, h - kh + 1, w - kw + 1];
        const next = layers[i + 1];
        const poolArea = next?.kind === "maxpool2d" ? next.poolSize[0] * next.poolSize[1] : 1;
        const weight: ParamSpec = {
          name: `${name}.weight`,
          shape: [layer.filters, c, kh, kw],
          init: { kind: "uniform", bound: convWeightBound(layer.filters, c, kh, kw, poolArea) },
        };
        const bias: ParamSpec = { name: `${name}.bias`, shape: [layer.filters], init: ZEROS };
        plans.push({
          kind: "conv2d",
          name,
          inShape: [c, h, w],
          outShape: out,
          kernelH: kh,
          kernelW: kw,
          weight,
          bias,
        });
        params.push(weight, bias);
        shape = out;
        break;
      }
      case "maxpool2d": {
        if (shape.length !== 3) {
          throw new RangeError(
            `${where}: expects input [channels, height, width], got ${formatShape(shape)}`,
          );
        }
        const [c, h, w] = shape;
        const [ph, pw] = layer.poolSize;
        const outH = layer.ignoreBorder ? Math.floor(h / ph) : Math.ceil(h / ph);
        const outW = layer.ignoreBorder ? Math.floor(w / pw) : Math.ceil(w / pw);
        if (outH < 1 || outW < 1) {
          throw new RangeError(
            `${where}: pool ${ph}x${pw} with ignoreBorder gives an empty output for input ${
              formatShape(shape)
            }`,
          );
        }
        const out: [number, number, number] = [c, outH, outW];
        plans.push({
          kind: "maxpool2d",
          name,
          inShape: [c, h, w],
          outShape: out,
          poolH: ph,
          poolW: pw,
          ignoreBorder: layer.ignoreBorder,
        });
        shape = out;
        break;
      }
      case "dense": {
        const inFeatures = product(shape);
        const next = layers[i + 1]?.kind;
        const rule = layer.init === "auto"
          ? (next === "softmax" ? "zeros" : "uniform")
          : layer.init;
        const weight: ParamSpec = {
          name: `${name}.weight`,
          shape: [inFeatures, layer.units],
          init: rule === "zeros" ? ZEROS : {
            kind: "uniform",
            bound: denseWeightBound(inFeatures, layer.units, { sigmoid: next === "sigmoid" }),
          },
        };
        const bias: ParamSpec = { name: `${name}.bias`, shape: [layer.units], init: ZEROS };
        plans.push({
          kind: "dense",
          name,
          inShape: [...shape],
          outShape: [layer.units],
          inFeatures,
          outFeatures: layer.units,
          weight,
          bias,
        });
        params.push(weight, bias);
        shape = [layer.units];
        break;
      }
      case "tanh":
      case "sigmoid":
        plans.push({ kind: layer.kind, name, inShape: [...shape], outShape: [...shape] });
        break;
      case "softmax":
        if (i !== layers.length - 1) {
          throw new RangeError(`${where}: Softmax must be the last layer`);
        }
        if (shape.length !== 1) {
          throw new RangeError(
            `${where}: expects a vector of class scores (put a Dense before it), got ${
              formatShape(shape)
            }`,
          );
        }
        if (shape[0] < 2) {
          throw new RangeError(`${where}: needs at least 2 classes, got ${formatShape(shape)}`);
        }
        plans.push({ kind: "softmax", name, inShape: [shape[0]], outShape: [shape[0]] });
        break;
    }
  });
  return {
    inputShape: [...inputShape],
    batchSize,
    layers: plans,
    params,
    classes: shape[0],
  };
}
