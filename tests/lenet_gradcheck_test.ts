/**
 * Whole-network gradient check: the reference executor run in float64 on a tiny
 * LeNet-shaped network (conv, pool in both border modes, tanh, sigmoid, dense,
 * softmax + NLL), every parameter tensor against central finite differences.
 */
import assert from "node:assert/strict";
import { CpuExecutor } from "../src/backends/cpu.ts";
import { planNetwork } from "../src/layers.ts";
import { Conv2D, Dense, MaxPool2D, Sigmoid, Softmax, Tanh } from "../mod.ts";
import { RandomState } from "../src/random.ts";
import { gradCheck } from "./_gradcheck.ts";

/** Bound on max |a - n| / (|a| + |n|) in float64 (h = 1e-5). */
const REL_BOUND = 1e-6;

Deno.test("whole LeNet-shaped loss: gradient of every parameter tensor (float64)", () => {
  const plan = planNetwork([2, 9, 8], [
    new Conv2D({ filters: 3, kernelSize: [3, 2] }),
    new MaxPool2D({ poolSize: 2, ignoreBorder: false }),
    new Tanh(),
    new Conv2D({ filters: 4, kernelSize: [2, 3] }),
    new MaxPool2D({ poolSize: 2, ignoreBorder: true }),
    new Sigmoid(),
    new Dense({ units: 5 }),
    new Tanh(),
    new Dense({ units: 3 }),
    new Softmax(),
  ], 3);
  const rng = new RandomState(7);
  const exec = new CpuExecutor(plan, "float64");
  // Random non-zero values everywhere (the tutorial's zero init of the last layer
  // would make every earlier gradient exactly zero and the check vacuous).
  const params = new Map<string, Float64Array>();
  for (const p of plan.params) {
    params.set(p.name, rng.uniform(-0.8, 0.8, p.shape.reduce((a, b) => a * b, 1)));
  }
  const x = rng.uniform(-1, 1, 3 * 2 * 9 * 8);
  const labels = [2, 0, 1];
  const loss = () => {
    exec.setParams(params);
    return exec.lossAndGradients(x, labels).loss;
  };
  exec.setParams(params);
  const { grads } = exec.lossAndGradients(x, labels);
  const analytic = new Map([...grads].map(([k, v]) => [k, Float64Array.from(v)]));
  assert.equal(analytic.size, 8);
  for (const p of plan.params) {
    const r = gradCheck(loss, params.get(p.name)!, analytic.get(p.name)!);
    assert.ok(
      r.maxRelError < REL_BOUND,
      `${p.name}: max relative error ${r.maxRelError} at ${r.worstIndex} (bound ${REL_BOUND})`,
    );
    // The check is not vacuous: the gradient has real magnitude.
    assert.ok(r.numeric.some((v) => Math.abs(v) > 1e-4), `${p.name}: gradient is ~0`);
  }
});
