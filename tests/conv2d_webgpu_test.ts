/**
 * Parity of the conv2d kernels (forward, dInput, dWeight, dBias) with `cpu/conv2d.ts`, on
 * random shapes and at the tutorial's shapes. Tolerance: |gpu - cpu| <= RTOL * |cpu| + atol,
 * RTOL = 1e-4, atol = 1e-5 * max|cpu| (float32 sums against float64 ones).
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("conv2d")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
