/**
 * GELU (PyTorch's `nn.GELU(approximate="none" | "tanh")`), every backend, in one file:
 * - cpu: `cpu/erf.ts` against reference values, `cpu/gelu.ts` values and float64
 *   finite-difference gradient checks of both variants;
 * - webgpu: the kernels generated from ACTIVATIONS.gelu / gelu_tanh against `cpu/gelu.ts`;
 *   ignored where there is no adapter;
 * - native: the pointwise loops (the table's expressions) against `cpu/gelu.ts`, bit for bit;
 * - the planner: plan kinds, options, He initialisation before a GELU.
 */
import assert from "node:assert/strict";
import { erf, erfc, normalCdf } from "../cpu/erf.ts";
import { geluBackward, geluForward, geluTanhBackward, geluTanhForward } from "../cpu/gelu.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { device, hasAdapter } from "./_webgpu.ts";
import { casesOf } from "./_kernel_cases.ts";
import { ignore as nativeIgnore } from "./_native.ts";
import { Sequential } from "../src/model.ts";
import { activateInPlace, activationBackward } from "../src/backends/native/pointwise.ts";
import { Conv2D, Dense, GELU, MaxPool2D, planNetwork, Softmax } from "../src/layers.ts";

// ---------------- cpu: cpu/erf.ts

Deno.test("erf, erfc, normalCdf: reference values to 1e-15 relative", () => {
  // erf and erfc to 16 digits (A&S table 7.1; DLMF 7.2), Phi(x) = erfc(-x/sqrt 2) / 2
  const erfs: [number, number][] = [
    [1e-10, 1.1283791670955126e-10],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
  ];
  for (const [z, v] of erfs) {
    assertAllClose([erf(z), erf(-z)], [v, -v], { rtol: 1e-15, atol: 0, msg: `erf(${z})` });
  }
  const erfcs: [number, number][] = [
    [2.5, 4.06952017444959e-4],
    [3, 2.209049699858544e-5],
    [5, 1.5374597944280349e-12],
    [10, 2.088487583762545e-45],
  ];
  for (const [z, v] of erfcs) {
    assertAllClose([erfc(z)], [v], { rtol: 1e-15, atol: 0, msg: `erfc(${z})` });
  }
  assert.deepEqual([erf(0), erf(7), erf(-7), erfc(30)], [0, 1, -1, 0]);
  assert.ok(Number.isNaN(erf(NaN)) && Number.isNaN(erfc(NaN)));
  assertAllClose([normalCdf(1), normalCdf(-1), normalCdf(-8)], [
    0.8413447460685429,
    0.15865525393145705,
    6.22096057427178e-16,
  ], { rtol: 1e-14, atol: 0 });
});

// ---------------- cpu: cpu/gelu.ts in float64

Deno.test("geluForward / geluTanhForward: values, PyTorch's formulas, large |x|", () => {
  const x = Float64Array.of(0, 1, -1, 3, -3, 40, -40, 1e5, -1e5);
  const out = new Float64Array(x.length);
  geluForward(out, x);
  const exact = Array.from(x, (v) => v * normalCdf(v));
  assertAllClose(out, exact, { rtol: 1e-15, atol: 0 });
  assertAllClose(out.subarray(0, 5), [
    0,
    0.8413447460685429,
    -0.15865525393145705,
    3 * 0.9986501019683699, // 3 Phi(3)
    -3 * 0.0013498980316300946, // -3 Phi(-3)
  ], { rtol: 1e-14, atol: 0 });
  geluTanhForward(out, x);
  // the literal formula, where it does not cancel (|x| <= 3)
  for (let k = 0; k < 5; k++) {
    const u = Math.sqrt(2 / Math.PI) * (x[k] + 0.044715 * x[k] ** 3);
    assertAllClose([out[k]], [0.5 * x[k] * (1 + Math.tanh(u))], { rtol: 1e-14, atol: 1e-16 });
  }
  assert.deepEqual(Array.from(out.subarray(5)).map(Math.abs), [40, 0, 1e5, 0]);
});

for (
  const [name, forward, backward] of [
    ["gelu", geluForward, geluBackward],
    ["gelu_tanh", geluTanhForward, geluTanhBackward],
  ] as const
) {
  Deno.test(`${name}: backward passes a float64 finite-difference check (abs err < 1e-9)`, () => {
    const rng = new RandomState(name.length);
    const x = randomArray(rng, 80, -5, 5);
    const r = randomArray(rng, 80);
    const dx = new Float64Array(80).fill(NaN);
    backward(dx, r, x);
    const out = new Float64Array(80);
    const res = gradCheck(
      (v) => {
        forward(out, v);
        return dot(out, r);
      },
      x,
      dx,
      { floor: 1e-3 }, // GELU' crosses 0 near x = -0.75: floor the relative error's denominator
    );
    assert.ok(res.maxAbsError < 1e-9, `max abs err ${res.maxAbsError}`);
    assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
  });
}

