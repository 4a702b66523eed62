/**
 * Parity of the dense kernels (forward, dInput, dWeight, dBias) with `cpu/dense.ts`, on random
 * shapes and at the tutorial's shapes. Tolerance: RTOL = 1e-4, atol = 1e-5 * max|cpu|.
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("dense")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
