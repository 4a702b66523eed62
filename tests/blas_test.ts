/**
 * blas, in one file: the native backend's CBLAS binding (`src/backends/native/blas.ts`; the
 * cpu and webgpu backends have no BLAS): sgemm with every transpose against a naive product,
 * the fallback from a bad explicit path, and the error that says what to add.
 *
 * Those that need a library are skipped, with a printed reason, where no CBLAS can be loaded (or without --allow-ffi).
 */
import assert from "node:assert/strict";
import { RandomState } from "../src/random.ts";
import { BlasNotFoundError, describeBlas, loadBlas } from "../src/backends/native/blas.ts";
import { Dense, Sequential, Softmax } from "../mod.ts";
import { assertAllClose } from "./_assert.ts";
import { blas, FWD, ignore, rand } from "./_native.ts";

Deno.test({
  name: "native blas: sgemm with every transpose against a naive product",
  ignore,
  fn() {
    const rng = new RandomState(1);
    for (const [M, N, K] of [[3, 5, 7], [20, 576, 25], [1, 1, 1]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const A = rand(rng, M * K), B = rand(rng, K * N), C = rand(rng, M * N);
          const expected = new Float32Array(M * N);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let k = 0; k < K; k++) {
                s += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
              }
              expected[i * N + j] = 2 * s + 0.5 * C[i * N + j];
            }
          }
          blas!.sgemm(ta, tb, M, N, K, 2, A, ta ? M : K, B, tb ? K : N, 0.5, C, N);
          assertAllClose(C, expected, { ...FWD, msg: `sgemm ${M}x${N}x${K} ${ta} ${tb}` });
        }
      }
    }
  },
});

Deno.test({
  name: "native blas: a bad explicit path falls through to the usual names",
  ignore,
  fn() {
    const b = loadBlas({ path: "/nonexistent/libnothing.so" });
    assert.notEqual(b.path, "/nonexistent/libnothing.so");
  },
});

Deno.test("native blas: the error lists what was tried and says --allow-ffi", async () => {
  const url = new URL("../src/backends/native/blas.ts", import.meta.url).href;
  const code = `import { loadBlas, BlasNotFoundError } from "${url}";
try { loadBlas({ path: "/nonexistent/lib.so" }); console.log("loaded"); }
catch (e) { console.log(e instanceof BlasNotFoundError, e.message); }`;
  // no --allow-ffi: importing works, loading explains what to add
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(file);
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /^true no CBLAS library could be loaded/);
  assert.match(text, /\/nonexistent\/lib\.so: no --allow-ffi permission/);
  assert.match(text, /--allow-ffi/);
  assert.ok(new BlasNotFoundError([{ path: "x", reason: "y" }]).message.includes("apt-get"));
});

Deno.test({
  name: "native blas: backendReason names the BLAS kernels, and says when OpenBLAS runs its " +
    "generic ones",
  ignore,
  fn() {
    const fake = (core: string | null) => ({ ...blas!, path: "libx.so", coreName: () => core });
    assert.equal(describeBlas(fake("Haswell")), 'OpenBLAS kernels "Haswell"');
    assert.match(describeBlas(fake("Prescott")), /generic kernels.*OPENBLAS_CORETYPE=Haswell/);
    assert.equal(describeBlas(fake(null)), "CBLAS libx.so");
    const core = blas!.coreName();
    if (core !== null) assert.match(describeBlas(blas!), new RegExp(`"${core}"`));
  },
});

Deno.test({
  name: "native blas: a model on the native backend says which BLAS kernels run it",
  ignore,
  async fn() {
    const model = await Sequential.create({
      inputShape: [1, 8, 8],
      layers: [new Dense({ units: 3 }), new Softmax()],
      batchSize: 2,
      backend: "native",
    });
    try {
      assert.match(model.backendReason, /^native: requested \((OpenBLAS kernels "|CBLAS )/);
    } finally {
      model.dispose();
    }
  },
});
