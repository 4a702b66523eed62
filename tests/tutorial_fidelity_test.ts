/**
 * Issue 11: the default LeNet run starts from exactly the tutorial's network and data.
 *
 * The library, built as `examples/lenet.ts` builds it by default (`lenet5({ convention:
 * "tutorial" })`: conv without bias, max pool with Theano's tie rule, then the bias; weights from
 * `initialParams(plan, 23455, { theanoKernels: true })`, pixels `k / 256`), and run by the float64
 * reference executor, is compared with an independent float64 implementation of the tutorial's
 * Theano network written here: `LeNetConvPoolLayer` x 2 (Theano's `conv2d`, a true convolution,
 * then `max_pool_2d(ignore_border=True)`, then `tanh(pooled + b)`), `HiddenLayer` (tanh),
 * `LogisticRegression` (softmax, mean NLL), with a hand-written backward. Its weights are drawn
 * straight from `RandomState(23455)` in the tutorial's order (layer0 W, layer1 W, layer2 W; every
 * bias and the logistic regression's W are zeros and draw nothing) and used unflipped, as Theano
 * does. The draws are rounded to float32, as `numpy.asarray(..., dtype=theano.config.floatX)`
 * does with floatX=float32 (the tutorial's GPU runs; the library keeps float32 parameters).
 *
 * Tolerance (stated once): every element within 1e-12 of the reference, relative to the larger
 * of |reference element| and the tensor's largest |reference| (so elements near zero are judged
 * against the tensor's scale). Two float64 codes that sum in other orders differ by ~1e-16.
 *
 * Compared: the first iteration's loss and gradients (Theano's exact rules), the second
 * iteration's after the tutorial's update `param - 0.1 * grad`, and the pixels. Theano's max-pool
 * gradient reaches every tied maximum of a window (`MaxPool2D({ ties: "all" })`); the usual
 * `lenet5()` gives it to the first maximum, and a test pins what that changes.
 *
 * Needs the real MNIST in `../shared/data/mnist` (beside the repository); ignored without it.
 */
import assert from "node:assert/strict";
import { CpuExecutor } from "../src/backends/cpu.ts";
import { lenet5, planNetwork } from "../src/layers.ts";
import { initialParams } from "../src/model.ts";
import { RandomState } from "../src/random.ts";
import { type MnistSplits, toFloat } from "../src/data/mnist.ts";
import { loadMnist } from "../src/data/mnist_deno.ts";
import { pixelScale } from "../examples/lenet.ts";
import { assertAllClose } from "./_assert.ts";

const MNIST_DIR = new URL("../../shared/data/mnist/", import.meta.url);
const haveMnist = (() => {
  try {
    return Deno.statSync(new URL("train-images-idx3-ubyte.gz", MNIST_DIR)).isFile;
  } catch {
    return false;
  }
})();
const NO_MNIST = haveMnist ? "" : ` (ignored: no MNIST in ${MNIST_DIR.pathname})`;

let splits: Promise<MnistSplits> | undefined;
/** The example's loading path (`loadMnist({ dataDir })`), read once per file. */
function mnist(): Promise<MnistSplits> {
  return splits ??= loadMnist({ dataDir: MNIST_DIR.pathname });
}

const RTOL = 1e-12;
const BATCH = 3; // the first three training images (labels 5, 0, 4)
const LR = 0.1; // the tutorial's learning rate

// ---------------------------------------------------------------------------------------------
// The tutorial's Theano network, float64, written independently of the library.
// Shapes: x [N,1,28,28] -conv W0 [20,1,5,5]-> [N,20,24,24] -pool-> [N,20,12,12] -tanh(+b0)->
// -conv W1 [50,20,5,5]-> [N,50,8,8] -pool-> [N,50,4,4] -tanh(+b1)-> flatten [N,800]
// -tanh(. W2 [800,500] + b2)-> [N,500] -softmax(. W3 [500,10] + b3)-> [N,10], mean NLL.
// ---------------------------------------------------------------------------------------------

