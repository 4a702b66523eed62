// loadMnist with an injected fake fetch: these tests never touch the network.
import assert from "node:assert/strict";
import { encodeIdx } from "../src/data/idx.ts";
import { MNIST_FILES, MNIST_SHA256, sha256Hex } from "../src/data/mnist.ts";
import { defaultCacheDir, loadMnist, MNIST_MIRRORS } from "../src/data/mnist_deno.ts";

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Tiny gzipped files (12 train, 4 test images of 2x2) and their hashes. */
async function makeServerFiles() {
  const px = (n: number) => new Uint8Array(n * 4).map((_, i) => i % 256);
  const lab = (n: number) => new Uint8Array(n).map((_, i) => i % 10);
  const files: Record<string, Uint8Array> = {
    [MNIST_FILES.trainImages]: await gzip(encodeIdx([12, 2, 2], px(12))),
    [MNIST_FILES.trainLabels]: await gzip(encodeIdx([12], lab(12))),
    [MNIST_FILES.testImages]: await gzip(encodeIdx([4, 2, 2], px(4))),
    [MNIST_FILES.testLabels]: await gzip(encodeIdx([4], lab(4))),
  };
  const sha256: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) sha256[k] = await sha256Hex(v);
  return { files, sha256 };
}

type Handler = (url: string) => Response | Promise<Response>;

/** A fake fetch recording the URLs asked for. */
function fakeFetch(handler: Handler): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const f = (input: string | URL | Request): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    return Promise.resolve(handler(url));
  };
  return { fetch: f as typeof fetch, calls };
}