Deno.test("gelu throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => geluForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "geluForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => geluTanhBackward(new Float64Array(3), new Float64Array(2), new Float64Array(3)),
    RangeError,
    "geluTanhBackward: dOut must have length 3",
  );
});

// ---------------- webgpu and native against cpu/gelu.ts

const CPU = {
  gelu: [geluForward, geluBackward],
  gelu_tanh: [geluTanhForward, geluTanhBackward],
} as const;

/** x in [-6, 6] and the extremes; dOut in [-1, 1]; the float64 reference of both passes. */
function cases(kind: "gelu" | "gelu_tanh", n: number) {
  const rng = new RandomState(kind === "gelu" ? 7 : 8);
  const x = Float32Array.from(randomArray(rng, n, -6, 6));
  x.set([0, -0, 1e-4, -1e-4, 30, -30, 100, -100, 1e5, -1e5]);
  const dOut = Float32Array.from(randomArray(rng, n));
  const y = new Float64Array(n), dx = new Float64Array(n);
  CPU[kind][0](y, Float64Array.from(x));
  CPU[kind][1](dx, Float64Array.from(dOut), Float64Array.from(x));
  return { x, dOut, y, dx };
}

// The webgpu cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium.
for (const c of casesOf("gelu")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });

for (const kind of ["gelu", "gelu_tanh"] as const) {
  Deno.test(`${kind} native: the pointwise loops are cpu/gelu.ts, bit for bit`, () => {
    const n = 1000;
    const { x, dOut } = cases(kind, n);
    const y = new Float32Array(n), dx = new Float32Array(n);
    CPU[kind][0](y, x);
    CPU[kind][1](dx, dOut, x);
    const ny = x.slice();
    activateInPlace(kind, ny, n);
    assert.deepEqual(ny, y);
    const ndx = new Float32Array(n);
    activationBackward(kind, ndx, dOut, x, n);
    assert.deepEqual(ndx, dx);
  });
}

// ---------------- the planner

Deno.test("GELU: approximate picks the plan kind; He init before it; bad options throw", () => {
  const plan = planNetwork([1, 4, 4], [
    new Conv2D({ filters: 2, kernelSize: 3 }),
    new GELU(),
    new Dense({ units: 5 }),
    new GELU({ approximate: "tanh", name: "act" }),
    new Dense({ units: 2 }),
    new Softmax(),
  ], 1);
  assert.deepEqual(plan.layers.map((l) => l.kind), [
    "conv2d",
    "gelu",
    "dense",
    "gelu_tanh",
    "dense",
    "softmax",
  ]);
  assert.equal(plan.layers[3].name, "act");
  const [conv, , dense] = plan.layers;
  assert.ok(conv.kind === "conv2d" && dense.kind === "dense");
  assert.deepEqual(conv.weight.init, { kind: "uniform", bound: Math.sqrt(6 / 9) });
  assert.deepEqual(dense.weight.init, { kind: "uniform", bound: Math.sqrt(6 / 8) });
  assertThrowsWith(
    () => new GELU({ approximate: "erf" as "none" }),
    RangeError,
    "GELU: approximate",
  );
  assertThrowsWith(() => new GELU({ name: 3 as unknown as string }), TypeError, "GELU: name");
});

// ---------------- whole networks: the lowerings bind x for GELU's backward

/** Conv → GELU → pool → Dense → GELU(tanh) → Dense → Softmax, 3 SGD steps on a backend. */
async function trainGelu(backend: "cpu" | "native" | "webgpu") {
  const layers = [
    new Conv2D({ filters: 3, kernelSize: 3 }),
    new GELU(),
    new MaxPool2D({ poolSize: 2 }),
    new Dense({ units: 6 }),
    new GELU({ approximate: "tanh" }),
    new Dense({ units: 4 }),
    new Softmax(),
  ];
  const model = await Sequential.create({
    inputShape: [1, 8, 8],
    layers,
    batchSize: 5,
    seed: 99,
    backend,
    ...(backend === "webgpu" ? { device: device! } : {}),
  });
  const rng = new RandomState(3);
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const x = Float32Array.from(rng.uniform(-2, 2, 5 * 64));
    losses.push(await model.trainStep(x, rng.randint(0, 4, 5), { learningRate: 0.5 }));
  }
  const weights = await model.getWeights();
  model.dispose();
  return { losses, weights };
}

for (const backend of ["native", "webgpu"] as const) {
  Deno.test({
    name: `GELU ${backend} training: 3 SGD steps match cpu (losses rtol 1e-4, weights 1e-3)`,
    ignore: backend === "webgpu" ? !hasAdapter : nativeIgnore,
    async fn() {
      const ref = await trainGelu("cpu"), got = await trainGelu(backend);
      assertAllClose(got.losses, ref.losses, { rtol: 1e-4, msg: "losses" });
      for (const [k, v] of Object.entries(ref.weights)) {
        assertAllClose(got.weights[k].data, v.data, { rtol: 1e-3, atol: 1e-4, msg: k });
      }
    },
  });
}