/** The tutorial's parameters, named as in convolutional_mlp.py (layer0.W is `W0`, ...). */
interface TutorialParams {
  W0: Float64Array;
  b0: Float64Array;
  W1: Float64Array;
  b1: Float64Array;
  W2: Float64Array;
  b2: Float64Array;
  W3: Float64Array;
  b3: Float64Array;
}

/** `numpy.asarray(draws, dtype=theano.config.floatX)` with floatX=float32, kept as doubles. */
const floatX = (a: Float64Array) => a.map(Math.fround);

/** evaluate_lenet5's initialisation, in its order, from `numpy.random.RandomState(seed)`. */
function drawTutorialParams(seed: number): TutorialParams {
  const rng = new RandomState(seed);
  // layer0 = LeNetConvPoolLayer(filter_shape=(20, 1, 5, 5), poolsize=(2, 2)):
  // fan_in = 1*5*5 = 25, fan_out = 20*5*5 / 4 = 125.
  const bound0 = Math.sqrt(6 / (25 + 125));
  const W0 = floatX(rng.uniform(-bound0, bound0, 20 * 1 * 5 * 5));
  // layer1 = LeNetConvPoolLayer(filter_shape=(50, 20, 5, 5), poolsize=(2, 2)):
  // fan_in = 20*5*5 = 500, fan_out = 50*5*5 / 4 = 312 (Python 2 integer division of 1250 by 4).
  const bound1 = Math.sqrt(6 / (500 + 312));
  const W1 = floatX(rng.uniform(-bound1, bound1, 50 * 20 * 5 * 5));
  // layer2 = HiddenLayer(n_in=800, n_out=500, activation=T.tanh): W of shape (n_in, n_out).
  const bound2 = Math.sqrt(6 / (800 + 500));
  const W2 = floatX(rng.uniform(-bound2, bound2, 800 * 500));
  // layer3 = LogisticRegression(n_in=500, n_out=10): W and b zeros; every bias is zeros.
  return {
    W0,
    b0: new Float64Array(20),
    W1,
    b1: new Float64Array(50),
    W2,
    b2: new Float64Array(500),
    W3: new Float64Array(500 * 10),
    b3: new Float64Array(10),
  };
}

interface ConvDims {
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  KH: number;
  KW: number;
}

/**
 * Theano's `conv2d` (valid mode): a true convolution,
 * `out[n][k][i][j] = sum_c sum_a sum_b x[n][c][i+a][j+b] * w[k][c][KH-1-a][KW-1-b]`.
 */
function theanoConv2d(x: Float64Array, w: Float64Array, d: ConvDims): Float64Array {
  const { N, C, H, W, K, KH, KW } = d;
  const OH = H - KH + 1, OW = W - KW + 1;
  const out = new Float64Array(N * K * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            for (let a = 0; a < KH; a++) {
              for (let b = 0; b < KW; b++) {
                s += x[((n * C + c) * H + i + a) * W + j + b] *
                  w[((k * C + c) * KH + KH - 1 - a) * KW + KW - 1 - b];
              }
            }
          }
          out[((n * K + k) * OH + i) * OW + j] = s;
        }
      }
    }
  }
  return out;
}

/** The derivative of {@link theanoConv2d}: each product's two factors swap roles. */
function theanoConv2dGrad(
  dOut: Float64Array,
  x: Float64Array,
  w: Float64Array,
  d: ConvDims,
): { dx: Float64Array; dw: Float64Array } {
  const { N, C, H, W, K, KH, KW } = d;
  const OH = H - KH + 1, OW = W - KW + 1;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          const g = dOut[((n * K + k) * OH + i) * OW + j];
          for (let c = 0; c < C; c++) {
            for (let a = 0; a < KH; a++) {
              for (let b = 0; b < KW; b++) {
                const xi = ((n * C + c) * H + i + a) * W + j + b;
                const wi = ((k * C + c) * KH + KH - 1 - a) * KW + KW - 1 - b;
                dx[xi] += g * w[wi];
                dw[wi] += g * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw };
}

/** `max_pool_2d(x, (2, 2), ignore_border=True)` on `[planes, H, W]`. */
function maxPool2x2(x: Float64Array, planes: number, H: number, W: number): Float64Array {
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
  const out = new Float64Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const at = (r: number, c: number) => x[(p * H + 2 * i + r) * W + 2 * j + c];
        out[(p * OH + i) * OW + j] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
      }
    }
  }
  return out;
}

