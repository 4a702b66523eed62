// Tests of cpu/tanh.ts: values, saturation, and a float64 finite-difference gradient check.
import assert from "node:assert";
import { tanhBackward, tanhForward } from "../cpu/tanh.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";

Deno.test("tanhForward: values and saturation for large |x|", () => {
  const out = new Float64Array(5);
  tanhForward(out, Float64Array.of(0, 0.5, -2, 1e4, -1e4));
  assertAllClose(out, [0, 0.46211715726000974, -0.9640275800758169, 1, -1], {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("tanhBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(500);
  const x = randomArray(rng, 60, -3, 3);
  const r = randomArray(rng, 60);
  const y = new Float64Array(60), dx = new Float64Array(60).fill(NaN);
  tanhForward(y, x);
  tanhBackward(dx, r, y);
  const out = new Float64Array(60);
  const res = gradCheck(
    (v) => {
      tanhForward(out, v);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
});

Deno.test("tanh works in place and on Float32Array", () => {
  const a = Float32Array.of(0.25, -1);
  tanhForward(a, a);
  assert.deepStrictEqual(Array.from(a), [Math.fround(Math.tanh(0.25)), Math.fround(Math.tanh(-1))]);
  const d = Float32Array.of(2, 2);
  tanhBackward(d, d, Float32Array.of(0, 0.5));
  assert.deepStrictEqual(Array.from(d), [2, 1.5]);
});

Deno.test("tanh throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => tanhForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "tanhForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => tanhBackward(new Float64Array(3), new Float64Array(2), new Float64Array(3)),
    RangeError,
    "tanhBackward: dOut must have length 3",
  );
});
