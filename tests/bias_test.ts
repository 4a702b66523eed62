/**
 * The Bias layer (`cpu/bias.ts`, shaders/bias_forward.wgsl, the native bias stage and its
 * fusion into a convolution stage) and the tutorial's LeNet built with it
 * (`lenet5({ convention: "tutorial" })`: conv without bias, max pooling with Theano's tie rule,
 * then the bias), on every backend:
 * - the CPU reference against float64 finite differences (max relative error < 1e-6);
 * - whole networks trained 3 SGD steps on cpu, native and webgpu from the same weights, on
 *   quantised images that make exact ties in the pooling windows: losses rtol 1e-5, weights
 *   rtol 1e-3 + atol 1e-4·max|w| (float32 sums on native and webgpu against the reference's).
 *
 * native is skipped without a CBLAS, webgpu without an adapter, each saying why.
 */
import assert from "node:assert/strict";
import { biasBackward, biasForward, type BiasShape } from "../cpu/bias.ts";
import {
  AvgPool2D,
  Bias,
  Conv2D,
  Dense,
  type Layer,
  lenet5,
  MaxPool2D,
  ReLU,
  Sequential,
  Softmax,
  Tanh,
} from "../mod.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";
import { ignore as noBlas } from "./_native.ts";
import { atolFor, device } from "./_webgpu.ts";

Deno.test("biasBackward passes float64 finite-difference checks (images and features)", () => {
  const shapes: BiasShape[] = [
    { batch: 3, channels: 4, positions: 6 },
    { batch: 5, channels: 7, positions: 1 },
  ];
  for (const [k, s] of shapes.entries()) {
    const rng = new RandomState(500 + k);
    const size = s.batch * s.channels * s.positions;
    const x = randomArray(rng, size), b = randomArray(rng, s.channels);
    const r = randomArray(rng, size);
    const y = new Float64Array(size),
      dx = new Float64Array(size),
      db = new Float64Array(s.channels);
    biasBackward(dx, db, r, s);
    const fx = (v: Float64Array) => (biasForward(y, v, b, s), dot(y, r));
    const fb = (v: Float64Array) => (biasForward(y, x, v, s), dot(y, r));
    for (const [what, res] of [["dx", gradCheck(fx, x, dx)], ["db", gradCheck(fb, b, db)]]) {
      const { maxRelError } = res as ReturnType<typeof gradCheck>;
      assert.ok(maxRelError < 1e-6, `shape ${k} ${what}: max rel err ${maxRelError}`);
    }
  }
});

/** Images on a coarse grid (0, 1/4, ..., 1) so that pooling windows hold exact ties. */
function tiedData(seed: number, count: number, sample: number, classes: number) {
  const rng = new RandomState(seed);
  const x = Float32Array.from(rng.randint(0, 5, count * sample), (v) => v / 4);
  const labels = Int32Array.from(rng.randint(0, classes, count));
  return { x, labels };
}

const NETS: { name: string; inputShape: number[]; layers: () => Layer[] }[] = [
  {
    name: "the tutorial's LeNet (conv, max pool with ties: all, bias, tanh)",
    inputShape: [1, 28, 28],
    layers: () => lenet5({ kernels: [4, 6], hidden: 20, convention: "tutorial" }),
  },
  {
    name: "Bias alone after a conv without bias, average pooling and dense layers",
    inputShape: [2, 9, 9],
    layers: () => [
      new Conv2D({ filters: 3, kernelSize: 3, useBias: false }),
      new Bias(),
      new ReLU(),
      new AvgPool2D({ poolSize: 2 }),
      new Bias(),
      new Tanh(),
      new Conv2D({ filters: 4, kernelSize: 2, useBias: false }),
      new MaxPool2D({ poolSize: 2, ties: "all", ignoreBorder: false }),
      new Dense({ units: 6 }),
      new Bias(),
      new ReLU(),
      new Dense({ units: 3 }),
      new Softmax(),
    ],
  },
];

const BACKENDS = [
  { backend: "native", skip: noBlas ? "no CBLAS could be loaded" : "" },
  { backend: "webgpu", skip: device ? "" : "no WebGPU adapter" },
] as const;

for (const net of NETS) {
  for (const { backend, skip } of BACKENDS) {
    Deno.test({
      name: `Bias ${backend} = cpu: ${net.name}, 3 SGD steps on tied images${
        skip ? ` (skipped: ${skip})` : ""
      }`,
      ignore: skip !== "",
      fn: async () => {
        const make = (b: "cpu" | typeof backend) =>
          Sequential.create({
            inputShape: net.inputShape,
            layers: net.layers(),
            batchSize: 6,
            backend: b,
            seed: 3,
            ...(b === "webgpu" ? { device: device! } : {}),
          });
        const [ref, other] = [await make("cpu"), await make(backend)];
        try {
          const sample = net.inputShape.reduce((a, b) => a * b, 1);
          const classes = ref.plan.classes;
          for (let step = 0; step < 3; step++) {
            const { x, labels } = tiedData(10 + step, 6, sample, classes);
            const opts = { learningRate: 0.1 };
            const [a, b] = [
              await ref.trainStep(x, labels, opts),
              await other.trainStep(x, labels, opts),
            ];
            assertAllClose([b], [a], { rtol: 1e-5, msg: `step ${step} loss` });
          }
          const [wa, wb] = [await ref.getWeights(), await other.getWeights()];
          assert.deepEqual(Object.keys(wb).sort(), Object.keys(wa).sort());
          for (const name of Object.keys(wa)) {
            assertAllClose(wb[name].data, wa[name].data, {
              rtol: 1e-3,
              atol: atolFor(wa[name].data, 1e-4),
              msg: `${backend} ${name} after 3 steps`,
            });
          }
        } finally {
          ref.dispose();
          other.dispose();
        }
      },
    });
  }
}

Deno.test("Bias: parameters named <name>.bias, zeros at the start; the tutorial LeNet's list", async () => {
  const model = await Sequential.create({
    inputShape: [1, 28, 28],
    layers: lenet5({ convention: "tutorial" }),
    batchSize: 2,
    backend: "cpu",
  });
  const w = await model.getWeights();
  assert.deepEqual(Object.keys(w), [
    "conv0.weight",
    "bias0.bias",
    "conv1.weight",
    "bias1.bias",
    "dense0.weight",
    "dense0.bias",
    "dense1.weight",
    "dense1.bias",
  ]);
  assert.ok(w["bias0.bias"].data.every((v) => v === 0));
  assert.deepEqual(w["bias1.bias"].shape, [50]);
  model.dispose();
  assert.throws(
    () => new Conv2D({ filters: 2, kernelSize: 3, useBias: "no" as unknown as boolean }),
    /Conv2D: useBias must be true or false, got "no"/,
  );
});
