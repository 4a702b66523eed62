/**
 * Mesa's Vulkan and GL loaders print "error: XDG_RUNTIME_DIR is invalid or not set in the
 * environment." on every adapter request when the variable is unset (containers, CI, ssh
 * sessions without a login manager). The examples set a private runtime directory first, so
 * a new user sees no such noise.
 *
 * @module
 */

/**
 * Points `XDG_RUNTIME_DIR` at a new private (0700) temporary directory when it is unset or not
 * a directory; does nothing otherwise, off Linux, or without the env/write permissions.
 * Call before requesting a WebGPU adapter.
 *
 * @returns The directory now in use, or undefined when nothing was changed.
 */
export function usePrivateRuntimeDir(): string | undefined {
  try {
    if (Deno.build.os !== "linux") return undefined;
    const current = Deno.env.get("XDG_RUNTIME_DIR");
    if (current) {
      try {
        if (Deno.statSync(current).isDirectory) return undefined;
      } catch {
        // not there: replace it
      }
    }
    const dir = Deno.makeTempDirSync({ prefix: "lenet-runtime-" });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // best effort
      }
    });
    return dir;
  } catch {
    return undefined; // no permission: leave the environment alone
  }
}
