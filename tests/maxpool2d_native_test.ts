/**
 * The native maxpool stage (`src/backends/native/pool.ts`, with a fused activation) against
 * `cpu/maxpool2d.ts`: both border modes, strides, overlapping windows. Argmax and the scatter
 * are exact (same tie rule): pooling alone is compared with rtol 0, pooling + activation with
 * rtol 1e-6 (both sides call Math.tanh / Math.exp on the same float32 values).
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dOutputSize,
  type MaxPool2DShape,
} from "../cpu/maxpool2d.ts";
import { RandomState } from "../src/random.ts";
import { PoolStage } from "../src/backends/native/pool.ts";
import type { Activation } from "../src/backends/native/pointwise.ts";
import { assertAllClose } from "./_assert.ts";
import { act, actBack, ignore, rand } from "./_native.ts";

Deno.test({
  name:
    "native maxpool (+ activation) against cpu/maxpool2d, both modes, strides, overlapping windows, exact ties, both tie rules",
  ignore,
  fn() {
    const rng = new RandomState(40);
    type Case = [
      number,
      number,
      number,
      number,
      number,
      number,
      boolean,
      Activation,
      number?,
      number?,
    ];
    const cases: Case[] = [
      [2, 20, 24, 24, 2, 2, true, "tanh"],
      [2, 3, 7, 5, 2, 2, false, null],
      [2, 3, 7, 5, 2, 2, true, "sigmoid"],
      [3, 2, 5, 9, 3, 2, false, "tanh"],
      [1, 1, 4, 4, 4, 4, true, null],
      // overlapping windows (3x3 stride 2, the gradient of a shared maximum adds up), strides
      // larger than the window, partial windows, relu
      [2, 3, 9, 8, 3, 3, true, null, 2, 2],
      [2, 3, 9, 8, 3, 3, false, "relu", 2, 2],
      [2, 2, 7, 10, 2, 3, false, null, 3, 1],
      [1, 2, 6, 6, 2, 2, true, "relu", 1, 1],
    ];
    const withTies = cases.flatMap((c) => (["first", "all"] as const).map((t) => [c, t] as const));
    for (const [[N, C, H, W, ph, pw, ignoreBorder, kind, sh = ph, sw = pw], ties] of withTies) {
      const s: MaxPool2DShape = {
        ties,
        batch: N,
        channels: C,
        height: H,
        width: W,
        poolH: ph,
        poolW: pw,
        strideH: sh,
        strideW: sw,
        ignoreBorder,
      };
      const label = `pool ${JSON.stringify(s)} ${kind}`;
      // values on a coarse grid so that windows hold exact ties
      const x = Float32Array.from(rng.randint(-3, 3, N * C * H * W), (v) => v / 2);
      const { outH: OH, outW: OW } = maxPool2dOutputSize(s);
      const pooled = new Float32Array(N * C * OH * OW), expected = new Float32Array(pooled.length);
      maxPool2dForward(pooled, x, s);
      act(kind, expected, pooled);
      const geometry = {
        inShape: [C, H, W],
        outShape: [C, OH, OW],
        poolH: ph,
        poolW: pw,
        strideH: sh,
        strideW: sw,
        ties,
      };
      const stage = new PoolStage(geometry, kind, N);
      const out = new Float32Array(expected.length).fill(NaN);
      stage.forward(out, x, N);
      const tol = { rtol: kind ? 1e-6 : 0, atol: 0 };
      assertAllClose(out, expected, { ...tol, msg: `${label} forward` });
      const dOut = rand(rng, out.length), dPre = new Float32Array(out.length);
      actBack(kind, dPre, dOut, expected);
      const eDx = new Float32Array(x.length);
      maxPool2dBackward(eDx, dPre, x, s);
      const dx = new Float32Array(x.length).fill(NaN);
      stage.backward(dx, dOut, out, N);
      assertAllClose(dx, eDx, { ...tol, msg: `${label} dx` });
    }
  },
});
