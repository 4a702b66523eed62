/**
 * The native dropout stage (made through `src/backends/native/stages.ts`): the mask of
 * `cpu/dropout.ts`, bit for bit, and the identity in evaluation.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import assert from "node:assert/strict";
import { dropoutBackward, dropoutForward, dropoutKey } from "../cpu/dropout.ts";
import type { DropoutPlan } from "../src/backend.ts";
import { RandomState } from "../src/random.ts";
import { STAGES } from "../src/backends/native/stages.ts";
import { blas, ignore, rand } from "./_native.ts";

Deno.test({
  name: "native dropout: the mask of cpu/dropout (bit-identical), identity in evaluation",
  ignore,
  async fn() {
    const rng = new RandomState(80);
    const plan: DropoutPlan = {
      kind: "dropout",
      name: "drop3",
      inShape: [4, 5],
      outShape: [4, 5],
      rate: 0.4,
      index: 3,
    };
    const stage = STAGES.dropout.make(plan, { pool: null, bias: null, act: null }, {
      blas: blas!,
      batch: 6,
      first: false,
      param: () => {
        throw new Error("dropout has no parameters");
      },
      state: () => {
        throw new Error("dropout has no state");
      },
    });
    const n = 5, len = n * 20, x = rand(rng, 6 * 20), dOut = rand(rng, 6 * 20);
    const run = { training: true, seed: 1234, step: 7 };
    const key = dropoutKey(run.seed, run.step, plan.index);
    const expected = new Float32Array(len), eDx = new Float32Array(len);
    dropoutForward(expected, x.subarray(0, len), plan.rate, key);
    dropoutBackward(eDx, dOut.subarray(0, len), plan.rate, key);
    const out = new Float32Array(6 * 20).fill(NaN), dx = new Float32Array(6 * 20).fill(NaN);
    await stage.forward(x, out, n, run);
    assert.deepEqual(out.subarray(0, len), expected);
    await stage.backward(dx, dOut, x, out, n);
    assert.deepEqual(dx.subarray(0, len), eDx);
    const dropped = expected.filter((v) => v === 0).length;
    assert.ok(dropped > 20 && dropped < 60, `dropped ${dropped} of ${len}`);
    await stage.forward(x, out, n, { ...run, training: false });
    assert.deepEqual(out.subarray(0, len), x.subarray(0, len));
  },
});
