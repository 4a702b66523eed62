/**
 * A convolution stage of the native backend: Conv2D (with strides and zero padding),
 * optionally followed by MaxPool2D and/or an activation, fused.
 *
 * A padded convolution copies each chunk of its input into a zero-bordered buffer and runs
 * the valid convolution on it (and crops the input gradient back out of a padded one), so
 * a 3x3 "same" convolution with stride 1 keeps the wide im2col layout below: one memcpy per
 * kernel tap, channel and sample.
 *
 * The batch is processed in chunks of `Nc` samples sized so that a chunk's im2col matrix stays
 * in L2 (measured: the first LeNet conv, K = 25, runs its GEMMs 3-4x faster on a cache-hot
 * chunk than over the whole batch, where they are bound by memory traffic).
 *
 * Forward, per chunk: im2col, then one GEMM `Y[O, Nc·P] = W · cols` (channel-major, no bias);
 * the epilogue adds the bias, pools (recording argmax) and applies the activation while
 * writing the stage's NCHW output. The im2col matrices are kept for backward.
 * Backward, per chunk: the activation's derivative and the pooling's scatter (or a transpose)
 * give `dY[O, Nc·P]` and the bias gradient; then `dW += dY · colsᵀ` and, unless this is the
 * first stage, `dCols = Wᵀ · dY` followed by col2im. A "same" convolution with stride 1
 * (output plane = input plane) takes its input gradient as a transposed convolution instead:
 * im2col of the zero-padded `dY`, then `dX[C, Nc·P] = W̃ · cols` with the kernels flipped
 * and transposed — a GEMM of the forward's shape (inner dimension O·KH·KW instead of O) and
 * no col2im (32->32 channels at 28x28, batch 128: backward 161 vs 278 ms, busy machine).
 *
 * The two cores are used as a pipeline: each chunk's GEMMs run on another thread
 * (`sgemmAsync`, one BLAS thread) while JavaScript prepares the next chunk (im2col, scatter)
 * and finishes the previous one (epilogue, col2im), with two GEMM output buffers taking turns.
 * Measured on 2 busy cores, conv forward + backward of LeNet at batch 500: 126-200 ms
 * pipelined vs 188-303 ms for the same steps in sequence with 2 BLAS threads. With a single
 * core (`navigator.hardwareConcurrency` 1, e.g. under `taskset`) every hand-over between the
 * threads waits for a time slice (conv0 forward: 127 ms instead of ~25), so there the GEMMs
 * run in sequence, on the calling thread.
 * A backward pass that also computes the input gradient is bound by its two GEMMs per chunk
 * (LeNet's second conv: ~35 ms of GEMMs on one thread beside ~13 ms of JavaScript), so it runs
 * in sequence with all of OpenBLAS's threads instead: 31 vs 37-41 ms on 2 quiet cores.
 *
 * Dimension letters: N batch, C in channels, H x W input, O filters, KH x KW kernel,
 * OH x OW conv output, P = OH·OW, K = C·KH·KW; pooled output PH x PW (or OH x OW).
 *
 * @module
 */
import type { Blas } from "./blas.ts";
import {
  col2im,
  col2imWide,
  im2col,
  im2colWide,
  type SizedConv2DShape,
  wideColumns,
} from "./im2col.ts";
import {
  activateInPlace,
  type Activation,
  activationBackward,
  maxPoolForward,
  type PoolGeometry,
  scatterMax,
  tieWords,
} from "./pointwise.ts";

