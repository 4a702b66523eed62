/**
 * Parity of the avgpool2d kernels with `cpu/avgpool2d.ts`: strides, partial windows at the
 * border, global average pooling. Tolerance rtol 1e-5, atol 1e-6 (a float32 window sum and
 * one division per value).
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("avgpool2d")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