/**
 * Who receives a pooling window's gradient when several inputs equal its maximum: `"theano"`,
 * every one of them, as Theano's `MaxPoolGrad` does (`if (a == maximum) gx += gz`, C code of
 * theano/tensor/signal/pool.py); `"first"`, only the first in row-major order (the library's rule).
 */
type TieRule = "theano" | "first";

/** The gradient of {@link maxPool2x2}, with ties shared as `ties` says. */
function maxPool2x2Grad(
  dOut: Float64Array,
  x: Float64Array,
  out: Float64Array,
  planes: number,
  H: number,
  W: number,
  ties: TieRule,
): Float64Array {
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
  const dx = new Float64Array(x.length);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const o = (p * OH + i) * OW + j;
        let reached = 0;
        for (let r = 0; r < 2; r++) {
          for (let c = 0; c < 2; c++) {
            const xi = (p * H + 2 * i + r) * W + 2 * j + c;
            if (x[xi] === out[o] && (ties === "theano" || reached === 0)) {
              dx[xi] += dOut[o];
              reached++;
            }
          }
        }
      }
    }
  }
  return dx;
}

/** `tanh(pooled + b.dimshuffle('x', 0, 'x', 'x'))` on `[N, K, S]` (S = pooled height * width). */
function tanhPlusBias(pooled: Float64Array, b: Float64Array, N: number, K: number, S: number) {
  const out = new Float64Array(pooled.length);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      for (let s = 0; s < S; s++) {
        const i = (n * K + k) * S + s;
        out[i] = Math.tanh(pooled[i] + b[k]);
      }
    }
  }
  return out;
}

/** `x . W + b` for x `[N, I]`, W `[I, J]`. */
function affine(x: Float64Array, w: Float64Array, b: Float64Array, N: number, I: number) {
  const J = b.length;
  const out = new Float64Array(N * J);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < J; j++) {
      let s = b[j];
      for (let i = 0; i < I; i++) s += x[n * I + i] * w[i * J + j];
      out[n * J + j] = s;
    }
  }
  return out;
}

/** The derivatives of {@link affine}: dx = dy W^T, dW = x^T dy, db = column sums of dy. */
function affineGrad(dy: Float64Array, x: Float64Array, w: Float64Array, N: number, I: number) {
  const J = w.length / I;
  const dx = new Float64Array(N * I), dw = new Float64Array(I * J), db = new Float64Array(J);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < J; j++) {
      const g = dy[n * J + j];
      db[j] += g;
      for (let i = 0; i < I; i++) {
        dx[n * I + i] += g * w[i * J + j];
        dw[i * J + j] += g * x[n * I + i];
      }
    }
  }
  return { dx, dw, db };
}

/** d/d(pre) of `y = tanh(pre)`, given dy and y. */
const tanhGrad = (dy: Float64Array, y: Float64Array) => dy.map((g, i) => g * (1 - y[i] * y[i]));

/** Per-channel sums of `[N, K, S]` (the gradient of a bias broadcast over n and space). */
function channelSums(d: Float64Array, N: number, K: number, S: number): Float64Array {
  const out = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      for (let s = 0; s < S; s++) out[k] += d[(n * K + k) * S + s];
    }
  }
  return out;
}

/** Pooling windows of `[planes, H, W]` (2x2) whose maximum is reached more than once, not at 0. */
function tiedWindows(x: Float64Array, out: Float64Array, planes: number, H: number, W: number) {
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
  let tied = 0;
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const m = out[(p * OH + i) * OW + j];
        let hits = 0;
        for (let r = 0; r < 2; r++) {
          for (let c = 0; c < 2; c++) hits += x[(p * H + 2 * i + r) * W + 2 * j + c] === m ? 1 : 0;
        }
        if (hits > 1 && m !== 0) tied++;
      }
    }
  }
  return tied;
}

