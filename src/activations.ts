/**
 * The elementwise activations, ONE table entry each ({@link ACTIVATIONS}): the forward
 * expression and the chain-rule expression of the backward, once in float64 JavaScript (the
 * `cpu/` loops are built from them by {@link forwardLoop} and {@link backwardLoop}) and once in
 * WGSL (`shaders/embed.ts` generates the kernels `<kind>_forward` and `<kind>_backward` from
 * them, as TF.js generates its unary ops from one expression). A new activation is an entry
 * here, its `cpu/<kind>.ts` exports and its layer class; every backend picks it up.
 *
 * @module
 */
import type { FloatArray } from "../cpu/types.ts";
import { normalCdf } from "../cpu/erf.ts";

/** Which forward value an activation's backward reads. */
export type BackwardFrom = "x" | "y";

/** One elementwise activation. */
export interface ActivationOp {
  /** Layer class name, for messages: `Tanh`. */
  label: string;
  /** The formulas and the CPU twins, copied into the generated kernels' headers. */
  doc: {
    /** `f(x) = ...` on one line. */
    forward: string;
    /** `dx = dOut * f'(...)` on one line, from x or y. */
    backward: string;
    /** The CPU twins: `tanhForward` / `tanhBackward` in `cpu/tanh.ts`. */
    cpu: [forward: string, backward: string, file: string];
    /** What the native backend does (its own loops where they are faster). */
    native: string;
  };
  /** The backward reads the forward input x (then x is kept) or output y. */
  from: BackwardFrom;
  /** Forward on one value, in float64. */
  forward(x: number): number;
  /** `dOut · f'` on one value, from `v` = x or y as {@link ActivationOp.from} says. */
  backward(g: number, v: number): number;
  /** The same in WGSL: f32 expressions of `x`; of `g` and `x` or `y`; helper functions. */
  wgsl: { forward: string; backward: string; functions?: string };
}

/** An elementwise activation's plan kind: a key of {@link ACTIVATIONS}. */
export type ActivationKind = "tanh" | "sigmoid" | "relu" | "gelu" | "gelu_tanh";

const SQRT_2_OVER_PI = 0.7978845608028654; // sqrt(2/pi)
const GELU_C = 0.044715;

/** GELU "tanh": s = (1 + tanh(u)) / 2 = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3). */
function geluTanhS(x: number): number {
  const u2 = 2 * SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
  if (u2 >= 0) return 1 / (1 + Math.exp(-u2));
  const e = Math.exp(u2);
  return e / (1 + e);
}

/**
 * WGSL of GELU "none": Phi(t) from erfc by Abramowitz & Stegun 7.1.26,
 * erfc(z) ~ s (a1 + s (a2 + ... + s a5)) exp(-z^2), s = 1 / (1 + p z), z >= 0, whose absolute
 * error is at most 1.5e-7 (so 7.5e-8 in Phi); taken on |t| so that nothing cancels.
 */
const GELU_PHI_WGSL =
  `// Phi(t) = P(N(0,1) <= t): erfc by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7).
fn gelu_phi(t: f32) -> f32 {
  let z = abs(t) * 0.70710678;
  let s = 1.0 / (1.0 + 0.3275911 * z);
  let p = s * (0.254829592 + s * (-0.284496736 + s * (1.421413741 + s * (-1.453152027 +
    s * 1.061405429))));
  let q = 0.5 * p * exp(-z * z); // P(N(0,1) > |t|)
  return select(1.0 - q, q, t < 0.0);
}`;

/** WGSL of GELU "tanh": s = sigmoid(2u), stable (as ACTIVATIONS.sigmoid), and the derivative. */
const GELU_TANH_WGSL =
  `// (1 + tanh(u)) / 2 = sigmoid(2u), u = sqrt(2/pi) (t + 0.044715 t^3): no 1 - 1 cancels.
fn gelu_tanh_s(t: f32) -> f32 {
  let u2 = 1.5957691216 * (t + 0.044715 * t * t * t);
  let e = exp(-abs(u2));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), u2 >= 0.0);
}

// d/dt [t s(t)] = s + 2 t s (1 - s) u'(t),  u' = sqrt(2/pi) (1 + 3 * 0.044715 t^2).
fn gelu_tanh_grad(t: f32) -> f32 {
  let s = gelu_tanh_s(t);
  return s + 2.0 * t * s * (1.0 - s) * 0.7978845608 * (1.0 + 0.134145 * t * t);
}`;