/** A max pooling fused after the convolution. */
export interface FusedPool {
  /** Window height. */
  poolH: number;
  /** Window width. */
  poolW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Pooled plane height (the plan's, partial windows included or not). */
  outH: number;
  /** Pooled plane width. */
  outW: number;
  /** Backward's tie rule: `"first"` maximum (default) or `"all"` (Theano). */
  ties?: "first" | "all";
  /**
   * The bias is a Bias layer after the pooling (Theano's `pool(conv(x)) + b`), not the
   * convolution's: with `ties: "all"` its gradient counts a tied window once, not once per
   * tied input. The forward values are the same either way (rounding is monotonic).
   */
  biasAfterPool?: boolean;
}

/** Bytes of one chunk's im2col matrix aimed at (L2 is 1-2 MiB on current x86 cores). */
const CHUNK_BYTES = 1 << 20;

/**
 * A backward pass with an input gradient runs its GEMMs pipelined (one BLAS thread beside
 * JavaScript) when one chunk's GEMM is below this many flops: two BLAS threads on such small
 * GEMMs wait on each other. Measured at batch 128 on 2 busy cores: 32->32 channels at 28x28
 * (chunks of 1 sample, 15 MFLOP) backward 232 ms pipelined vs 502 ms in sequence; at 14x14
 * (33 MFLOP) and 7x7 (63 MFLOP) both ways within 7 %; LeNet's second conv (26 MFLOP) keeps
 * its measured sequence.
 */
const SMALL_CHUNK_FLOPS = 20e6;

/**
 * The wide im2col layout (see `im2colWide`) is taken when it adds at most this share of
 * unused GEMM columns. LeNet's first conv (+16 %): im2col becomes 25 memcpys per sample and
 * the forward pass, bound by JavaScript while its small GEMM waits, gets faster; the second
 * (+44 %) is bound by its GEMMs and keeps the dense layout.
 */
const WIDE_MAX_EXTRA = 0.25;

/** The buffers of the input gradient as a transposed convolution (see `ConvStage`). */
interface TransposedGrad {
  /** A chunk of `dY`, zero-padded: `[Nc, O, Hp, Wp]`. */
  dyPad: Float32Array;
  /** Its im2col, `[O·KH·KW, Nc·Q]`. */
  cols: Float32Array;
  /** The kernels flipped and transposed, `[C, O·KH·KW]`. */
  w: Float32Array;
  /** Zero rows above `dY`: KH - 1 - padTop. */
  top: number;
  /** Zero columns left of `dY`: KW - 1 - padLeft. */
  left: number;
}

/** Conv2D [+ MaxPool2D] [+ activation] with every buffer allocated once for `maxBatch`. */
export class ConvStage {
  /** Values per sample of the stage's output. */
  readonly outSize: number;
  /** Samples per chunk. */
  readonly chunk: number;
  readonly #blas: Blas;
  /** The valid convolution run: on the padded input when there is padding. */
  readonly #s: SizedConv2DShape;
  /** The input planes `[H, W]` and their place `[padTop, padLeft]` in the padded planes, or null. */
  readonly #pad: { H: number; W: number; top: number; left: number } | null;
  /** A chunk of zero-padded input (forward) and of padded input gradient (backward). */
  readonly #xPad: Float32Array;
  readonly #dxPad: Float32Array;
  readonly #pool: FusedPool | null;
  readonly #act: Activation;
  readonly #outH: number;
  readonly #outW: number;
  /** The convolution's output plane (before pooling). */
  readonly #convH: number;
  readonly #convW: number;
  readonly #P: number;
  /** Columns per sample in `#cols` and `#y`: P, or more in the wide layout. */
  readonly #Q: number;
  /** Row stride of a sample's output plane in `#y`: OW, or W in the wide layout. */
  readonly #rowStride: number;
  readonly #wide: boolean;
  readonly #K: number;
  readonly #inSize: number;
  /** im2col of the whole batch, chunk after chunk, each `[K, Nc·P]`. */
  readonly #cols: Float32Array;
  /** Two chunks of the GEMM output in forward, of its gradient in backward. */
  readonly #y: [Float32Array, Float32Array];
  /** Two chunks of `dCols` (empty for the first stage). */
  readonly #dCols: [Float32Array, Float32Array];
  /**
   * For a "same" convolution with stride 1 (wide layout), the input gradient is the valid
   * convolution of the zero-padded output gradient with the kernels flipped and transposed:
   * the padded `dY` chunk, its im2col `[O·KH·KW, Nc·Q]` and the kernels `[C, O·KH·KW]`. Its
   * GEMM has the forward's shape (inner dimension O·KH·KW instead of O) and no col2im
   * follows: `#dCols` then hold `dX` in the wide layout `[C, Nc·Q]`. Null otherwise.
   */
  readonly #dxT: TransposedGrad | null;
  readonly #dPre: Float32Array;
  /** Per pooled output: the index of its maximum in its chunk's `#y`. */
  readonly #argmax: Int32Array;
  /** Per pooled output with `ties: "all"`: which window elements equal its maximum; else null. */
  readonly #ties: Uint32Array | null;
  /** The bias is added after the pooling (a fused Bias layer), not by the convolution. */
  readonly #biasAfterPool: boolean;
  readonly #dbSum: Float64Array;
  readonly #pipelined: boolean;
  readonly #pipelinedBackward: boolean;

