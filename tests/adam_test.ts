/**
 * adam, every backend, in one file:
 * - cpu: `cpu/adam.ts` in float64: steps by hand for Adam and AdamW, and 20 steps against
 *   PyTorch's algorithm written out independently;
 * - webgpu: the adam kernels against `cpu/` (the case table tests/_kernel_cases.ts, which
 *   tests/kernels_browser_test.ts also runs in Chromium); ignored where there is no adapter.
 * native: no stage of its own; the native executor runs the `cpu/` loop (src/optimizers.ts),
 * checked through whole networks in tests/train_native_test.ts.
 */
import assert from "node:assert/strict";
import { adamCorrections, type AdamOptions, adamUpdate } from "../cpu/adam.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { randomArray } from "./_gradcheck.ts";
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// ---------------- cpu: cpu/adam.ts

// Tests of cpu/adam.ts: one and two steps by hand for Adam (with and without its L2 weight
// decay) and AdamW, the first step ~ lr * sign(g), and 20 steps against PyTorch's
// _single_tensor_adam algorithm written out independently.

// lr 0.1, beta1 0.5, beta2 0.75, eps 0: c1 = 2, c2 = 4 at t = 1; c1 = 4/3, c2 = 16/7 at t = 2
const HAND: Omit<AdamOptions, "step"> = {
  learningRate: 0.1,
  beta1: 0.5,
  beta2: 0.75,
  epsilon: 0,
  weightDecay: 0,
  decoupled: false,
};

function twoSteps(o: Omit<AdamOptions, "step">, g1: number, g2: number) {
  const p = Float64Array.of(1), m = new Float64Array(1), v = new Float64Array(1);
  adamUpdate(p, Float64Array.of(g1), m, v, { ...o, step: 1 });
  const after1 = [p[0], m[0], v[0]];
  adamUpdate(p, Float64Array.of(g2), m, v, { ...o, step: 2 });
  return { after1, after2: [p[0], m[0], v[0]] };
}

Deno.test("adamUpdate: Adam, two steps by hand", () => {
  const { after1, after2 } = twoSteps(HAND, 2, 1);
  // t=1: m = 0.5*2 = 1, v = 0.25*4 = 1, p = 1 - 0.1 * (1*2) / sqrt(1*4) = 0.9
  assertAllClose(after1, [0.9, 1, 1], { rtol: 1e-15, atol: 0 });
  // t=2: m = 0.5*1 + 0.5*1 = 1, v = 0.75*1 + 0.25*1 = 1, p = 0.9 - 0.1 * (4/3) / sqrt(16/7)
  //      = 0.9 - 0.1 * sqrt(7) / 3
  assertAllClose(after2, [0.9 - 0.1 * Math.sqrt(7) / 3, 1, 1], { rtol: 1e-15, atol: 0 });
});

Deno.test("adamUpdate: Adam with L2 weight decay (g += wd * p), two steps by hand", () => {
  const { after1, after2 } = twoSteps({ ...HAND, weightDecay: 0.5 }, 2, 1);
  // t=1: g = 2 + 0.5*1 = 2.5, m = 1.25, v = 0.25 * 6.25 = 1.5625, p = 1 - 0.1 * 2.5 / 2.5 = 0.9
  assertAllClose(after1, [0.9, 1.25, 1.5625], { rtol: 1e-15, atol: 0 });
  // t=2: g = 1 + 0.5*0.9 = 1.45, m = 0.625 + 0.725 = 1.35, v = 0.75*1.5625 + 0.25*1.45^2 = 1.6975,
  //      p = 0.9 - 0.1 * (1.35 * 4/3) / sqrt(1.6975 * 16/7) = 0.9 - 0.18 / sqrt(3.88)
  assertAllClose(after2, [0.9 - 0.18 / Math.sqrt(3.88), 1.35, 1.6975], { rtol: 1e-14, atol: 0 });
});

Deno.test("adamUpdate: AdamW (p *= 1 - lr * wd first, gradient untouched), two steps by hand", () => {
  const { after1, after2 } = twoSteps({ ...HAND, weightDecay: 0.5, decoupled: true }, 2, 1);
  // t=1: p = 1 * (1 - 0.05) = 0.95, m = 1, v = 1, p = 0.95 - 0.1 = 0.85
  assertAllClose(after1, [0.85, 1, 1], { rtol: 1e-15, atol: 0 });
  // t=2: p = 0.85 * 0.95 = 0.8075, m = 1, v = 1, p = 0.8075 - 0.1 * sqrt(7) / 3
  assertAllClose(after2, [0.8075 - 0.1 * Math.sqrt(7) / 3, 1, 1], { rtol: 1e-15, atol: 0 });
});

Deno.test("adamUpdate: bias correction makes the first step lr * g / (|g| + eps) ~ lr * sign(g)", () => {
  const rng = new RandomState(800);
  const n = 50, lr = 1e-3, eps = 1e-8;
  const g = randomArray(rng, n, -5, 5);
  g[0] = 1e-3; // small gradients too: the step is still ~ lr
  const p0 = randomArray(rng, n);
  const p = p0.slice(), m = new Float64Array(n), v = new Float64Array(n);
  adamUpdate(p, g, m, v, {
    learningRate: lr,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: eps,
    weightDecay: 0,
    decoupled: false,
    step: 1,
  });
  for (let k = 0; k < n; k++) {
    const step = p0[k] - p[k];
    assert.ok(Math.abs(step - lr * Math.sign(g[k])) <= lr * eps / Math.abs(g[k]) + 1e-15, `k ${k}`);
    assert.ok(Math.abs(step - lr * g[k] / (Math.abs(g[k]) + eps)) < 1e-15, `k ${k}`);
  }
});