/** The activations, by plan kind. */
export const ACTIVATIONS: Readonly<Record<ActivationKind, ActivationOp>> = {
  tanh: {
    label: "Tanh",
    doc: {
      forward: "out = tanh(x)  (WGSL clamps x to [-15, 15]: tanh(15) rounds to 1 in float32, " +
        "and the clamp keeps exp-based implementations from inf/inf)",
      backward: "dx = dOut * (1 - y^2),  y = the forward output",
      cpu: ["tanhForward", "tanhBackward", "cpu/tanh.ts"],
      native: "its own loop, tanh() in src/backends/native/pointwise.ts: exp-based, rounded to " +
        "float32 exactly as Math.tanh, 1.8x faster",
    },
    from: "y",
    forward: (x) => Math.tanh(x),
    backward: (g, y) => g * (1 - y * y),
    wgsl: { forward: "tanh(clamp(x, -15.0, 15.0))", backward: "g * (1.0 - y * y)" },
  },
  sigmoid: {
    label: "Sigmoid",
    doc: {
      forward: "out = 1 / (1 + exp(-x)), as e / (1 + e) with e = exp(x) for x < 0 (exp never " +
        "gets a positive argument: no overflow)",
      backward: "dx = dOut * y * (1 - y),  y = the forward output",
      cpu: ["sigmoidForward", "sigmoidBackward", "cpu/sigmoid.ts"],
      native: "this entry's expressions, in its own loop",
    },
    from: "y",
    forward: (x) => {
      if (x >= 0) return 1 / (1 + Math.exp(-x));
      const e = Math.exp(x);
      return e / (1 + e);
    },
    backward: (g, y) => g * y * (1 - y),
    wgsl: {
      // exp(-|x|) is in (0, 1]: never overflows
      functions: "fn sigmoid_stable(x: f32) -> f32 {\n" +
        "  let e = exp(-abs(x));\n" +
        "  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);\n" +
        "}",
      forward: "sigmoid_stable(x)",
      backward: "g * y * (1.0 - y)",
    },
  },
  relu: {
    label: "ReLU",
    doc: {
      forward: "out = x < 0 ? 0 : x  (NaN is not < 0: it propagates, as PyTorch's torch.relu)",
      backward: "dx = y > 0 ? dOut : 0,  y = the forward output (PyTorch's threshold_backward: " +
        "0 at x = 0)",
      cpu: ["reluForward", "reluBackward", "cpu/relu.ts"],
      native: "its own loops: the forward on the float32 bits (4x faster), the backward as " +
        "dOut * (y > 0) (no branch)",
    },
    from: "y",
    forward: (x) => x < 0 ? 0 : x,
    backward: (g, y) => y > 0 ? g : 0,
    wgsl: { forward: "select(x, 0.0, x < 0.0)", backward: "select(0.0, g, y > 0.0)" },
  },
  gelu: {
    label: "GELU",
    doc: {
      forward: "out = x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))  (PyTorch's GELU, " +
        "approximate = none; WGSL: erfc by A&S 7.1.26, |error| <= 1.5e-7, so <= 7.5e-8 |x|)",
      backward: "dx = dOut * (Phi(x) + x phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi), " +
        "x = the forward input",
      cpu: ["geluForward", "geluBackward", "cpu/gelu.ts"],
      native: "this entry's expressions (float64, as the CPU twin); not fused (its backward " +
        "needs x)",
    },
    from: "x",
    forward: (x) => x * normalCdf(x),
    backward: (g, x) => g * (normalCdf(x) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x)),
    wgsl: {
      functions: GELU_PHI_WGSL,
      forward: "x * gelu_phi(x)",
      backward: "g * (gelu_phi(x) + x * 0.39894228 * exp(-0.5 * x * x))",
    },
  },
  gelu_tanh: {
    label: "GELU",
    doc: {
      forward: "out = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)  (PyTorch's " +
        "GELU, approximate = tanh; computed as x sigmoid(2u): no cancellation)",
      backward: "dx = dOut * (s + 2 x s (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2)),  " +
        "s = sigmoid(2u), x = the forward input",
      cpu: ["geluTanhForward", "geluTanhBackward", "cpu/gelu.ts"],
      native: "this entry's expressions (float64, as the CPU twin); not fused (its backward " +
        "needs x)",
    },
    from: "x",
    forward: (x) => x * geluTanhS(x),
    backward: (g, x) => {
      const s = geluTanhS(x);
      return g * (s + 2 * x * s * (1 - s) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x));
    },
    wgsl: {
      functions: GELU_TANH_WGSL,
      forward: "x * gelu_tanh_s(x)",
      backward: "g * gelu_tanh_grad(x)",
    },
  },
};

/** Every activation kind, in table order. */
export const ACTIVATION_KINDS: readonly ActivationKind[] = Object.keys(
  ACTIVATIONS,
) as ActivationKind[];

/**
 * Whether a plan kind is an elementwise activation.
 *
 * @param kind A layer or plan kind.
 * @returns True for the keys of {@link ACTIVATIONS}.
 */
export function isActivation(kind: string): kind is ActivationKind {
  return Object.hasOwn(ACTIVATIONS, kind);
}

/** A forward loop: `out[k] = f(x[k])`; `out` may be `x`. */
export type ForwardLoop = (out: FloatArray, x: FloatArray) => void;
/** A backward loop: `dx[k] = dOut[k] · f'(v[k])`, v = x or y; `dx` may be `dOut`. */
export type BackwardLoop = (dx: FloatArray, dOut: FloatArray, v: FloatArray) => void;

/**
 * The CPU forward loop of an activation, from its table entry.
 *
 * @param kind The activation.
 * @returns `(out, x) => void`, throwing RangeError (named after `doc.cpu[0]`) on a length
 *   mismatch.
 */
export function forwardLoop(kind: ActivationKind): ForwardLoop {
  const op = ACTIVATIONS[kind];
  const fn = op.doc.cpu[0], f = op.forward;
  return (out, x) => {
    checkLength(fn, "out", out, x.length);
    for (let k = 0; k < x.length; k++) out[k] = f(x[k]);
  };
}

/**
 * The CPU backward loop of an activation, from its table entry.
 *
 * @param kind The activation.
 * @returns `(dx, dOut, v) => void`, v the forward input or output as the entry's `from`
 *   says, throwing RangeError (named after `doc.cpu[1]`) on a length mismatch.
 */
export function backwardLoop(kind: ActivationKind): BackwardLoop {
  const op = ACTIVATIONS[kind];
  const fn = op.doc.cpu[1], b = op.backward;
  return (dx, dOut, v) => {
    checkLength(fn, "dx", dx, v.length);
    checkLength(fn, "dOut", dOut, v.length);
    for (let k = 0; k < v.length; k++) dx[k] = b(dOut[k], v[k]);
  };
}

function checkLength(fn: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new RangeError(`${fn}: ${name} must have length ${expected}, received ${a.length}`);
  }
}