function serve(files: Record<string, Uint8Array>, base: string): Handler {
  return (url) => {
    const name = url.startsWith(base) ? url.slice(base.length) : "";
    const body = files[name];
    return body
      ? new Response(body as Uint8Array<ArrayBuffer>, { status: 200 })
      : new Response("not found", { status: 404, statusText: "Not Found" });
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

const M1 = "https://mirror-one.invalid/mnist/";
const M2 = "https://mirror-two.invalid/mnist/";

Deno.test("download: good files are cached, verified and reused without fetching", async () => {
  const { files, sha256 } = await makeServerFiles();
  const cacheDir = await Deno.makeTempDir();
  try {
    const ff = fakeFetch(serve(files, M1));
    const logs: string[] = [];
    const s = await loadMnist({
      cacheDir,
      mirrors: [M1],
      fetch: ff.fetch,
      sha256,
      log: (m) => logs.push(m),
    });
    assert.deepEqual([s.train.count, s.valid.count, s.test.count], [10, 2, 4]);
    assert.equal(ff.calls.length, 4);
    assert.deepEqual(ff.calls.sort(), Object.keys(files).map((n) => M1 + n).sort());
    assert.deepEqual(await listDir(cacheDir), Object.keys(files).sort());
    for (const [n, b] of Object.entries(files)) {
      assert.deepEqual(await Deno.readFile(`${cacheDir}/${n}`), b);
    }
    assert.ok(logs.some((l) => l.includes("SHA-256 ok")));

    // Second load: served from the cache, fetch is never called.
    const never = fakeFetch(() => {
      throw new Error("must not fetch");
    });
    const logs2: string[] = [];
    const s2 = await loadMnist({
      cacheDir,
      mirrors: [M1],
      fetch: never.fetch,
      sha256,
      log: (m) => logs2.push(m),
    });
    assert.equal(never.calls.length, 0);
    assert.deepEqual(s2, s);
    assert.equal(logs2.filter((l) => l.includes("using cached")).length, 4);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("download: a bad cached file is downloaded again", async () => {
  const { files, sha256 } = await makeServerFiles();
  const cacheDir = await Deno.makeTempDir();
  try {
    const ff = fakeFetch(serve(files, M1));
    await loadMnist({ cacheDir, mirrors: [M1], fetch: ff.fetch, sha256 });
    const victim = `${cacheDir}/${MNIST_FILES.testLabels}`;
    await Deno.writeFile(victim, new Uint8Array([1, 2, 3]));
    const ff2 = fakeFetch(serve(files, M1));
    await loadMnist({ cacheDir, mirrors: [M1], fetch: ff2.fetch, sha256 });
    assert.deepEqual(ff2.calls, [M1 + MNIST_FILES.testLabels]);
    assert.deepEqual(await Deno.readFile(victim), files[MNIST_FILES.testLabels]);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("download: hash mismatch is an error and leaves no file behind", async () => {
  const { files, sha256 } = await makeServerFiles();
  const cacheDir = await Deno.makeTempDir();
  try {
    const tampered = { ...files };
    const t = files[MNIST_FILES.trainLabels].slice();
    t[20] ^= 1;
    tampered[MNIST_FILES.trainLabels] = t;
    const ff = fakeFetch(serve(tampered, M1));
    await assert.rejects(
      loadMnist({ cacheDir, mirrors: [M1], fetch: ff.fetch, sha256 }),
      (e: Error) => {
        assert.match(e.message, /could not download train-labels-idx1-ubyte\.gz from any mirror/);
        assert.match(e.message, /SHA-256 mismatch: got [0-9a-f]{64}, expected [0-9a-f]{64}/);
        return true;
      },
    );
    const left = await listDir(cacheDir);
    assert.ok(!left.includes(MNIST_FILES.trainLabels), `left: ${left}`);
    assert.ok(!left.some((n) => n.includes(".tmp-")), `temp files left: ${left}`);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("download: an incomplete body is an error and leaves no file behind", async () => {
  const { files, sha256 } = await makeServerFiles();
  const cacheDir = await Deno.makeTempDir();
  try {
    const ff = fakeFetch((url) => {
      const name = url.slice(M1.length);
      const body = files[name];
      // The connection dies halfway through the body.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body.slice(0, body.length >> 1));
          c.error(new Error("connection reset"));
        },
      });
      return new Response(stream, { status: 200 });
    });
    await assert.rejects(
      loadMnist({ cacheDir, mirrors: [M1], fetch: ff.fetch, sha256 }),
      /connection reset/,
    );
    assert.deepEqual(await listDir(cacheDir), []);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("download: a failing first mirror falls back to the second", async () => {
  const { files, sha256 } = await makeServerFiles();
  const cacheDir = await Deno.makeTempDir();
  try {
    let n = 0;
    const two = serve(files, M2);
    const ff = fakeFetch((url) => {
      if (url.startsWith(M1)) {
        // 404 for one file, a network error for the others
        if (n++ === 0) return new Response("gone", { status: 404, statusText: "Not Found" });
        throw new TypeError("error sending request: dns error");
      }
      return two(url);
    });
    const logs: string[] = [];
    const s = await loadMnist({
      cacheDir,
      mirrors: [M1, M2],
      fetch: ff.fetch,
      sha256,
      log: (m) => logs.push(m),
    });
    assert.equal(s.test.count, 4);
    assert.equal(ff.calls.filter((u) => u.startsWith(M1)).length, 4);
    assert.equal(ff.calls.filter((u) => u.startsWith(M2)).length, 4);
    assert.ok(logs.some((l) => l.includes("HTTP 404")));
    assert.ok(logs.some((l) => l.includes("dns error")));
    assert.deepEqual(await listDir(cacheDir), Object.keys(files).sort());
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("download: all mirrors failing lists every failure", async () => {
  const { sha256 } = await makeServerFiles();
  const cacheDir = await Deno.makeTempDir();
  try {
    const ff = fakeFetch(() => new Response("", { status: 503, statusText: "Unavailable" }));
    await assert.rejects(
      loadMnist({ cacheDir, mirrors: [M1, M2], fetch: ff.fetch, sha256 }),
      /from any mirror:\n {2}https:\/\/mirror-one.*HTTP 503 Unavailable\n {2}https:\/\/mirror-two.*HTTP 503/,
    );
    assert.deepEqual(await listDir(cacheDir), []);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("dataDir: reads gzipped and un-gzipped names, lists missing files", async () => {
  const { files } = await makeServerFiles();
  const dir = await Deno.makeTempDir();
  try {
    const never = fakeFetch(() => {
      throw new Error("must not fetch");
    });
    // two gzipped, two raw
    await Deno.writeFile(`${dir}/${MNIST_FILES.trainImages}`, files[MNIST_FILES.trainImages]);
    await Deno.writeFile(`${dir}/${MNIST_FILES.testImages}`, files[MNIST_FILES.testImages]);
    await assert.rejects(
      loadMnist({ dataDir: dir, fetch: never.fetch }),
      new RegExp(
        `missing MNIST files in ${dir}: train-labels-idx1-ubyte\\.gz \\(or train-labels-idx1-ubyte\\), ` +
          `t10k-labels-idx1-ubyte\\.gz \\(or t10k-labels-idx1-ubyte\\)$`,
      ),
    );
    for (const k of ["trainLabels", "testLabels"] as const) {
      const raw = new Uint8Array(
        await new Response(
          new Blob([files[MNIST_FILES[k]] as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
            new DecompressionStream("gzip"),
          ),
        ).arrayBuffer(),
      );
      await Deno.writeFile(`${dir}/${MNIST_FILES[k].replace(".gz", "")}`, raw);
    }
    const s = await loadMnist({ dataDir: dir, fetch: never.fetch });
    assert.deepEqual([s.train.count, s.valid.count, s.test.count], [10, 2, 4]);
    assert.equal(never.calls.length, 0);

    // A bad raw file is reported with its actual name.
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, encodeIdx([3], new Uint8Array(3)));
    await assert.rejects(
      loadMnist({ dataDir: dir, fetch: never.fetch }),
      new RegExp(
        `${dir}/t10k-images-idx3-ubyte\\.gz has 4 images but ${dir}/t10k-labels-idx1-ubyte has 3`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defaults: mirrors, hashes, cache dir", () => {
  assert.deepEqual(MNIST_MIRRORS.mnist, [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
  ]);
  assert.equal(Object.keys(MNIST_SHA256).length, 4);
  for (const name of Object.values(MNIST_FILES)) assert.match(MNIST_SHA256[name], /^[0-9a-f]{64}$/);
  // (Reads the environment without changing it: test files may share the process.)
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  const expected = xdg
    ? `${xdg.replace(/\/$/, "")}/lenet-webgpu/fashion-mnist`
    : `${home?.replace(/\/$/, "")}/.cache/lenet-webgpu/fashion-mnist`;
  if (xdg || home) assert.equal(defaultCacheDir("fashion-mnist"), expected);
});
