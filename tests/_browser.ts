/**
 * Headless Chromium for the browser tests (`tests/*_browser_test.ts`), driven by
 * puppeteer-core against the system's Chromium (`/usr/bin/chromium`, or `$CHROMIUM`; CI
 * installs Debian's `chromium`). WebGPU runs there on SwiftShader, Chrome's CPU adapter, so
 * the shaders are compiled by Tint, not by naga as in Deno.
 *
 * Use {@link browserTest} to register a test (ignored, with a printed reason, where no
 * Chromium exists) and {@link withBrowserPage} to get a fresh browser and page:
 * - `entry`: a module bundled for the browser (`deno bundle --platform browser`, with a
 *   source map) and served at `/entry.js`; `page.call(name, ...args)` runs its export `name`
 *   in the page and returns the JSON result (an exception in the page rejects with its message);
 * - `serve`: your own routes (e.g. a demo's static files) on the same `Deno.serve`
 *   (127.0.0.1, a free port); `/` is a blank page unless `serve` answers it;
 * - every console error and uncaught exception of the page is collected in `consoleErrors`,
 *   and fails the call unless `allowConsoleErrors` is set.
 *
 * Each call launches its own browser with a fresh profile and closes it after.
 *
 * @example A page test (as in tests/web_demo_browser_test.ts)
 * ```ts ignore
 * import { browserTest, withBrowserPage } from "./_browser.ts";
 *
 * browserTest("demo: the page loads", () =>
 *   withBrowserPage(async ({ page, origin }) => {
 *     await page.goto(`${origin}/index.html`);
 *     console.log(await page.title());
 *   }, { serve: (req) => serveDir(req, "examples/web") }));
 * ```
 *
 * @module
 */
import puppeteer, { type Page } from "puppeteer-core";

/** The Chromium binary: `$CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM: string = Deno.env.get("CHROMIUM") || "/usr/bin/chromium";

/** Command-line flags: WebGPU on SwiftShader, no network, no first-run UI, headless in CI. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

function findSkipReason(): string | null {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return null;
    return `${CHROMIUM} is not a file`;
  } catch {
    return `no Chromium at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM=/path)`;
  }
}

/** Why the browser tests cannot run here, or null where they can. */
export const skipReason: string | null = findSkipReason();
if (skipReason) console.log(`browser tests skipped: ${skipReason}`);

/**
 * Registers a browser test: ignored where {@link skipReason} is set (the reason is printed
 * once, when this module loads), otherwise run like any Deno test.
 *
 * @param name The test's name.
 * @param fn The test.
 */
export function browserTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: skipReason !== null, fn });
}

/** What {@link withBrowserPage} hands to its callback. */
export interface BrowserPage {
  /** The puppeteer page, already at `path` (default `/`). */
  page: Page;
  /** `http://127.0.0.1:<port>`, where the page and `serve` are served. */
  origin: string;
  /** Console errors and uncaught exceptions of the page so far. */
  consoleErrors: string[];
  /**
   * Runs export `name` of the bundled `entry` in the page with JSON arguments and returns
   * its (awaited) JSON result.
   */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
}

/** Options of {@link withBrowserPage}. */
export interface BrowserPageOptions {
  /** A module to bundle for the browser and serve at `/entry.js` (see `call`). */
  entry?: string | URL;
  /** Answers the requests it knows (return null for the others: `/` is then a blank page). */
  serve?: (request: Request) => Response | null | Promise<Response | null>;
  /** The page to open first (default `/`). */
  path?: string;
  /** Let the page log console errors (default false: any of them fails the test). */
  allowConsoleErrors?: boolean;
  /**
   * Longest a single `call` or page operation may take (default 600 s: SwiftShader is slow,
   * the more so on a loaded machine). Chromium gets a quarter of it to start.
   */
  timeoutMs?: number;
}

/**
 * Bundles a module for the browser with `deno bundle --platform browser` and a linked
 * source map. Deno-only modules must not be reachable from it.
 *
 * @param entry The module.
 * @param outFile Where to write the bundle (the map goes beside it, `.map` added).
 */
export async function bundleForBrowser(entry: string | URL, outFile: string): Promise<void> {
  const path = entry instanceof URL ? entry.pathname : entry;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--sourcemap=linked", "-o", outFile, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno bundle ${path} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

const BLANK = "<!doctype html><meta charset=utf-8><title>lenet-webgpu test</title><body></body>";

/**
 * Launches headless Chromium with a fresh profile, opens a page served from this process,
 * runs `fn`, then closes everything (and checks that the page logged no console error).
 *
 * @param fn The test body.
 * @param options What to serve and how strict to be.
 * @returns What `fn` returned.
 * @throws {Error} If the page logged a console error (unless allowed), or if `fn` throws.
 */
export async function withBrowserPage<T>(
  fn: (page: BrowserPage) => Promise<T>,
  options: BrowserPageOptions = {},
): Promise<T> {
  if (skipReason) throw new Error(`cannot run a browser: ${skipReason}`);
  const timeout = options.timeoutMs ?? 600_000;
  const tmp = await Deno.makeTempDir({ prefix: "lenet-browser-" });
  const files = new Map<string, { file: string; type: string }>();
  if (options.entry) {
    await bundleForBrowser(options.entry, `${tmp}/entry.js`);
    files.set("/entry.js", { file: `${tmp}/entry.js`, type: "text/javascript" });
    files.set("/entry.js.map", { file: `${tmp}/entry.js.map`, type: "application/json" });
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const own = await options.serve?.(req);
    if (own) return own;
    const path = new URL(req.url).pathname;
    const f = files.get(path);
    if (f) {
      return new Response(await Deno.readFile(f.file), { headers: { "content-type": f.type } });
    }
    if (path === "/") return new Response(BLANK, { headers: { "content-type": "text/html" } });
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    return new Response(`not found: ${path}`, { status: 404 });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  let browser: Awaited<ReturnType<typeof puppeteer.launch>> | null = null;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: `${tmp}/profile`,
      args: [...CHROMIUM_ARGS],
      protocolTimeout: timeout,
      timeout: timeout / 4, // to start (puppeteer's default, 30 s, was too short on a loaded machine)
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      const at = m.location();
      consoleErrors.push(`${m.text()}${at.url ? ` (${at.url}:${at.lineNumber})` : ""}`);
    });
    page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${(e as Error).message ?? e}`));
    await page.goto(`${origin}${options.path ?? "/"}`);
    const call = <R>(name: string, ...args: unknown[]): Promise<R> =>
      page.evaluate(
        `import(${JSON.stringify(`${origin}/entry.js`)})` +
          `.then((m) => m[${JSON.stringify(name)}](...${JSON.stringify(args)}))`,
      ) as Promise<R>;
    const result = await fn({ page, origin, consoleErrors, call });
    if (consoleErrors.length && !options.allowConsoleErrors) {
      throw new Error(`the page logged errors:\n  ${consoleErrors.join("\n  ")}`);
    }
    return result;
  } finally {
    await browser?.close();
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
}
