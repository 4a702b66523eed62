/**
 * Parity of softmax_forward, softmax_nll_backward and nll_loss with `cpu/softmax.ts` and
 * `cpu/nll.ts`. Tolerances: probabilities and gradients rtol 1e-5 / atol 1e-7, mean loss
 * rtol 1e-5; the error count is exact (ties: the first maximum wins).
 */
import { softmaxForward } from "../cpu/softmax.ts";
import { errorCount, nllLoss, softmaxNllBackward } from "../cpu/nll.ts";
import { specs } from "../src/backends/webgpu/kernels.ts";
import { RandomState } from "../src/random.ts";
import { assertAllClose } from "./_assert.ts";
import { hasAdapter, randomArray, runKernel } from "./_webgpu.ts";

async function check(count: number, classes: number, allocated = count, scale = 5, ties = false) {
  const rng = new RandomState(count + classes);
  let z = randomArray(rng, allocated * classes, -scale, scale);
  if (ties) z = z.map((v) => Math.round(v));
  const labels = Uint32Array.from(
    { length: allocated },
    () => Math.floor(rng.uniform(0, classes, 1)[0]),
  );
  const n = count * classes;
  const zs = z.subarray(0, n), ls = labels.subarray(0, count);
  const p = new Float64Array(n), dz = new Float64Array(n);
  softmaxForward(p, zs, count, classes);
  softmaxNllBackward(dz, zs, ls, count, classes);
  const loss = nllLoss(zs, ls, count, classes), errors = errorCount(zs, ls, count, classes);

  const tag = `N${count}/${allocated} classes ${classes}`;
  const [, gp] = await runKernel(specs.softmaxForward(classes), count, [z, allocated * classes]);
  assertAllClose(gp.subarray(0, n), p, { rtol: 1e-5, atol: 1e-7, msg: `softmax_forward ${tag}` });
  const [, , gdz] = await runKernel(specs.softmaxNllBackward(classes), count, [
    z,
    labels,
    allocated * classes,
  ]);
  assertAllClose(gdz.subarray(0, n), dz, {
    rtol: 1e-5,
    atol: 1e-7,
    msg: `softmax_nll_backward ${tag}`,
  });
  const [, , result] = await runKernel(specs.nllLoss(classes), count, [z, labels, 2]);
  assertAllClose([result[0]], [loss], { rtol: 1e-5, atol: 0, msg: `nll_loss mean ${tag}` });
  assertAllClose([result[1]], [errors], { rtol: 0, atol: 0, msg: `nll_loss errors ${tag}` });
}

Deno.test({
  name: "softmax/nll webgpu: random shapes match cpu/softmax.ts and cpu/nll.ts",
  ignore: !hasAdapter,
  async fn() {
    await check(3, 10);
    await check(1, 1);
    await check(70, 7, 70, 50); // large logits: the max shift keeps exp finite
    await check(130, 4, 130, 2, true); // integer logits: exact ties in the argmax
    await check(5, 10, 12); // count < batchSize
  },
});

Deno.test({
  name: "softmax/nll webgpu: the tutorial's output layer at batch 500",
  ignore: !hasAdapter,
  fn: () => check(500, 10),
});
