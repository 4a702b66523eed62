/**
 * Serves the demo page on localhost: bundles `app.ts` for the browser on start (in memory,
 * with a source map), serves the page's files, the shipped checkpoint and the four MNIST files
 * of a directory under `/data/`.
 *
 *   deno task web [--port 8000] [--data DIR]
 *
 * Without `--data` the MNIST files come from the LeNet example's download cache
 * (`deno run -A examples/lenet.ts` fills it once).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MNIST_FILES } from "../../mod.ts";
import { defaultCacheDir } from "../../src/data/mnist_deno.ts";

const HERE = new URL("./", import.meta.url);
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
};

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Directory holding the four MNIST `.gz` files. */
  data: string;
}

/** A running server. */
export interface DemoServer {
  /** The page's address. */
  url: string;
  /** Stops the server. */
  shutdown(): Promise<void>;
}

/**
 * Bundles `app.ts` for the browser with `deno bundle`.
 *
 * @returns The bundle and its source map, by file name.
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
        new URL("app.ts", HERE).pathname,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno bundle examples/web/app.ts failed:\n${new TextDecoder().decode(out.stderr)}`,
      );
    }
    const files = new Map<string, Uint8Array<ArrayBuffer>>();
    for (const name of ["app.js", "app.js.map"]) {
      files.set(`/${name}`, await Deno.readFile(`${dir}/${name}`));
    }
    return files;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Bundles the app and returns the server's request handler.
 *
 * @param data Directory holding the four MNIST `.gz` files, served under `/data/`.
 * @returns The handler: the page, its bundle, the checkpoint, the data; 404 otherwise.
 */
export async function demoHandler(data: string): Promise<(req: Request) => Promise<Response>> {
  const bundle = await bundleApp();
  const dataNames = new Set(Object.values(MNIST_FILES));
  const type = (name: string) => TYPES[name.split(".").pop()!] ?? "application/octet-stream";
  const headers = (name: string) => ({ "content-type": type(name), "cache-control": "no-cache" });
  return async (req) => {
    const path = new URL(req.url).pathname;
    try {
      const built = bundle.get(path);
      if (built) return new Response(built, { headers: headers(path) });
      if (STATIC[path]) {
        return new Response(await Deno.readFile(new URL(STATIC[path], HERE)), {
          headers: headers(STATIC[path]),
        });
      }
      const name = path.startsWith("/data/") ? path.slice(6) : "";
      if (dataNames.has(name)) {
        const file = await Deno.open(`${data}/${name}`);
        return new Response(file.readable, { headers: headers(name) });
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return new Response(`${path}: not found (${e.message})`, { status: 404 });
      }
      throw e;
    }
    return new Response(`${path}: not found`, { status: 404 });
  };
}

/**
 * Bundles the app and starts serving it on 127.0.0.1.
 *
 * @param options Port and MNIST directory.
 * @returns The server, once listening.
 */
export async function startServer(options: ServeOptions): Promise<DemoServer> {
  const handler = await demoHandler(options.data);
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, handler);
  const addr = await listening;
  return { url: `http://127.0.0.1:${addr.port}/`, shutdown: () => server.shutdown() };
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      data: { type: "string", default: defaultCacheDir("mnist") },
      help: { type: "boolean", short: "h" },
    },
  }).values;
  if (args.help) {
    console.log(
      "deno task web [--port 8000] [--data DIR]   serve the LeNet demo page on 127.0.0.1",
    );
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
  const server = await startServer({ port, data: args.data });
  console.log(`LeNet demo: ${server.url}  (MNIST from ${args.data}; Ctrl-C stops)`);
}
