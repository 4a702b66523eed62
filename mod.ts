/**
 * Train convolutional networks from TypeScript: the Theano "Convolutional Neural
 * Networks (LeNet)" tutorial's layers, run as WebGPU compute shaders, through a
 * system BLAS, or as plain TypeScript loops that serve as the reference.
 *
 * @example The tutorial's LeNet, one SGD step
 * ```ts
 * import { Conv2D, Dense, MaxPool2D, Sequential, Softmax, Tanh } from "@lenet/webgpu-cnn";
 *
 * const model = await Sequential.create({
 *   inputShape: [1, 28, 28],
 *   batchSize: 4,
 *   backend: "cpu", // or "webgpu", or "native" (BLAS, Deno with --allow-ffi)
 *   layers: [
 *     new Conv2D({ filters: 20, kernelSize: 5 }), new MaxPool2D({ poolSize: 2 }), new Tanh(),
 *     new Conv2D({ filters: 50, kernelSize: 5 }), new MaxPool2D({ poolSize: 2 }), new Tanh(),
 *     new Dense({ units: 500 }), new Tanh(),
 *     new Dense({ units: 10 }), new Softmax(),
 *   ],
 * });
 * const x = new Float32Array(4 * 784).fill(0.5);
 * const loss = await model.trainStep(x, [3, 1, 4, 1], { learningRate: 0.1 });
 * console.log(loss); // 2.302585... = ln(10)
 * model.dispose();
 * ```
 *
 * @module
 */
export {
  ActivationLayer,
  AvgPool2D,
  BatchNorm1D,
  BatchNorm2D,
  Bias,
  Conv2D,
  Dense,
  Dropout,
  GELU,
  GlobalAvgPool2D,
  lenet5,
  MaxPool2D,
  ReLU,
  Sigmoid,
  Softmax,
  Tanh,
} from "./src/layers.ts";
export type {
  BatchNormOptions,
  BiasOptions,
  Conv2DOptions,
  DenseOptions,
  DropoutOptions,
  GELUOptions,
  Layer,
  LeNet5Options,
  MaxPool2DOptions,
  PlanContext,
  PlannedLayer,
  Pool2DOptions,
  WeightInit,
} from "./src/layers.ts";
export type { MaxPoolTies } from "./cpu/maxpool2d.ts";
export type { ActivationKind } from "./src/activations.ts";
export { Dataset, initialParams, Sequential } from "./src/model.ts";
export type { Evaluation, InitOptions, ModelOptions, Tensor, TrainOptions } from "./src/model.ts";
export type {
  ActivationPlan,
  AdamStep,
  BackendName,
  BatchNormPlan,
  BiasPlan,
  Conv2DPlan,
  DensePlan,
  DropoutPlan,
  LayerPlan,
  NetworkPlan,
  ParamSpec,
  Pool2DPlan,
  SgdStep,
  SoftmaxPlan,
  StepOptions,
} from "./src/backend.ts";
export { RandomState } from "./src/random.ts";
export { NonFiniteError } from "./src/validate.ts";
export { encodeIdx, gunzipIfNeeded, parseIdx } from "./src/data/idx.ts";
export type { IdxArray, ParseIdxOptions } from "./src/data/idx.ts";
export {
  FASHION_MNIST_SHA256,
  MNIST_FILES,
  MNIST_SHA256,
  parseMnist,
  toFloat,
  validationCount,
} from "./src/data/mnist.ts";
export type {
  ImageSet,
  MnistFileKey,
  MnistFiles,
  MnistSplits,
  ParseMnistOptions,
} from "./src/data/mnist.ts";
export { decodeSafetensors, encodeSafetensors } from "./src/safetensors.ts";
export type { DecodedSafetensors, DecodedTensor, TensorF32 } from "./src/safetensors.ts";
export { decodePng, encodePng } from "./src/png.ts";
export type { PngImage } from "./src/png.ts";
