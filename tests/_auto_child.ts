/**
 * Run by tests/auto_test.ts in a child Deno with chosen permissions: creates a small model
 * with `backend: "auto"` and prints `{ backend, reason }` as JSON. `--no-gpu` first hides
 * `navigator.gpu`, as in a runtime without WebGPU.
 *
 * @module
 */
import { Conv2D, Dense, Sequential, Softmax, Tanh } from "../mod.ts";

if (Deno.args.includes("--no-gpu")) {
  Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined });
}
const model = await Sequential.create({
  inputShape: [1, 6, 6],
  batchSize: 2,
  backend: "auto",
  layers: [
    new Conv2D({ filters: 2, kernelSize: 3 }),
    new Tanh(),
    new Dense({ units: 3 }),
    new Softmax(),
  ],
});
console.log(JSON.stringify({ backend: model.backend, reason: model.backendReason }));
model.dispose();
