/**
 * conv2d at the tutorial's shapes and at a small modern CNN's (3x3 "same", 3x3 stride 2), batch
 * 500: the CPU reference (baseline), the native backend's twin (its name says what it runs)
 * and the WebGPU kernels side by side, one `deno bench` group per op and layer. Native and
 * WebGPU entries are skipped, with a line on stderr saying why, where no CBLAS or no adapter
 * is found.
 *
 *   deno bench -A bench/conv2d_bench.ts
 *
 * @module
 */
import { conv2dBackward, conv2dForward } from "../cpu/conv2d.ts";
import { ConvStage } from "../src/backends/native/conv.ts";
import { type ConvDims, convWeightSplits, specs } from "../src/backends/webgpu/kernels.ts";
import { conv2dOutputSize } from "../src/shapes.ts";
import { BATCH as N, benchCases, F, kernel, type OpCase, rand } from "./_bench_util.ts";

/** A convolution's dims before its output size. */
type ConvSize = Omit<ConvDims, "OH" | "OW">;

/** A 3x3 "same" convolution (padding 1) of C channels of H x H into O. */
const same = (C: number, H: number, O: number): ConvSize => ({
  C,
  H,
  W: H,
  O,
  KH: 3,
  KW: 3,
  PT: 1,
  PL: 1,
  PB: 1,
  PR: 1,
});

/** Forward and backward (with dx unless it is the network's first layer) at one shape. */
function conv(name: string, d0: ConvSize, withDx: boolean): OpCase[] {
  const [SH, SW, PT, PL, PB, PR] = [
    d0.SH ?? 1,
    d0.SW ?? 1,
    d0.PT ?? 0,
    d0.PL ?? 0,
    d0.PB ?? 0,
    d0.PR ?? 0,
  ];
  const s0 = {
    batch: N,
    inChannels: d0.C,
    height: d0.H,
    width: d0.W,
    outChannels: d0.O,
    kernelH: d0.KH,
    kernelW: d0.KW,
    strideH: SH,
    strideW: SW,
    padTop: PT,
    padLeft: PL,
    padBottom: PB,
    padRight: PR,
  };
  const { outH: OH, outW: OW } = conv2dOutputSize(s0);
  const d: ConvDims = { ...d0, OH, OW }, s = { ...s0, outH: OH, outW: OW };
  const xs = N * d.C * d.H * d.W, ws = d.O * d.C * d.KH * d.KW, ys = N * d.O * OH * OW;
  const macs = N * d.O * OH * OW * d.C * d.KH * d.KW, S = convWeightSplits(d);
  const shape = `${N}x${d.C}x${d.H}x${d.W} * ${d.O}x${d.C}x${d.KH}x${d.KW}` +
    (SH > 1 || SW > 1 ? ` stride ${SH}x${SW}` : "") +
    (PT + PL + PB + PR > 0 ? ` pad ${PT},${PL},${PB},${PR}` : "");
  const backward = [
    // dw and db (the bias lane sums dOut), then the sum of the batch slices' partial sums
    kernel(specs.conv2dBackwardWeight(d), 2 * macs + ys, F * (ys + xs + S * (ws + d.O))),
    kernel(specs.splitSum(S, ws, d.O), S * (ws + d.O), F * (S + 1) * (ws + d.O)),
  ];
  if (withDx) backward.push(kernel(specs.conv2dBackwardInput(d), 2 * macs, F * (ys + ws + xs)));
  const grads = () =>
    [withDx ? new Float32Array(xs) : null, new Float32Array(ws), new Float32Array(d.O)] as const;
  return [{
    group: `conv2d forward ${name}`,
    shape,
    kernels: [kernel(specs.conv2dForward(d), 2 * macs, F * (xs + ws + ys))],
    cpu() {
      const [out, x, w, b] = [new Float32Array(ys), rand(xs), rand(ws), rand(d.O)];
      return () => conv2dForward(out, x, w, b, s);
    },
    nativeNote: "im2col + sgemm + bias, chunked; no pool/tanh",
    native(blas) {
      const stage = new ConvStage(blas, s, null, null, false);
      const [out, x, w, b] = [new Float32Array(ys), rand(xs), rand(ws), rand(d.O)];
      return () => stage.forward(out, x, w, b, N);
    },
  }, {
    group: `conv2d backward ${name}`,
    shape,
    kernels: backward,
    cpu() {
      const [x, w, dy] = [rand(xs), rand(ws), rand(ys)], [dx, dw, db] = grads();
      return () => conv2dBackward(dx, dw, db, dy, x, w, s);
    },
    nativeNote: withDx ? "bias sum + 2 sgemm + col2im, chunked" : "bias sum + sgemm, chunked",
    async native(blas) {
      const stage = new ConvStage(blas, s, null, null, withDx);
      const [x, w, b, dy, out] = [rand(xs), rand(ws), rand(d.O), rand(ys), new Float32Array(ys)];
      const [dx, dw, db] = grads();
      await stage.forward(out, x, w, b, N); // backward reuses forward's im2col
      return () => stage.backward(dx, dw, db, dy, out, w, N);
    },
  }];
}

/** The tutorial LeNet's convolutions. */
export const LENET: OpCase[] = [
  ...conv("conv0", { C: 1, H: 28, W: 28, O: 20, KH: 5, KW: 5 }, false),
  ...conv("conv1", { C: 20, H: 12, W: 12, O: 50, KH: 5, KW: 5 }, true),
];
/** A small modern CNN's (examples/modern.ts). */
export const MODERN: OpCase[] = [
  ...conv("3x3 same 16->32 28x28", same(16, 28, 32), false),
  ...conv("3x3 same 32->32 14x14", same(32, 14, 32), true),
  ...conv("3x3 stride 2 32->32 28x28", { ...same(32, 28, 32), SH: 2, SW: 2 }, true),
];

await benchCases(LENET, 1);
await benchCases(MODERN, 1);