/**
 * The tutorial's cost (mean NLL of the softmax) on a batch and `T.grad(cost, params)`, and the
 * number of max-pooling windows with a tied non-zero maximum (layer0, layer1).
 */
function tutorialLossAndGrads(
  p: TutorialParams,
  x: Float64Array,
  y: ArrayLike<number>,
  ties: TieRule = "theano",
): { loss: number; grads: TutorialParams; tied: [number, number] } {
  const N = y.length;
  // forward
  const d0: ConvDims = { N, C: 1, H: 28, W: 28, K: 20, KH: 5, KW: 5 };
  const conv0 = theanoConv2d(x, p.W0, d0); // [N,20,24,24]
  const pool0 = maxPool2x2(conv0, N * 20, 24, 24); // [N,20,12,12]
  const h0 = tanhPlusBias(pool0, p.b0, N, 20, 144);
  const d1: ConvDims = { N, C: 20, H: 12, W: 12, K: 50, KH: 5, KW: 5 };
  const conv1 = theanoConv2d(h0, p.W1, d1); // [N,50,8,8]
  const pool1 = maxPool2x2(conv1, N * 50, 8, 8); // [N,50,4,4]
  const h1 = tanhPlusBias(pool1, p.b1, N, 50, 16); // flatten(2): [N,800]
  const h2 = affine(h1, p.W2, p.b2, N, 800).map(Math.tanh); // [N,500]
  const z = affine(h2, p.W3, p.b3, N, 500); // [N,10]
  // softmax, NLL and its derivative dz = (softmax - onehot) / N
  let loss = 0;
  const dz = new Float64Array(N * 10);
  for (let n = 0; n < N; n++) {
    const row = z.subarray(n * 10, n * 10 + 10);
    const m = Math.max(...row);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - m);
    loss -= row[y[n]] - m - Math.log(sum);
    for (let k = 0; k < 10; k++) {
      dz[n * 10 + k] = (Math.exp(row[k] - m) / sum - (k === y[n] ? 1 : 0)) / N;
    }
  }
  loss /= N;
  // backward
  const g3 = affineGrad(dz, h2, p.W3, N, 500);
  const g2 = affineGrad(tanhGrad(g3.dx, h2), h1, p.W2, N, 800);
  const dPool1 = tanhGrad(g2.dx, h1);
  const dConv1 = maxPool2x2Grad(dPool1, conv1, pool1, N * 50, 8, 8, ties);
  const g1 = theanoConv2dGrad(dConv1, h0, p.W1, d1);
  const dPool0 = tanhGrad(g1.dx, h0);
  const dConv0 = maxPool2x2Grad(dPool0, conv0, pool0, N * 20, 24, 24, ties);
  const g0 = theanoConv2dGrad(dConv0, x, p.W0, d0);
  return {
    loss,
    tied: [tiedWindows(conv0, pool0, N * 20, 24, 24), tiedWindows(conv1, pool1, N * 50, 8, 8)],
    grads: {
      W0: g0.dw,
      b0: channelSums(dPool0, N, 20, 144),
      W1: g1.dw,
      b1: channelSums(dPool1, N, 50, 16),
      W2: g2.dw,
      b2: g2.db,
      W3: g3.dw,
      b3: g3.db,
    },
  };
}

/** Rotates every `kh x kw` kernel of `[K, C, kh, kw]` by 180° (written here, not the library's). */
function rot180(w: Float64Array, kh: number, kw: number): Float64Array {
  const out = new Float64Array(w.length);
  const size = kh * kw;
  for (let base = 0; base < w.length; base += size) {
    for (let i = 0; i < size; i++) out[base + i] = w[base + size - 1 - i];
  }
  return out;
}

