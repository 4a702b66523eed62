// Tests of cpu/relu.ts: values (PyTorch's NaN and zero conventions), and a float64
// finite-difference gradient check.
import assert from "node:assert";
import { reluBackward, reluForward } from "../cpu/relu.ts";
import { RandomState } from "../src/random.ts";
import { assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";

Deno.test("reluForward: negatives to 0, positives kept, NaN propagates, -0 kept", () => {
  const out = new Float64Array(6);
  reluForward(out, Float64Array.of(-1e30, -0.5, 0, 0.25, 1e30, NaN));
  assert.deepStrictEqual(Array.from(out), [0, 0, 0, 0.25, 1e30, NaN]);
  // the formula x < 0 ? 0 : x keeps the sign of a zero input (-0 < 0 is false)
  reluForward(out.subarray(0, 1), Float64Array.of(-0));
  assert.ok(Object.is(out[0], -0));
  reluForward(out.subarray(0, 1), Float64Array.of(-Infinity));
  assert.strictEqual(out[0], 0);
});

Deno.test("reluBackward: gradient only where the output is positive (0 at y = 0)", () => {
  const dx = new Float64Array(4).fill(NaN);
  reluBackward(dx, Float64Array.of(1, 2, 3, 4), Float64Array.of(0, 0.5, 0, 7));
  assert.deepStrictEqual(Array.from(dx), [0, 2, 0, 4]);
});

Deno.test("reluBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(510);
  const n = 80;
  const x = randomArray(rng, n, -2, 2);
  // keep every |x| > 1e-3 so that x +- h never crosses the kink at 0
  for (let k = 0; k < n; k++) if (Math.abs(x[k]) < 1e-3) x[k] += 0.01;
  const r = randomArray(rng, n);
  const y = new Float64Array(n), dx = new Float64Array(n).fill(NaN);
  reluForward(y, x);
  reluBackward(dx, r, y);
  const out = new Float64Array(n);
  const res = gradCheck(
    (v) => {
      reluForward(out, v);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
  assert.ok(dx.some((v) => v === 0) && dx.some((v) => v !== 0), "both branches exercised");
});

Deno.test("relu works in place and on Float32Array", () => {
  const a = Float32Array.of(-1, 0.1);
  reluForward(a, a);
  assert.deepStrictEqual(Array.from(a), [0, Math.fround(0.1)]);
  const d = Float32Array.of(3, 3);
  reluBackward(d, d, a);
  assert.deepStrictEqual(Array.from(d), [0, 3]);
});

Deno.test("relu throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => reluForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "reluForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => reluBackward(new Float64Array(3), new Float64Array(2), new Float64Array(3)),
    RangeError,
    "reluBackward: dOut must have length 3, received 2",
  );
});
