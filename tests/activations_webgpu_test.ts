/**
 * Parity of the tanh and sigmoid kernels with `cpu/tanh.ts` and `cpu/sigmoid.ts`, including
 * large inputs (no overflow to NaN). Tolerance: rtol 1e-5, atol 1e-6 (one float32 op each).
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("activations")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