/** The tutorial's tensors as the library names and orients them (conv kernels rotated). */
function asLibrary(p: TutorialParams): Map<string, Float64Array> {
  return new Map([
    ["conv0.weight", rot180(p.W0, 5, 5)],
    ["bias0.bias", p.b0],
    ["conv1.weight", rot180(p.W1, 5, 5)],
    ["bias1.bias", p.b1],
    ["dense0.weight", p.W2],
    ["dense0.bias", p.b2],
    ["dense1.weight", p.W3],
    ["dense1.bias", p.b3],
  ]);
}

// ---------------------------------------------------------------------------------------------

/** Asserts every element within RTOL of the reference (see the header for the rule). */
function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, msg: string) {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  assertAllClose(actual, expected, { rtol: RTOL, atol: RTOL * scale, msg });
}

/** The library's float64 reference executor with the example's default (tutorial) start. */
function tutorialExecutor(
  theanoKernels: boolean,
  convention: "tutorial" | "usual" = "tutorial",
): CpuExecutor {
  const plan = planNetwork([1, 28, 28], lenet5({ convention }), BATCH);
  const exec = new CpuExecutor(plan, "float64");
  exec.setParams(initialParams(plan, 23455, { theanoKernels }));
  return exec;
}

async function firstImages() {
  const { train } = await mnist();
  const bytes = train.images.subarray(0, BATCH * 784);
  const labels = Int32Array.from(train.labels.subarray(0, BATCH));
  return { bytes, labels };
}

Deno.test("tutorial fidelity: initialParams with theanoKernels are the tutorial's RandomState(23455) draws, conv kernels rotated by 180°", () => {
  const plan = planNetwork([1, 28, 28], lenet5({ convention: "tutorial" }), BATCH);
  assert.deepEqual(
    plan.params.map((p) => `${p.name} [${p.shape}]`),
    [
      "conv0.weight [20,1,5,5]",
      "bias0.bias [20]",
      "conv1.weight [50,20,5,5]",
      "bias1.bias [50]",
      "dense0.weight [800,500]",
      "dense0.bias [500]",
      "dense1.weight [500,10]",
      "dense1.bias [10]",
    ],
  );
  const got = initialParams(plan, 23455, { theanoKernels: true });
  for (const [name, want] of asLibrary(drawTutorialParams(23455))) {
    // Exactly equal: the same doubles rounded once to float32, in the same places.
    assert.deepEqual(Array.from(got.get(name)!), Array.from(want), name);
  }
});

/** Loss and gradients copied out of the executor (its own are views of reused buffers). */
function snapshot(r: { loss: number; grads: Map<string, ArrayLike<number>> }) {
  const grads = new Map<string, Float64Array>();
  for (const [name, g] of r.grads) grads.set(name, Float64Array.from(g));
  return { loss: r.loss, grads };
}

/**
 * The tutorial's first two iterations on one batch (3 images): the library's float64 executor
 * with the tutorial options, and the reference's parameters after the same update.
 */
async function twoIterations(convention: "tutorial" | "usual" = "tutorial") {
  const { bytes, labels } = await firstImages();
  const scale = pixelScale("tutorial");
  const x = Float64Array.from(bytes, (k) => k / 256); // the pickle's pixels, exactly
  const ref = drawTutorialParams(23455);
  const exec = tutorialExecutor(true, convention);
  const want1 = tutorialLossAndGrads(ref, x, labels);
  const got1 = snapshot(exec.lossAndGradients(toFloat(bytes, undefined, scale), labels));
  // The tutorial's train_model: `param - learning_rate * grad` for every parameter. The
  // library's step is fed from a dataset of bytes scaled as the example scales them.
  const ds = exec.createDataset(bytes, labels, BATCH, scale);
  await exec.trainStep({ dataset: ds, start: 0, count: BATCH }, {
    optimizer: { kind: "sgd", learningRate: LR, momentum: 0 },
    step: 1,
    seed: 0,
    readLoss: true,
  });
  const next = { ...ref };
  for (const k of Object.keys(ref) as (keyof TutorialParams)[]) {
    next[k] = ref[k].map((w, i) => w - LR * want1.grads[k][i]);
  }
  const got2 = snapshot(exec.lossAndGradients(toFloat(bytes, undefined, scale), labels));
  return { x, labels, want1, got1, next, got2 };
}
let iterations: ReturnType<typeof twoIterations> | undefined;
let usualIterations: ReturnType<typeof twoIterations> | undefined;

