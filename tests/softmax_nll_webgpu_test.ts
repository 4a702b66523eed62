/**
 * Parity of softmax_forward, softmax_nll_backward and nll_loss with `cpu/softmax.ts` and
 * `cpu/nll.ts`. Tolerances: probabilities and gradients rtol 1e-5 / atol 1e-7, mean loss
 * rtol 1e-5; the error count is exact (ties: the first maximum wins).
 */
import { casesOf } from "./_kernel_cases.ts";
import { hasAdapter } from "./_webgpu.ts";

// The cases live in _kernel_cases.ts: tests/kernels_browser_test.ts runs them in Chromium too.
for (const c of casesOf("softmax_nll")) Deno.test({ name: c.name, ignore: !hasAdapter, fn: c.run });
