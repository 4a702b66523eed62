/**
 * Parity of the maxpool2d kernels with `cpu/maxpool2d.ts`: strides (overlapping windows, gaps),
 * both border modes, ties.
 * Max pooling only selects values, so forward and backward must be exact (tolerance 0).
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("maxpool2d")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