/** The usual network's gradients under the tutorial's parameter names. */
function renamed(grads: Map<string, Float64Array>): Map<string, Float64Array> {
  const names: Record<string, string> = { "conv0.bias": "bias0.bias", "conv1.bias": "bias1.bias" };
  return new Map([...grads].map(([n, g]) => [names[n] ?? n, g]));
}

Deno.test({
  name: "tutorial fidelity: 3 MNIST images, the start's loss and every gradient equal the " +
    "tutorial's Theano network's to 1e-12" + NO_MNIST,
  ignore: !haveMnist,
  fn: async () => {
    const { want1, got1 } = await (iterations ??= twoIterations());
    // The last layer starts at zero: the loss is ln(10) and only the logistic regression's
    // gradients are non-zero, but they depend on the whole forward pass.
    assert.ok(Math.abs(want1.loss - Math.log(10)) < 1e-15, `loss ${want1.loss}`);
    assert.ok(Math.abs(got1.loss - want1.loss) <= RTOL * want1.loss, `loss ${got1.loss}`);
    for (const [name, g] of asLibrary(want1.grads)) assertSame(got1.grads.get(name)!, g, name);
    assert.ok(want1.grads.W3.some((v) => v !== 0));
  },
});

Deno.test({
  name: "tutorial fidelity: after one SGD step every gradient equals the tutorial network's to " +
    "1e-12, Theano's max-pool tie rule included" + NO_MNIST,
  ignore: !haveMnist,
  fn: async () => {
    // Theano's MaxPoolGrad adds a window's gradient to every input equal to the maximum, and
    // its bias comes after the pooling (counted once per window): the library's tutorial
    // convention is that network. Windows tied at a non-zero value (identical patches along
    // saturated strokes) exist in these 3 images (11 in layer0 when measured).
    const { x, labels, next, got2 } = await (iterations ??= twoIterations());
    const want2 = tutorialLossAndGrads(next, x, labels, "theano");
    assert.ok(want2.tied[0] > 0, `tied non-zero layer0 windows: ${want2.tied}`);
    assert.ok(
      Math.abs(got2.loss - want2.loss) <= RTOL * want2.loss,
      `loss ${got2.loss} vs ${want2.loss}`,
    );
    for (const [name, g] of asLibrary(want2.grads)) {
      assert.ok(g.some((v) => v !== 0), `${name}: the reference gradient is all zero`);
      assertSame(got2.grads.get(name)!, g, `iteration 2, ${name}`);
    }
  },
});

Deno.test({
  name: "tutorial fidelity: the usual lenet5() (first maximum, bias in the conv) equals the " +
    "first-maximum network to 1e-12; after one SGD step only conv0.weight differs from " +
    "Theano's" + NO_MNIST,
  ignore: !haveMnist,
  fn: async () => {
    const { x, labels, next, got2 } = await (usualIterations ??= twoIterations("usual"));
    const grads = renamed(got2.grads);
    const first = tutorialLossAndGrads(next, x, labels, "first");
    assert.ok(Math.abs(got2.loss - first.loss) <= RTOL * first.loss);
    for (const [name, g] of asLibrary(first.grads)) {
      assertSame(grads.get(name)!, g, `usual, iteration 2, ${name}`);
    }
    const theano = tutorialLossAndGrads(next, x, labels, "theano");
    for (const [name, g] of asLibrary(theano.grads)) {
      if (name !== "conv0.weight") {
        assertSame(grads.get(name)!, g, `usual vs Theano, iteration 2, ${name}`);
        continue;
      }
      const mine = grads.get(name)!;
      let diff = 0, scale = 0;
      for (let i = 0; i < g.length; i++) {
        diff = Math.max(diff, Math.abs(mine[i] - g[i]));
        scale = Math.max(scale, Math.abs(g[i]));
      }
      assert.ok(
        diff > 1e-3 * scale,
        `${name}: max |difference| ${diff}, largest |gradient| ${scale}, tied ${theano.tied}`,
      );
    }
  },
});

