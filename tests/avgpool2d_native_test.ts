/**
 * The native avgpool stage (`src/backends/native/pool.ts`) against `cpu/avgpool2d.ts`:
 * windows, strides, partial windows, global pooling. Tolerance: forward of tests/_native.ts.
 *
 * Skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import assert from "node:assert/strict";
import { avgPool2dBackward, avgPool2dForward } from "../cpu/avgpool2d.ts";
import { maxPool2dOutputSize } from "../cpu/maxpool2d.ts";
import { RandomState } from "../src/random.ts";
import { AvgPoolStage } from "../src/backends/native/pool.ts";
import { assertAllClose } from "./_assert.ts";
import { FWD, ignore, rand } from "./_native.ts";

Deno.test({
  name: "native avgpool (windows, strides, partial windows, global) against cpu/avgpool2d",
  ignore,
  fn() {
    const rng = new RandomState(60);
    // [N, C, H, W, pool, stride, ignoreBorder]
    const cases: [number, number, number, number, number, number, boolean][] = [
      [2, 3, 8, 8, 2, 2, true],
      [2, 3, 7, 5, 2, 2, false],
      [2, 2, 9, 8, 3, 2, false],
      [1, 2, 7, 9, 2, 3, false],
      [3, 4, 6, 5, 6, 6, true], // not global (5 < 6 drops the only window): [C, 0, 0]
      [3, 4, 6, 5, 0, 0, true], // global: the whole plane
    ];
    for (const [N, C, H, W, p, st, ignoreBorder] of cases) {
      const global = p === 0;
      const s = {
        batch: N,
        channels: C,
        height: H,
        width: W,
        poolH: global ? H : p,
        poolW: global ? W : p,
        strideH: global ? H : st,
        strideW: global ? W : st,
        ignoreBorder,
      };
      const label = `avgpool ${JSON.stringify(s)}`;
      const { outH, outW } = maxPool2dOutputSize(s);
      const x = rand(rng, N * C * H * W), expected = new Float32Array(N * C * outH * outW);
      avgPool2dForward(expected, x, s);
      const stage = new AvgPoolStage({
        inShape: [C, H, W],
        outShape: global ? [C] : [C, outH, outW],
        ...s,
      }, N);
      assert.equal(stage.outSize * N, expected.length, label);
      const out = new Float32Array(expected.length).fill(NaN);
      stage.forward(out, x, N);
      assertAllClose(out, expected, { ...FWD, msg: `${label} forward` });
      const dOut = rand(rng, out.length), eDx = new Float32Array(x.length);
      avgPool2dBackward(eDx, dOut, s);
      const dx = new Float32Array(x.length).fill(NaN);
      stage.backward(dx, dOut, N);
      assertAllClose(dx, eDx, { ...FWD, msg: `${label} dx` });
    }
  },
});
