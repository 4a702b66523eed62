/**
 * The demo server (examples/web/serve.ts), one test per finding of a hostile tester: other
 * methods than GET and HEAD get 405; a busy port is one clear line and exit code 1; a 404
 * names only the URL path; the source map names sources relative to the repository; every
 * response carries `nosniff` and its content type; a foreign `Host` gets 403. The handler is
 * tested without a socket and, where the wire matters, over 127.0.0.1 on a free port with raw
 * HTTP/1.1 (each request bounded in time and size).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { bundleApp, makeHandler, startServer } from "../examples/web/serve.ts";
import { MNIST_FILES } from "../mod.ts";

const ROOT = new URL("../", import.meta.url);
const PORT = 8000; // the port the socket-less handler believes it serves
const REFUSED = ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"];

let bundled: ReturnType<typeof bundleApp> | undefined;
/** One bundle of the page for the socket-less tests. */
const bundle = () => bundled ??= bundleApp();

/** A temporary directory with the four MNIST file names, each a few distinct bytes. */
async function fakeData(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lenet-serve-test-" });
  for (const [i, name] of Object.values(MNIST_FILES).entries()) {
    await Deno.writeFile(`${dir}/${name}`, new Uint8Array([31, 139, i, i, i]));
  }
  return dir;
}

/** A handler for `data`, port {@link PORT}, as the server builds it. */
async function handlerFor(data: string) {
  return makeHandler({ data, bundle: await bundle(), port: PORT });
}

/** A request to the socket-less handler, with `Host: 127.0.0.1:PORT` unless given. */
function request(path: string, init: { method?: string; host?: string } = {}): Request {
  return new Request(`http://127.0.0.1:${PORT}${path}`, {
    method: init.method ?? "GET",
    headers: { host: init.host ?? `127.0.0.1:${PORT}` },
  });
}