  /**
   * Allocates every buffer for `s.batch` samples.
   *
   * @param blas The BLAS to call.
   * @param shape The convolution shape, `batch` = the largest batch, with its output plane
   *   `outH x outW` (the plan's `outShape`; the stage computes no output size).
   * @param pool A max pooling fused after the convolution, or null.
   * @param act An activation fused last, or null.
   * @param needInputGrad False for the first stage (no dx, no dCols buffers).
   * @param chunk Samples per chunk; default: as many as fit the im2col matrix in 1 MiB.
   * @param pipelined Run the forward GEMMs on another thread beside JavaScript; default: with
   *   more than one core.
   * @param pipelinedBackward The same for the backward GEMMs; default: when `pipelined` and
   *   there is no input gradient (else the GEMMs dominate and get every BLAS thread), or when
   *   a chunk's GEMMs are smaller than {@link SMALL_CHUNK_FLOPS}.
   * @param wide Use the wide im2col layout; default: when it adds at most
   *   {@link WIDE_MAX_EXTRA} unused columns.
   */
  constructor(
    blas: Blas,
    shape: SizedConv2DShape,
    pool: FusedPool | null,
    act: Activation,
    needInputGrad: boolean,
    chunk?: number,
    pipelined = navigator.hardwareConcurrency > 1,
    wide?: boolean,
    pipelinedBackward?: boolean,
  ) {
    this.#biasAfterPool = pool?.biasAfterPool ?? false;
    this.#pipelined = pipelined;
    this.#blas = blas;
    const { padTop: top = 0, padLeft: left = 0, padBottom = 0, padRight = 0 } = shape;
    const padded = top + left + padBottom + padRight > 0;
    // the valid convolution on the padded input: the same output plane
    const s: SizedConv2DShape = {
      ...shape,
      height: shape.height + top + padBottom,
      width: shape.width + left + padRight,
      padTop: 0,
      padLeft: 0,
      padBottom: 0,
      padRight: 0,
    };
    this.#s = s;
    this.#pad = padded ? { H: shape.height, W: shape.width, top, left } : null;
    this.#pool = pool;
    this.#act = act;
    const { outH: OH, outW: OW } = s;
    this.#convH = OH;
    this.#convW = OW;
    const K = s.inChannels * s.kernelH * s.kernelW, P = OH * OW;
    const stride1 = (s.strideH ?? 1) === 1 && (s.strideW ?? 1) === 1;
    this.#P = P;
    this.#K = K;
    this.#wide = stride1 && (wide ?? wideColumns(s) <= (1 + WIDE_MAX_EXTRA) * P);
    const Q = this.#Q = this.#wide ? wideColumns(s) : P;
    this.#rowStride = this.#wide ? s.width : OW;
    this.#inSize = shape.inChannels * shape.height * shape.width;
    this.chunk = Math.max(1, Math.min(s.batch, chunk ?? Math.floor(CHUNK_BYTES / (4 * K * Q))));
    const chunkFlops = 2 * s.outChannels * K * this.chunk * Q;
    this.#pipelinedBackward = pipelinedBackward ??
      (pipelined && (!needInputGrad || chunkFlops < SMALL_CHUNK_FLOPS));
    this.#outH = pool ? pool.outH : OH;
    this.#outW = pool ? pool.outW : OW;
    this.outSize = s.outChannels * this.#outH * this.#outW;
    const padSize = padded ? this.chunk * s.inChannels * s.height * s.width : 0;
    this.#xPad = new Float32Array(padSize);
    this.#dxPad = new Float32Array(needInputGrad ? padSize : 0);
    const KH = s.kernelH, KW = s.kernelW, O = s.outChannels, C = s.inChannels;
    const same = top + padBottom === KH - 1 && left + padRight === KW - 1;
    this.#dxT = needInputGrad && this.#wide && same
      ? {
        dyPad: new Float32Array(this.chunk * O * s.height * s.width),
        cols: new Float32Array(O * KH * KW * this.chunk * Q),
        w: new Float32Array(C * O * KH * KW),
        top: KH - 1 - top,
        left: KW - 1 - left,
      }
      : null;
    const chunkNP = this.chunk * Q;
    const dColsSize = needInputGrad ? (this.#dxT ? C : K) * chunkNP : 0;
    this.#cols = new Float32Array(K * s.batch * Q);
    this.#y = [
      new Float32Array(s.outChannels * chunkNP),
      new Float32Array(s.outChannels * chunkNP),
    ];
    this.#dCols = [new Float32Array(dColsSize), new Float32Array(dColsSize)];
    this.#dPre = new Float32Array(act ? s.batch * this.outSize : 0);
    this.#argmax = new Int32Array(pool ? s.batch * this.outSize : 0);
    this.#ties = pool?.ties === "all"
      ? new Uint32Array(s.batch * this.outSize * tieWords(pool.poolH, pool.poolW))
      : null;
    this.#dbSum = new Float64Array(s.outChannels);
  }

