/**
 * Parity of the adam kernels with `cpu/adam.ts` (the cases and their tolerances are in
 * tests/_kernel_cases.ts, which tests/kernels_browser_test.ts also runs in Chromium).
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

for (const c of casesOf("adam")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
