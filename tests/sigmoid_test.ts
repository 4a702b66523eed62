// Tests of cpu/sigmoid.ts: values, stability for large |x|, and a float64 finite-difference check.
import assert from "node:assert";
import { sigmoidBackward, sigmoidForward } from "../cpu/sigmoid.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose, assertThrowsWith } from "./_assert.ts";
import { dot, gradCheck, randomArray } from "./_gradcheck.ts";

Deno.test("sigmoidForward: values, symmetry and no overflow for large |x|", () => {
  const x = Float64Array.of(0, 2, -2, 40, -40, 800, -800, 1e308, -1e308);
  const out = new Float64Array(x.length);
  sigmoidForward(out, x);
  const expected = [
    0.5,
    1 / (1 + Math.exp(-2)),
    Math.exp(-2) / (1 + Math.exp(-2)),
    1,
    4.248354255291589e-18,
    1,
    0,
    1,
    0,
  ];
  assertAllClose(out, expected, { rtol: 1e-15, atol: 0 });
  for (const v of out) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1);
  assertAllClose([out[1] + out[2]], [1], { rtol: 1e-15 }); // sigmoid(-x) = 1 - sigmoid(x)
  const f32 = new Float32Array(2);
  sigmoidForward(f32, Float32Array.of(-100, 100));
  assert.deepStrictEqual(Array.from(f32), [Math.fround(Math.exp(-100)), 1]);
});

Deno.test("sigmoidBackward passes a float64 finite-difference check (max rel err < 1e-6)", () => {
  const rng = new RandomState(600);
  const x = randomArray(rng, 60, -6, 6);
  const r = randomArray(rng, 60);
  const y = new Float64Array(60), dx = new Float64Array(60).fill(NaN);
  sigmoidForward(y, x);
  sigmoidBackward(dx, r, y);
  const out = new Float64Array(60);
  const res = gradCheck(
    (v) => {
      sigmoidForward(out, v);
      return dot(out, r);
    },
    x,
    dx,
  );
  assert.ok(res.maxRelError < 1e-6, `max rel err ${res.maxRelError}`);
});

Deno.test("sigmoid throws RangeError on length mismatch", () => {
  assertThrowsWith(
    () => sigmoidForward(new Float64Array(2), new Float64Array(3)),
    RangeError,
    "sigmoidForward: out must have length 3, received 2",
  );
  assertThrowsWith(
    () => sigmoidBackward(new Float64Array(2), new Float64Array(3), new Float64Array(3)),
    RangeError,
    "sigmoidBackward: dx must have length 3",
  );
});