  /**
   * Forward pass on `n` samples.
   *
   * @param out Output `[n, outSize]` NCHW, overwritten.
   * @param x Input `[n, C, H, W]`.
   * @param w Weights `[O, C, KH, KW]`.
   * @param b Bias `[O]`.
   * @param n Samples in the batch.
   * @returns When done; no array may be touched before.
   */
  async forward(
    out: Float32Array,
    x: Float32Array,
    w: Float32Array,
    b: Float32Array,
    n: number,
  ): Promise<void> {
    const O = this.#s.outChannels, Q = this.#Q, K = this.#K;
    const unfold = this.#wide ? im2colWide : im2col;
    const pipelined = this.#pipelined, threads = this.#oneBlasThread(pipelined);
    try {
      let gemm: Promise<void> | null = null;
      for (let c = 0, n0 = 0; n0 < n; c++, n0 += this.chunk) {
        const nc = Math.min(this.chunk, n - n0), NP = nc * Q, y = this.#y[c & 1];
        const cols = this.#cols.subarray(K * n0 * Q, K * (n0 + nc) * Q);
        if (this.#pad) {
          this.#padChunk(x, n0, nc);
          unfold(cols, this.#xPad, { ...this.#s, batch: nc }, 0, 0);
        } else {
          unfold(cols, x, { ...this.#s, batch: nc }, 0, n0 * this.#inSize);
        }
        await gemm;
        gemm = this.#gemm(pipelined, false, false, O, NP, K, w, K, cols, NP, 0, y, NP);
        // meanwhile: the previous chunk's epilogue
        if (c > 0) this.#epilogue(out, this.#y[(c - 1) & 1], b, n0 - this.chunk, this.chunk);
      }
      await gemm;
      const last = Math.ceil(n / this.chunk) - 1, n0 = last * this.chunk;
      this.#epilogue(out, this.#y[last & 1], b, n0, n - n0);
    } finally {
      this.#restoreBlasThreads(threads);
    }
  }

  /**
   * Backward pass on the `n` samples of the last forward pass. Overwrites `dx`, `dw`, `db`.
   *
   * @param dx Gradient w.r.t. the input `[n, C, H, W]`, or null to skip it.
   * @param dw Gradient w.r.t. the weights `[O, C, KH, KW]`.
   * @param db Gradient w.r.t. the bias `[O]`.
   * @param dOut Gradient w.r.t. the stage output `[n, outSize]`.
   * @param out The stage output of the forward pass.
   * @param w Weights `[O, C, KH, KW]`.
   * @param n Samples in the batch.
   * @returns When done; no array may be touched before.
   */
  async backward(
    dx: Float32Array | null,
    dw: Float32Array,
    db: Float32Array,
    dOut: Float32Array,
    out: Float32Array,
    w: Float32Array,
    n: number,
  ): Promise<void> {
    if (dx !== null && this.#dCols[0].length === 0) {
      throw new Error("ConvStage: built without an input gradient");
    }
    const O = this.#s.outChannels, Q = this.#Q, K = this.#K;
    const dPre = this.#act ? this.#dPre : dOut, dys = this.#y, dCols = this.#dCols;
    const chunks = Math.ceil(n / this.chunk);
    const size = (c: number) => Math.min(this.chunk, n - c * this.chunk);
    activationBackward(this.#act, dPre, dOut, out, n * this.outSize);
    this.#dbSum.fill(0);
    this.#scatter(dys[0], dPre, 0, size(0));
    const pipelined = this.#pipelinedBackward, threads = this.#oneBlasThread(pipelined);
    const dxT = dx === null ? null : this.#dxT, C = this.#s.inChannels;
    const OKK = O * this.#s.kernelH * this.#s.kernelW;
    if (dxT) this.#flipKernels(dxT.w, w);
    try {
      for (let c = 0; c < chunks; c++) {
        const n0 = c * this.chunk, NP = size(c) * Q, dy = dys[c & 1], dc = dCols[c & 1];
        const cols = this.#cols.subarray(K * n0 * Q, K * n0 * Q + K * NP);
        if (dxT) this.#unfoldGrad(dxT, dy, size(c));
        let gemm = this.#gemm(pipelined, false, true, O, K, NP, dy, NP, cols, NP, c ? 1 : 0, dw, K);
        if (dxT) {
          gemm = gemm.then(() =>
            this.#gemm(pipelined, false, false, C, NP, OKK, dxT.w, OKK, dxT.cols, NP, 0, dc, NP)
          );
        } else if (dx !== null) {
          gemm = gemm.then(() =>
            this.#gemm(pipelined, true, false, K, NP, O, w, K, dy, NP, 0, dc, NP)
          );
        }
        // meanwhile: the next chunk's dY, the previous chunk's col2im
        if (c + 1 < chunks) this.#scatter(dys[(c + 1) & 1], dPre, n0 + this.chunk, size(c + 1));
        if (dx !== null && c > 0) this.#col2im(dx, dCols[(c - 1) & 1], c - 1, size(c - 1));
        await gemm;
      }
    } finally {
      this.#restoreBlasThreads(threads);
    }
    if (dx !== null) this.#col2im(dx, dCols[(chunks - 1) & 1], chunks - 1, size(chunks - 1));
    db.set(this.#dbSum);
  }

  /** Bias, pooling and activation of one chunk's GEMM output `y`, into `out` (NCHW). */
  #epilogue(out: Float32Array, y: Float32Array, b: Float32Array, n0: number, nc: number): void {
    const O = this.#s.outChannels, P = this.#P, Q = this.#Q, NP = nc * Q;
    const at = n0 * this.outSize, R = this.#rowStride;
    if (this.#pool) {
      const g: PoolGeometry = {
        batch: nc,
        channels: O,
        height: this.#convH,
        width: this.#convW,
        poolH: this.#pool.poolH,
        poolW: this.#pool.poolW,
        strideH: this.#pool.strideH,
        strideW: this.#pool.strideW,
        outH: this.#outH,
        outW: this.#outW,
        nStride: Q, // Y is [O, Nc·Q]: sample i of channel o at o·Nc·Q + i·Q
        cStride: NP,
        rowStride: R,
      };
      const end = at + nc * this.outSize;
      const ties = this.#ties, words = tieWords(g.poolH, g.poolW);
      maxPoolForward(
        out.subarray(at, end),
        this.#argmax.subarray(at, end),
        y,
        g,
        b,
        this.#act,
        ties && ties.subarray(at * words, end * words),
      );
    } else {
      const OH = this.#outH, OW = this.#outW;
      for (let i = 0; i < nc; i++) {
        for (let o = 0; o < O; o++) {
          const bo = b[o];
          for (let r = 0, src = o * NP + i * Q, dst = at + (i * O + o) * P; r < OH; r++) {
            for (let q = 0; q < OW; q++) out[dst++] = y[src + q] + bo;
            src += R;
          }
        }
      }
      activateInPlace(this.#act, out.subarray(at, at + nc * this.outSize), nc * this.outSize);
    }
  }

  /** One chunk's `dY[O, Nc·P]` from the pre-activation gradient; adds to the bias gradient. */
  #scatter(dy: Float32Array, dPre: Float32Array, n0: number, nc: number): void {
    const O = this.#s.outChannels, Q = this.#Q, NP = nc * Q, outSize = this.outSize;
    const outP = this.#outH * this.#outW, dbSum = this.#dbSum, argmax = this.#argmax;
    // += : overlapping windows may share a maximum
    // the positions no output comes from get zero (the GEMMs read the wide layout's too)
    if (this.#pool || this.#wide) dy.fill(0, 0, O * NP);
    if (this.#pool) {
      const ties = this.#ties, PW = this.#pool.poolW, R = this.#rowStride;
      for (let i = 0; i < nc; i++) {
        for (let o = 0; o < O; o++) {
          const base = (n0 + i) * outSize + o * outP;
          let sum = 0;
          if (ties === null) {
            for (let k = base; k < base + outP; k++) {
              const g = dPre[k];
              dy[argmax[k]] += g;
              sum += g;
            }
          } else {
            for (let k = base; k < base + outP; k++) {
              const g = dPre[k];
              const reached = scatterMax(dy, k, g, argmax, ties, PW, R);
              // a bias before the pooling gets g from every tied input, one after it once
              sum += this.#biasAfterPool ? g : g * reached;
            }
          }
          dbSum[o] += sum;
        }
      }
    } else {
      const OH = this.#outH, OW = this.#outW, R = this.#rowStride;
      for (let i = 0; i < nc; i++) {
        for (let o = 0; o < O; o++) {
          let src = (n0 + i) * outSize + o * outP, sum = 0;
          for (let r = 0, dst = o * NP + i * Q; r < OH; r++, dst += R) {
            for (let q = 0; q < OW; q++) {
              const g = dPre[src++];
              dy[dst + q] = g;
              sum += g;
            }
          }
          dbSum[o] += sum;
        }
      }
    }
  }

  #col2im(dx: Float32Array, dCols: Float32Array, c: number, nc: number): void {
    if (this.#dxT) {
      this.#cropWide(dx, dCols, c * this.chunk, nc);
      return;
    }
    const fold = this.#wide ? col2imWide : col2im;
    if (this.#pad) {
      fold(this.#dxPad, dCols, { ...this.#s, batch: nc }, 0);
      this.#cropChunk(dx, c * this.chunk, nc);
    } else {
      fold(dx, dCols, { ...this.#s, batch: nc }, c * this.chunk * this.#inSize);
    }
  }

  /** `wT[c, (o·KH + i)·KW + j] = w[o, c, KH-1-i, KW-1-j]`: the transposed convolution's kernels. */
  #flipKernels(wT: Float32Array, w: Float32Array): void {
    const { outChannels: O, inChannels: C, kernelH: KH, kernelW: KW } = this.#s, KK = KH * KW;
    for (let o = 0; o < O; o++) {
      for (let c = 0; c < C; c++) {
        const src = (o * C + c) * KK, dst = (c * O + o) * KK;
        for (let k = 0; k < KK; k++) wT[dst + k] = w[src + KK - 1 - k];
      }
    }
  }

  /** Pads one chunk's `dY` (`[O, Nc·Q]`, wide) and unfolds it for the transposed convolution. */
  #unfoldGrad(t: TransposedGrad, dy: Float32Array, nc: number): void {
    const O = this.#s.outChannels, Hp = this.#s.height, Wp = this.#s.width, Q = this.#Q;
    const OH = this.#convH, OW = this.#convW, R = this.#rowStride, NP = nc * Q;
    for (let i = 0; i < nc; i++) {
      for (let o = 0; o < O; o++) {
        let dst = (i * O + o) * Hp * Wp + t.top * Wp + t.left;
        for (let r = 0, src = o * NP + i * Q; r < OH; r++, src += R, dst += Wp) {
          for (let q = 0; q < OW; q++) t.dyPad[dst + q] = dy[src + q];
        }
      }
    }
    // its output plane is the input's, which a "same" convolution with stride 1 (the only one
    // taking this path) shares with its output: `#s`'s outH x outW
    im2colWide(t.cols, t.dyPad, {
      ...this.#s,
      batch: nc,
      inChannels: O,
      outChannels: this.#s.inChannels,
    });
  }

  /** Writes a chunk's `dX` from the wide layout `[C, Nc·Q]` to samples `n0 ..` of `dx` (NCHW). */
  #cropWide(dx: Float32Array, dX: Float32Array, n0: number, nc: number): void {
    const C = this.#s.inChannels, Q = this.#Q, NP = nc * Q, Wp = this.#s.width;
    const { H, W } = this.#pad ?? { H: this.#s.height, W: this.#s.width };
    for (let i = 0, dst = n0 * this.#inSize; i < nc; i++) {
      for (let c = 0; c < C; c++) {
        for (let y = 0, src = c * NP + i * Q; y < H; y++, src += Wp) {
          for (let q = 0; q < W; q++) dx[dst++] = dX[src + q];
        }
      }
    }
  }

  /** Copies samples `n0 .. n0 + nc - 1` of `x` into the interior of the zero-bordered `#xPad`. */
  #padChunk(x: Float32Array, n0: number, nc: number): void {
    const { H, W, top, left } = this.#pad!, Hp = this.#s.height, Wp = this.#s.width;
    const planes = nc * this.#s.inChannels, xp = this.#xPad;
    for (let p = 0, src = n0 * this.#inSize; p < planes; p++) {
      for (let y = 0, dst = p * Hp * Wp + top * Wp + left; y < H; y++, dst += Wp) {
        for (let q = 0; q < W; q++) xp[dst + q] = x[src++];
      }
    }
  }

  /** Writes the interior of the padded gradient `#dxPad` to samples `n0 ..` of `dx`. */
  #cropChunk(dx: Float32Array, n0: number, nc: number): void {
    const { H, W, top, left } = this.#pad!, Hp = this.#s.height, Wp = this.#s.width;
    const planes = nc * this.#s.inChannels, dp = this.#dxPad;
    for (let p = 0, dst = n0 * this.#inSize; p < planes; p++) {
      for (let y = 0, src = p * Hp * Wp + top * Wp + left; y < H; y++, src += Wp) {
        for (let q = 0; q < W; q++) dx[dst++] = dp[src + q];
      }
    }
  }

  /** `C = A·B + beta·C` on another thread when pipelined, else now. */
  #gemm(
    pipelined: boolean,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): Promise<void> {
    const args = [transA, transB, M, N, K, 1, A, lda, B, ldb, beta, C, ldc] as const;
    if (pipelined) return this.#blas.sgemmAsync(...args);
    this.#blas.sgemm(...args);
    return Promise.resolve();
  }

  /** While JavaScript works beside the GEMMs, OpenBLAS gets one thread (the other core). */
  #oneBlasThread(pipelined: boolean): number | null {
    if (!pipelined) return null;
    const t = this.#blas.threads();
    if (t !== null && t > 1) this.#blas.setThreads(1);
    return t;
  }

  #restoreBlasThreads(t: number | null): void {
    if (t !== null && t > 1) this.#blas.setThreads(t);
  }
}
