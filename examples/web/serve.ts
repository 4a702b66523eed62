/**
 * Serves the demo page on localhost: bundles `app.ts` for the browser on start (in memory,
 * with a source map whose sources are relative to the repository), serves the page's files,
 * the shipped checkpoint and the four MNIST files of a directory under `/data/`.
 *
 *   deno task web [--port 8000] [--data DIR]
 *
 * Without `--data` the MNIST files come from the LeNet example's download cache
 * (`deno run -A examples/lenet.ts` fills it once).
 *
 * What it refuses: methods other than GET and HEAD (405, `Allow: GET, HEAD`); a `Host` other
 * than `127.0.0.1`, `localhost` or `[::1]` at its port (403: a DNS-rebinding page cannot read
 * it). Every response carries `X-Content-Type-Options: nosniff` and a same-origin
 * Content-Security-Policy; no response names a path of the machine.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { MNIST_FILES } from "../../mod.ts";
import { defaultCacheDir } from "../../src/data/mnist_deno.ts";

const HERE = new URL("./", import.meta.url);
const ROOT = new URL("../../", HERE);
const STATIC: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/style.css": "style.css",
  "/lenet-mnist.safetensors": "lenet-mnist.safetensors",
};
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  map: "application/json",
  safetensors: "application/octet-stream",
  gz: "application/gzip",
  txt: "text/plain; charset=utf-8",
};
/** The methods served; the others get 405 with this as `Allow`. */
const ALLOW = "GET, HEAD";
/** The host names a request's `Host` may name (with the server's port). */
const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];
/** Headers of every response. */
const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "cross-origin-resource-policy": "same-origin",
};

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Directory holding the four MNIST `.gz` files. */
  data: string;
}

/** Options of {@link makeHandler}. */
export interface HandlerOptions {
  /** Directory holding the four MNIST `.gz` files, served under `/data/`. */
  data: string;
  /** The bundled page, by URL path (see {@link bundleApp}). */
  bundle: Map<string, Uint8Array<ArrayBuffer>>;
  /**
   * The port the server listens on: only a `Host` of 127.0.0.1, localhost or [::1] at this
   * port is served. Left out, those host names at any port are.
   */
  port?: number;
}

/** A running server. */
export interface DemoServer {
  /** The page's address. */
  url: string;
  /** Stops the server. */
  shutdown(): Promise<void>;
}

/**
 * Where a bundled source lives, relative to the repository root (`examples/web/app.ts`); a
 * file outside the repository is named `external/<its file name>`, a URL stays as it is.
 *
 * @param source A `sources` entry of a source map.
 * @param mapDir The directory the source map was written in.
 * @param root The repository root.
 * @returns The source's name, free of the machine's paths.
 */
export function repoRelative(source: string, mapDir: string, root: string): string {
  const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(source);
  if (isUrl && !source.startsWith("file:")) return source;
  const file = isUrl ? fileURLToPath(source) : resolve(mapDir, source);
  const rel = relative(root, file);
  if (rel.startsWith("..") || isAbsolute(rel)) return `external/${basename(file)}`;
  return rel.split(sep).join("/");
}

/**
 * Bundles `app.ts` for the browser with `deno bundle`; the source map's `sources` are made
 * relative to the repository root (see {@link repoRelative}).
 *
 * @returns The bundle and its source map, by URL path (`/app.js`, `/app.js.map`).
 */