/** A raw HTTP response. */
interface Raw {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/**
 * Sends one raw HTTP/1.1 request to 127.0.0.1:`port` (`Connection: close`) and reads the
 * answer: at most 10 s and 4 MB.
 */
async function raw(port: number, method: string, path: string, host: string): Promise<Raw> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 10_000);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    const buf = new Uint8Array(65536);
    while (total < 4 << 20) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  const all = new Uint8Array(total);
  chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  const text = new TextDecoder("latin1").decode(all);
  const end = text.indexOf("\r\n\r\n");
  assert(end > 0, `no complete response head: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: all.slice(end + 4) };
}

/** Starts the real server on a free port of 127.0.0.1, runs `fn`, stops it. */
async function withServer(data: string, fn: (port: number) => Promise<void>) {
  const server = await startServer({ port: 0, data });
  try {
    await fn(Number(new URL(server.url).port));
  } finally {
    await server.shutdown();
  }
}

Deno.test("web serve: only GET and HEAD; the others get 405 with Allow: GET, HEAD", async () => {
  const data = await fakeData();
  try {
    const handler = await handlerFor(data);
    for (const method of REFUSED.filter((m) => m !== "TRACE")) { // TRACE: no Request for it
      const res = await handler(request("/", { method }));
      assertEquals(res.status, 405, method);
      assertEquals(res.headers.get("allow"), "GET, HEAD", method);
      await res.body?.cancel();
    }
    for (const path of ["/", "/app.js", `/data/${MNIST_FILES.trainLabels}`]) {
      const get = await handler(request(path));
      const body = new Uint8Array(await get.arrayBuffer());
      const head = await handler(request(path, { method: "HEAD" }));
      assertEquals(head.status, 200, path);
      assertEquals(head.body, null, `HEAD ${path} has a body`);
      assertEquals([...head.headers], [...get.headers], `HEAD ${path}: headers unlike GET's`);
      assertEquals(head.headers.get("content-length"), String(body.length), path);
    }

    await withServer(data, async (port) => {
      const host = `127.0.0.1:${port}`;
      for (const method of REFUSED) {
        const res = await raw(port, method, "/", host);
        assertEquals(res.status, 405, `${method} over the wire`);
        assertEquals(res.headers.get("allow"), "GET, HEAD", method);
      }
      const get = await raw(port, "GET", "/", host);
      const head = await raw(port, "HEAD", "/", host);
      assertEquals([get.status, head.status], [200, 200]);
      assert(get.body.length > 0, "GET / is empty");
      assertEquals(head.body.length, 0, "HEAD / over the wire has a body");
      assertEquals(head.headers.get("content-length"), String(get.body.length));
      assertEquals(head.headers.get("content-type"), get.headers.get("content-type"));
    });
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("web serve: a busy port is one clear line on stderr and exit code 1", async () => {
  const data = await fakeData(); // all four files: no note about missing data on stderr
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = busy.addr.port;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "examples/web/serve.ts", "--port", String(port), "--data", data],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, `exit code; stderr: ${stderr}`);
    assertEquals(stderr, `port ${port} is in use; choose another with --port N\n`);
    assertEquals(new TextDecoder().decode(out.stdout), "");
  } finally {
    busy.close();
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("web serve: a 404 names the URL path only, never a path of the machine", async () => {
  const data = await Deno.makeTempDir({ prefix: "lenet-serve-test-empty-" });
  try {
    const handler = await handlerFor(data);
    for (const path of [`/data/${MNIST_FILES.trainImages}`, "/data/other.gz", "/nothing"]) {
      const res = await handler(request(path));
      const body = await res.text();
      assertEquals(res.status, 404, path);
      assertEquals(body, `${path}: not found\n`);
      assert(!body.includes(data), `the 404 of ${path} names ${data}`);
    }
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("web serve: the source map's sources are relative to the repository", async () => {
  const data = await fakeData();
  try {
    const handler = await handlerFor(data);
    const map = await (await handler(request("/app.js.map"))).json();
    const sources: string[] = map.sources;
    for (const s of sources) {
      assert(!/^(\/|\.\.|file:|[A-Za-z]:)/.test(s), `source "${s}" is not repository-relative`);
    }
    for (const s of ["examples/web/app.ts", "examples/web/preprocess.ts", "mod.ts"]) {
      assert(sources.includes(s), `the map lacks ${s}: ${sources.join(", ")}`);
    }
    assert(sources.some((s) => s.startsWith("src/")), "the map names no src/ file");

    // Nothing served names the checkout's or the data's absolute location.
    const root = (await Deno.realPath(ROOT)).replace(/\/$/, "");
    const paths = ["/", "/index.html", "/style.css", "/app.js", "/app.js.map"]
      .concat(["/lenet-mnist.safetensors", `/data/${MNIST_FILES.testImages}`, "/missing"]);
    for (const path of paths) {
      const text = new TextDecoder("latin1").decode(await (await handler(request(path))).bytes());
      for (const secret of [root, ROOT.pathname.replace(/\/$/, ""), data]) {
        assert(!text.includes(secret), `${path} contains ${secret}`);
      }
    }
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("web serve: every response has nosniff, a CSP and its content type", async () => {
  const data = await fakeData();
  try {
    const handler = await handlerFor(data);
    const cases: [Request, number, string][] = [
      [request("/"), 200, "text/html; charset=utf-8"],
      [request("/index.html"), 200, "text/html; charset=utf-8"],
      [request("/style.css"), 200, "text/css; charset=utf-8"],
      [request("/app.js"), 200, "text/javascript; charset=utf-8"],
      [request("/app.js.map"), 200, "application/json"],
      [request("/lenet-mnist.safetensors"), 200, "application/octet-stream"],
      [request(`/data/${MNIST_FILES.testLabels}`), 200, "application/gzip"],
      [request("/", { method: "HEAD" }), 200, "text/html; charset=utf-8"],
      [request("/<script>alert(1)</script>"), 404, "text/plain; charset=utf-8"],
      [request("/", { method: "POST" }), 405, "text/plain; charset=utf-8"],
      [request("/", { host: "evil.example" }), 403, "text/plain; charset=utf-8"],
    ];
    for (const [req, status, type] of cases) {
      const what = `${req.method} ${new URL(req.url).pathname} (Host ${req.headers.get("host")})`;
      const res = await handler(req);
      await res.body?.cancel();
      assertEquals(res.status, status, what);
      assertEquals(res.headers.get("x-content-type-options"), "nosniff", what);
      assertEquals(res.headers.get("content-type"), type, what);
      const csp = res.headers.get("content-security-policy") ?? "";
      assert(csp.startsWith("default-src 'self'"), `${what}: CSP "${csp}"`);
    }
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("web serve: a Host other than 127.0.0.1, localhost, [::1] at its port gets 403", async () => {
  const data = await fakeData();
  try {
    const handler = await handlerFor(data);
    const foreign = ["evil.example", `evil.example:${PORT}`, `127.0.0.1:${PORT + 1}`, "127.0.0.1"]
      .concat([`127.0.0.2:${PORT}`, `localhost.evil.example:${PORT}`, `[::2]:${PORT}`, ""]);
    for (const host of foreign) {
      const res = await handler(request("/", { host }));
      const body = await res.text();
      assertEquals(res.status, 403, `Host "${host}"`);
      assert(body.includes(`127.0.0.1:${PORT}`), `the 403 says "${body}"`);
    }
    for (const host of [`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LocalHost:${PORT}`]) {
      const res = await handler(request("/", { host }));
      await res.body?.cancel();
      assertEquals(res.status, 200, `Host "${host}"`);
    }

    await withServer(data, async (port) => {
      for (const host of ["evil.example", `evil.example:${port}`, `127.0.0.1:${port + 1}`]) {
        const res = await raw(port, "GET", "/", host);
        assertEquals(res.status, 403, `Host "${host}" over the wire`);
        assertEquals(res.headers.get("x-content-type-options"), "nosniff");
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
        assertEquals((await raw(port, "GET", "/", host)).status, 200, `Host "${host}"`);
      }
    });
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});
