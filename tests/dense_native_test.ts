/**
 * The native dense stage (`src/backends/native/dense.ts`, with a fused activation) against
 * `cpu/dense.ts`, including a partial batch. Tolerances: forward and backward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import { denseBackward, denseForward } from "../cpu/dense.ts";
import { RandomState } from "../src/random.ts";
import { DenseStage } from "../src/backends/native/dense.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { assertAllClose } from "./_assert.ts";
import { act, actBack, blas, BWD, FWD, ignore, rand } from "./_native.ts";

Deno.test({
  name: "native dense (+ activation) against cpu/dense",
  ignore,
  fn() {
    const rng = new RandomState(30);
    for (
      const [B, I, J, kind, n] of [
        [5, 800, 500, "tanh", 5],
        [7, 500, 10, null, 7],
        [6, 13, 9, "sigmoid", 4],
        [1, 1, 1, null, 1],
      ] as [number, number, number, Activation, number][]
    ) {
      const label = `dense ${B}x${I}x${J} ${kind} n=${n}`;
      const x = rand(rng, B * I), w = rand(rng, I * J, -0.2, 0.2), b = rand(rng, J);
      const pre = new Float32Array(n * J), expected = new Float32Array(n * J);
      denseForward(pre, x.subarray(0, n * I), w, b, { batch: n, inFeatures: I, outFeatures: J });
      act(kind, expected, pre);
      const stage = new DenseStage(blas!, I, J, kind, B);
      const out = new Float32Array(B * J).fill(NaN);
      stage.forward(out, x, w, b, n);
      assertAllClose(out.subarray(0, n * J), expected, { ...FWD, msg: `${label} forward` });

      const dOut = rand(rng, B * J), dPre = new Float32Array(n * J);
      actBack(kind, dPre, dOut.subarray(0, n * J), expected);
      const eDx = new Float32Array(n * I), eDw = new Float32Array(I * J), eDb = new Float32Array(J);
      denseBackward(eDx, eDw, eDb, dPre, x.subarray(0, n * I), w, {
        batch: n,
        inFeatures: I,
        outFeatures: J,
      });
      const dx = new Float32Array(B * I).fill(NaN), dw = new Float32Array(I * J).fill(NaN);
      const db = new Float32Array(J).fill(NaN);
      stage.backward(dx, dw, db, dOut, out, x, w, n);
      assertAllClose(dx.subarray(0, n * I), eDx, { ...BWD, msg: `${label} dx` });
      assertAllClose(dw, eDw, { ...BWD, msg: `${label} dw` });
      assertAllClose(db, eDb, { ...BWD, msg: `${label} db` });
    }
  },
});