export async function bundleApp(): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const dir = await Deno.makeTempDir({ prefix: "lenet-web-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--sourcemap",
        "linked",
        "-o",
        `${dir}/app.js`,
        fileURLToPath(new URL("app.ts", HERE)),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno bundle examples/web/app.ts failed:\n${new TextDecoder().decode(out.stderr)}`,
      );
    }
    const map = JSON.parse(await Deno.readTextFile(`${dir}/app.js.map`));
    const [mapDir, root] = await Promise.all([Deno.realPath(dir), Deno.realPath(ROOT)]);
    map.sources = map.sources.map((s: string) => repoRelative(s, mapDir, root));
    return new Map([
      ["/app.js", await Deno.readFile(`${dir}/app.js`)],
      ["/app.js.map", new TextEncoder().encode(JSON.stringify(map))],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A response with the security headers, a content type and a length. */
function reply(
  status: number,
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>> | string,
  type: string,
  size?: number,
  extra: Record<string, string> = {},
): Response {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const length = bytes instanceof Uint8Array ? bytes.length : size;
  const headers: Record<string, string> = { ...SECURITY_HEADERS, "content-type": type, ...extra };
  if (length !== undefined) headers["content-length"] = String(length);
  return new Response(bytes, { status, headers });
}

/** A short plain-text answer, e.g. an error. */
const text = (status: number, message: string, extra?: Record<string, string>) =>
  reply(status, `${message}\n`, TYPES.txt, undefined, extra);

/** The same response without its body (its stream cancelled), for HEAD. */
async function withoutBody(res: Response): Promise<Response> {
  await res.body?.cancel();
  return new Response(null, { status: res.status, headers: res.headers });
}

/**
 * The server's request handler, with no socket: `GET` and `HEAD` of the page, its bundle,
 * the checkpoint and the data; 404 for other paths (naming the URL path only), 405 for other
 * methods, 403 for a foreign `Host`.
 *
 * @param options The data directory, the bundle and the port.
 * @returns The handler.
 */
export function makeHandler(options: HandlerOptions): (req: Request) => Promise<Response> {
  const dataNames = new Set(Object.values(MNIST_FILES));
  const typeOf = (name: string) => TYPES[name.split(".").pop()!] ?? "application/octet-stream";
  const hostOk = (host: string | null) => {
    const at = host?.toLowerCase().match(/^(\[::1\]|[^:]+)(?::(\d+))?$/);
    if (!at || !LOOPBACK.includes(at[1])) return false;
    if (options.port === undefined) return true;
    return Number(at[2] ?? 80) === options.port;
  };

  /** The file for a path, as a response, or null when the path names none. */
  const lookUp = async (path: string): Promise<Response | null> => {
    const ok = { "cache-control": "no-cache" };
    const built = options.bundle.get(path);
    if (built) return reply(200, built, typeOf(path), undefined, ok);
    if (STATIC[path]) {
      const bytes = await Deno.readFile(new URL(STATIC[path], HERE));
      return reply(200, bytes, typeOf(STATIC[path]), undefined, ok);
    }
    const name = path.startsWith("/data/") ? path.slice("/data/".length) : "";
    if (!dataNames.has(name)) return null;
    const file = await Deno.open(`${options.data}/${name}`);
    try {
      const { size } = await file.stat();
      return reply(200, file.readable, typeOf(name), size, ok);
    } catch (e) {
      file.close();
      throw e;
    }
  };

  const respond = async (req: Request): Promise<Response> => {
    if (!hostOk(req.headers.get("host"))) {
      const at = options.port ?? "PORT";
      return text(403, `forbidden: Host must be ${LOOPBACK.map((h) => `${h}:${at}`).join(", ")}`);
    }
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, `${req.method} ${path}: method not allowed (${ALLOW} only)`, {
        allow: ALLOW,
      });
    }
    try {
      return await lookUp(path) ?? text(404, `${path}: not found`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return text(404, `${path}: not found`);
      console.error(`${path}: ${e instanceof Error ? e.message : e}`);
      return text(500, `${path}: cannot be read (see the server's log)`);
    }
  };
  return async (req) => {
    const res = await respond(req);
    return req.method === "HEAD" ? await withoutBody(res) : res;
  };
}

/**
 * Bundles the app and returns the server's request handler.
 *
 * @param data Directory holding the four MNIST `.gz` files, served under `/data/`.
 * @param port The server's port, to check `Host` against (see {@link HandlerOptions}).
 * @returns The handler (see {@link makeHandler}).
 */
export async function demoHandler(
  data: string,
  port?: number,
): Promise<(req: Request) => Promise<Response>> {
  return makeHandler({ data, bundle: await bundleApp(), port });
}

/**
 * Bundles the app and starts serving it on 127.0.0.1.
 *
 * @param options Port and MNIST directory.
 * @returns The server, once listening.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 */
export async function startServer(options: ServeOptions): Promise<DemoServer> {
  const bundle = await bundleApp();
  // The handler checks `Host` against the port, known once listening (before any request).
  type Handler = (req: Request) => Promise<Response>;
  const { promise: handler, resolve } = Promise.withResolvers<Handler>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port,
    onListen: ({ port }) => resolve(makeHandler({ data: options.data, bundle, port })),
  }, async (req) => (await handler)(req));
  const { port } = server.addr;
  return { url: `http://127.0.0.1:${port}/`, shutdown: () => server.shutdown() };
}

const USAGE = "deno task web [--port 8000] [--data DIR]   serve the LeNet demo page on 127.0.0.1";

if (import.meta.main) {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", default: "8000" },
        data: { type: "string", default: defaultCacheDir("mnist") },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: ${USAGE}`);
    Deno.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer in 0..65535, got "${args.port}"`);
    Deno.exit(2);
  }
  const missing = [];
  for (const f of Object.values(MNIST_FILES)) {
    try {
      await Deno.stat(`${args.data}/${f}`);
    } catch {
      missing.push(f);
    }
  }
  if (missing.length) {
    console.warn(
      `note: ${args.data} lacks ${missing.join(", ")}: training in the page will not work. ` +
        "Pass --data DIR, or run `deno run -A examples/lenet.ts` once to download MNIST.",
    );
  }
  let server;
  try {
    server = await startServer({ port, data: args.data });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      console.error(`port ${port} is in use; choose another with --port N`);
    } else {
      console.error(`cannot start the demo server: ${(e as Error).message}`);
    }
    Deno.exit(1);
  }
  console.log(`LeNet demo: ${server.url}  (MNIST from ${args.data}; Ctrl-C stops)`);
}
