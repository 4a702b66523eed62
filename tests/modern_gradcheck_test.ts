/**
 * Whole-network gradient check of the new layers: the reference executor in float64 on
 * tiny modern networks (padded and strided convolutions, batch norm in training mode over
 * feature maps and features, ReLU, overlapping max pooling, average and global average
 * pooling, dropout with a fixed step's mask, dense, softmax + NLL), every parameter tensor
 * against central finite differences.
 */
import assert from "node:assert/strict";
import { CpuExecutor } from "../src/backends/cpu.ts";
import { type Layer, planNetwork } from "../src/layers.ts";
import {
  AvgPool2D,
  BatchNorm1D,
  BatchNorm2D,
  Conv2D,
  Dense,
  Dropout,
  GlobalAvgPool2D,
  MaxPool2D,
  ReLU,
  Softmax,
  type StepOptions,
  Tanh,
} from "../mod.ts";
import { RandomState } from "../src/random.ts";
import { gradCheck } from "./_gradcheck.ts";

/** Bound on max |a - n| / (|a| + |n|) in float64 (h = 1e-5). */
const REL_BOUND = 1e-6;

const STEP: StepOptions = {
  optimizer: { kind: "sgd", learningRate: 0, momentum: 0 },
  step: 3,
  seed: 99,
  readLoss: true,
};

function check(inputShape: number[], layers: Layer[], batch: number, seed: number): void {
  const plan = planNetwork(inputShape, layers, batch);
  const rng = new RandomState(seed);
  const exec = new CpuExecutor(plan, "float64");
  const params = new Map<string, Float64Array>();
  for (const p of [...plan.params, ...plan.state]) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    // Running variances must stay positive; the rest random and non-zero.
    params.set(
      p.name,
      p.name.endsWith("running_var") ? rng.uniform(0.5, 1.5, size) : rng.uniform(-0.8, 0.8, size),
    );
  }
  const x = rng.uniform(-1, 1, batch * inputShape.reduce((a, b) => a * b, 1));
  const labels = Array.from({ length: batch }, (_, i) => i % plan.classes);
  const loss = () => {
    exec.setParams(params);
    return exec.lossAndGradients(x, labels, STEP).loss;
  };
  exec.setParams(params);
  const { grads } = exec.lossAndGradients(x, labels, STEP);
  const analytic = new Map([...grads].map(([k, v]) => [k, Float64Array.from(v)]));
  assert.equal(analytic.size, plan.params.length);
  // A bias right before a batch norm has no effect on the loss: its gradient is exactly 0.
  const beforeNorm = new Set(
    plan.layers.flatMap((l, i) =>
      plan.layers[i + 1]?.kind === "batchnorm" && "bias" in l && l.bias ? [l.bias.name] : []
    ),
  );
  for (const p of plan.params) {
    const r = gradCheck(loss, params.get(p.name)!, analytic.get(p.name)!);
    if (beforeNorm.has(p.name)) {
      const tiny = (v: number) => Math.abs(v) < 1e-9;
      assert.ok(r.numeric.every(tiny) && analytic.get(p.name)!.every(tiny), p.name);
      continue;
    }
    assert.ok(
      r.maxRelError < REL_BOUND,
      `${p.name}: max relative error ${r.maxRelError} at ${r.worstIndex} (bound ${REL_BOUND})`,
    );
    assert.ok(r.numeric.some((v) => Math.abs(v) > 1e-4), `${p.name}: gradient is ~0`);
  }
}

Deno.test("modern net (same conv, BN2D, ReLU, 3x3/2 max pool, strided padded conv, global avg, BN1D, dropout): every gradient (float64)", () => {
  check(
    [2, 7, 6],
    [
      new Conv2D({ filters: 3, kernelSize: 3, padding: "same" }),
      new BatchNorm2D(),
      new ReLU(),
      new MaxPool2D({ poolSize: 3, strides: 2, ignoreBorder: false }),
      new Conv2D({ filters: 4, kernelSize: 2, stride: 2, padding: 1 }),
      new BatchNorm2D(),
      new Tanh(),
      new GlobalAvgPool2D(),
      new Dense({ units: 6, init: "uniform" }),
      new BatchNorm1D(),
      new ReLU(),
      new Dropout({ rate: 0.4 }),
      new Dense({ units: 3, init: "uniform" }),
      new Softmax(),
    ],
    4,
    11,
  );
});

Deno.test("modern net (even-kernel same conv, avg pool with partial windows, strided conv): every gradient (float64)", () => {
  check(
    [1, 8, 9],
    [
      new Conv2D({ filters: 2, kernelSize: [2, 4], padding: "same" }),
      new Tanh(),
      new AvgPool2D({ poolSize: 3, strides: 2, ignoreBorder: false }),
      new Conv2D({ filters: 3, kernelSize: 3, stride: [2, 1], padding: [1, 0] }),
      new Dropout({ rate: 0.25 }),
      new Dense({ units: 3, init: "uniform" }),
      new Softmax(),
    ],
    3,
    5,
  );
});