Deno.test({
  name: "tutorial fidelity: the usual convention (unflipped draws) is another network" + NO_MNIST,
  ignore: !haveMnist,
  fn: async () => {
    const { bytes, labels } = await firstImages();
    const x = toFloat(bytes, undefined, pixelScale("tutorial"));
    const want = tutorialLossAndGrads(
      drawTutorialParams(23455),
      Float64Array.from(bytes, (k) => k / 256),
      labels,
    );
    const usual = tutorialExecutor(false).lossAndGradients(x, labels);
    // The loss is ln(10) whatever the kernels (the last layer starts at zero) ...
    assert.ok(Math.abs(usual.loss - want.loss) < 1e-15);
    // ... but the gradient of the last layer sees other hidden activations.
    const g = usual.grads.get("dense1.weight")!, w = want.grads.W3;
    let diff = 0, scale = 0;
    for (let i = 0; i < w.length; i++) {
      diff = Math.max(diff, Math.abs(g[i] - w[i]));
      scale = Math.max(scale, Math.abs(w[i]));
    }
    assert.ok(diff > 1e-3 * scale, `max |difference| ${diff} vs largest |gradient| ${scale}`);
  },
});

Deno.test({
  name: "tutorial fidelity: MNIST pixels through the example's path are k/256, the largest " +
    "255/256" + NO_MNIST,
  ignore: !haveMnist,
  fn: async () => {
    const scale = pixelScale("tutorial");
    assert.equal(scale, 1 / 256);
    assert.equal(pixelScale("usual"), 1 / 255);
    // The training file as the example reads it: loadMnist({ dataDir }) -> parseMnist (the
    // library's gunzip and IDX parser), the first 50,000 images being the training split.
    const { train } = await mnist();
    assert.deepEqual([train.count, train.height, train.width], [50000, 28, 28]);
    // Row 5 of the first image (a 5), columns 12..23, as mnist.pkl.gz prints them.
    const first = toFloat(train.images.subarray(0, 784), undefined, scale);
    assert.deepEqual(Array.from(first.subarray(5 * 28 + 12, 5 * 28 + 24)), [
      0.01171875, // 3/256
      0.0703125, // 18/256
      0.0703125,
      0.0703125,
      0.4921875, // 126/256
      0.53125, // 136/256
      0.68359375, // 175/256
      0.1015625, // 26/256
      0.6484375, // 166/256
      0.99609375, // 255/256
      0.96484375, // 247/256
      0.49609375, // 127/256
    ]);
    first.forEach((v, i) => assert.equal(v, train.images[i] / 256, `pixel ${i}`));
    // The largest pixel of the training split is 255, i.e. 255/256 = 0.99609375, never 1.
    let at = 0;
    for (let i = 0; i < train.images.length; i++) if (train.images[i] > train.images[at]) at = i;
    const start = at - (at % 784);
    const brightest = toFloat(train.images.subarray(start, start + 784), undefined, scale);
    assert.equal(Math.max(...brightest), 0.99609375);
    // And the same through a dataset of bytes with that scale, as the example's run feeds it:
    // a float64 executor's training step on it matches one fed the floats directly.
    const { bytes, labels } = await firstImages();
    const a = tutorialExecutor(true), b = tutorialExecutor(true);
    const ds = a.createDataset(bytes, labels, BATCH, scale);
    const opts = {
      optimizer: { kind: "sgd", learningRate: LR, momentum: 0 },
      step: 1,
      seed: 0,
      readLoss: true,
    } as const;
    await a.trainStep({ dataset: ds, start: 0, count: BATCH }, opts);
    await b.trainStep({ x: Float32Array.from(bytes, (k) => k / 256), labels, count: BATCH }, opts);
    const [pa, pb] = [await a.getParams(), await b.getParams()];
    for (const [n, v] of pa) assert.deepEqual(v, pb.get(n), n);
  },
});