/** PyTorch's `_single_tensor_adam` (torch/optim/adam.py, amsgrad off), written out for one element. */
function torchAdam(
  p: number,
  grads: number[],
  o: Omit<AdamOptions, "step">,
): number {
  let m = 0, v = 0;
  for (let step = 1; step <= grads.length; step++) {
    let grad = grads[step - 1];
    if (o.decoupled) p = p * (1 - o.learningRate * o.weightDecay);
    else if (o.weightDecay !== 0) grad = grad + o.weightDecay * p;
    m = m + (grad - m) * (1 - o.beta1); // exp_avg.lerp_(grad, 1 - beta1)
    v = v * o.beta2 + grad * grad * (1 - o.beta2);
    const biasCorrection1 = 1 - o.beta1 ** step;
    const biasCorrection2 = 1 - o.beta2 ** step;
    const stepSize = o.learningRate / biasCorrection1;
    const denom = Math.sqrt(v) / Math.sqrt(biasCorrection2) + o.epsilon;
    p = p - stepSize * m / denom;
  }
  return p;
}

Deno.test("adamUpdate matches PyTorch's algorithm over 20 steps (Adam, Adam + L2, AdamW)", () => {
  const base = {
    learningRate: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0,
    decoupled: false,
  };
  for (
    const [name, o] of [
      ["Adam", base],
      ["Adam wd", { ...base, weightDecay: 0.1 }],
      ["AdamW", { ...base, weightDecay: 0.1, decoupled: true }],
    ] as const
  ) {
    const rng = new RandomState(810);
    const n = 16, steps = 20;
    const p0 = randomArray(rng, n);
    const grads = Array.from({ length: steps }, () => randomArray(rng, n, -2, 2));
    const p = p0.slice(), m = new Float64Array(n), v = new Float64Array(n);
    for (let t = 1; t <= steps; t++) adamUpdate(p, grads[t - 1], m, v, { ...o, step: t });
    const expected = Array.from(p0, (pk, k) => torchAdam(pk, grads.map((g) => g[k]), o));
    assertAllClose(p, expected, { rtol: 1e-12, atol: 1e-14, msg: name });
  }
});

Deno.test("adamUpdate on Float32Array agrees with float64 to float32 precision", () => {
  const rng = new RandomState(820);
  const n = 32;
  const p0 = randomArray(rng, n), g = randomArray(rng, n);
  const o = {
    learningRate: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    decoupled: true,
  };
  const p64 = p0.slice(), m64 = new Float64Array(n), v64 = new Float64Array(n);
  const p32 = new Float32Array(p0), m32 = new Float32Array(n), v32 = new Float32Array(n);
  for (let t = 1; t <= 3; t++) {
    adamUpdate(p64, g, m64, v64, { ...o, step: t });
    adamUpdate(p32, new Float32Array(g), m32, v32, { ...o, step: t });
  }
  assertAllClose(p32, p64, { rtol: 1e-6, atol: 1e-6 });
});

Deno.test("adamCorrections: 1 / (1 - beta^t)", () => {
  assert.deepStrictEqual(adamCorrections(0.9, 0.999, 1), {
    c1: 1 / (1 - 0.9),
    c2: 1 / (1 - 0.999),
  });
  const { c1, c2 } = adamCorrections(0.9, 0.999, 1000);
  assert.ok(Math.abs(c1 - 1) < 1e-15 && Math.abs(c2 - 1 / (1 - 0.999 ** 1000)) < 1e-15);
  assert.deepStrictEqual(adamCorrections(0, 0, 3), { c1: 1, c2: 1 });
});

Deno.test("adam throws RangeError on bad lengths, betas, steps and rates", () => {
  const o: AdamOptions = { ...HAND, step: 1 };
  const a = () => new Float64Array(2);
  assertThrowsWith(
    () => adamUpdate(a(), new Float64Array(3), a(), a(), o),
    RangeError,
    "adamUpdate: grad must have length 2, received 3",
  );
  assertThrowsWith(
    () => adamUpdate(a(), a(), a(), new Float64Array(1), o),
    RangeError,
    "adamUpdate: v must have length 2, received 1",
  );
  assertThrowsWith(
    () => adamUpdate(a(), a(), a(), a(), { ...o, step: 0 }),
    RangeError,
    "adam: step must be a positive integer (1-based), received 0",
  );
  assertThrowsWith(
    () => adamCorrections(1, 0.9, 1),
    RangeError,
    "beta1 must be in [0, 1), received 1",
  );
  assertThrowsWith(() => adamCorrections(0.9, -0.1, 1), RangeError, "beta2 must be in [0, 1)");
  assertThrowsWith(
    () => adamUpdate(a(), a(), a(), a(), { ...o, learningRate: NaN }),
    RangeError,
    "learningRate must be a finite number >= 0, received NaN",
  );
});

// ---------------- webgpu: kernels against cpu/

/**
 * Parity of the adam kernels with `cpu/adam.ts` (the cases and their tolerances are in
 * tests/_kernel_cases.ts, which tests/kernels_browser_test.ts also runs in Chromium).
 */

for (const c of casesOf("adam")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
