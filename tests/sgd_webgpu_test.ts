/**
 * Parity of sgd_update with `cpu/sgd.ts`, plain and with momentum over several steps.
 * Tolerance: rtol 1e-6, atol 1e-7 (two float32 operations per step). Also the non-finite flag
 * the update sets (bit 1: loss, bit 2: a parameter), tested on the exponent bits.
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("sgd")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
