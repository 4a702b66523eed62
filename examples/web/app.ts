/// <reference lib="dom" />
/**
 * The demo page: trains the tutorial's LeNet on MNIST in the browser (WebGPU, else the
 * TypeScript reference), and classifies digits drawn on a canvas with the model trained here
 * or with the shipped checkpoint.
 *
 * URL parameters: `backend=cpu` (skip WebGPU), `batch`, `lr`, `momentum` (training
 * defaults), `valid=N` (validation images, default 1000), `validEvery=N` (steps between
 * validations), `limit=N` (first N training images), `train=1` (start training at once).
 * `globalThis.lenetDemo` exposes the page's functions to tests and benchmarks.
 *
 * @module
 */
import {
  type Dataset,
  decodeSafetensors,
  lenet5,
  MNIST_FILES,
  type MnistSplits,
  parseMnist,
  Sequential,
  type Tensor,
} from "../../mod.ts";
import { deviceFrom } from "../../src/backends/webgpu/device.ts";
import { FIELD, inkFromRgba, mnistFromInk } from "./preprocess.ts";
import { drawChart, type Point } from "./chart.ts";

/** Pixels k/256, the tutorial's convention the shipped checkpoint was trained with. */
export const PIXEL_SCALE = 1 / 256;
const CHECKPOINT = "lenet-mnist.safetensors";
const query = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Milliseconds since navigation start at each milestone, for the benchmark. */
const marks: Record<string, number> = {};
const mark = (name: string) => marks[name] ??= performance.now();

// ---------- backend ----------

interface Backend {
  name: "webgpu" | "cpu";
  device?: GPUDevice;
  /** The adapter's name, or why WebGPU is not used. */
  label: string;
}

async function pickBackend(): Promise<Backend> {
  if (query.get("backend") === "cpu") {
    return { name: "cpu", label: "WebGPU not used (backend=cpu in the address)" };
  }
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    return { name: "cpu", label: "This browser has no WebGPU (navigator.gpu is missing)" };
  }
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    return { name: "cpu", label: "WebGPU is present but offers no adapter" };
  }
  const i = adapter.info;
  const label = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ") +
    (i.isFallbackAdapter ? " (software fallback adapter)" : "");
  const device = await deviceFrom(adapter);
  return { name: "webgpu", device, label: label || "unnamed adapter" };
}

// ---------- one model operation at a time ----------

let chain: Promise<unknown> = Promise.resolve();
/** Runs `fn` after every operation queued before it (models are not re-entrant). */
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const p = chain.then(fn);
  chain = p.catch(() => {});
  return p;
}

// ---------- models ----------

let backend: Backend;
let shipped: Sequential | null = null;
let trained: Sequential | null = null;

function createModel(batchSize: number): Promise<Sequential> {
  return Sequential.create({
    inputShape: [1, FIELD, FIELD],
    layers: lenet5(),
    batchSize,
    backend: backend.name,
    device: backend.device,
    theanoKernels: true,
  });
}

async function loadShipped(): Promise<Sequential> {
  const res = await fetch(CHECKPOINT);
  if (!res.ok) throw new Error(`${CHECKPOINT}: HTTP ${res.status}`);
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await res.arrayBuffer()));
  if (metadata.convention && metadata.convention !== "tutorial") {
    throw new Error(`${CHECKPOINT}: convention "${metadata.convention}", the page feeds k/256`);
  }
  const model = await createModel(100);
  const weights: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) weights[name] = { shape: t.shape, data: t.data };
  await model.setWeights(weights);
  return model;
}

/** Class probabilities of 28x28 images (bytes), with the chosen model. */
function classify(images: Uint8Array, which = modelChoice()): Promise<Float32Array> {
  const model = which === "trained" ? trained : shipped;
  if (!model) return Promise.reject(new Error(`the ${which} model is not ready`));
  const x = new Float32Array(images.length);
  for (let i = 0; i < x.length; i++) x[i] = images[i] * PIXEL_SCALE;
  return exclusive(() => model.predict(x));
}

function modelChoice(): "shipped" | "trained" {
  return $<HTMLSelectElement>("model-choice").value === "trained" ? "trained" : "shipped";
}

// ---------- drawing pad ----------

const pad = $<HTMLCanvasElement>("pad");
const padCtx = pad.getContext("2d", { willReadFrequently: true })!;

function clearPad(): void {
  padCtx.fillStyle = "#000";
  padCtx.fillRect(0, 0, pad.width, pad.height);
}

function setupPad(): void {
  clearPad();
  let drawing = false;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [
      (e.clientX - r.left) * pad.width / r.width,
      (e.clientY - r.top) * pad.height / r.height,
    ];
  };
  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    padCtx.strokeStyle = padCtx.fillStyle = "#fff";
    padCtx.lineWidth = pad.width / 14;
    padCtx.lineCap = padCtx.lineJoin = "round";
    padCtx.beginPath();
    padCtx.arc(x, y, padCtx.lineWidth / 2, 0, 2 * Math.PI);
    padCtx.fill();
    padCtx.beginPath();
    padCtx.moveTo(x, y);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    padCtx.lineTo(x, y);
    padCtx.stroke();
    padCtx.beginPath();
    padCtx.moveTo(x, y);
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    lastClassification = classifyPad();
    lastClassification.catch(showError);
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", () => {
    clearPad();
    showSeen(null);
    showBars(null);
  });
}

/** The classification started by the last stroke. */
let lastClassification: Promise<{ image: Uint8Array; probs: Float32Array } | null> = Promise
  .resolve(null);

/** Preprocesses what is on the pad, shows it, classifies it; null when the pad is blank. */
async function classifyPad(): Promise<{ image: Uint8Array; probs: Float32Array } | null> {
  const { data } = padCtx.getImageData(0, 0, pad.width, pad.height);
  const image = mnistFromInk(inkFromRgba(data, pad.width, pad.height));
  showSeen(image);
  if (!image) {
    showBars(null);
    return null;
  }
  const probs = await classify(image);
  showBars(probs);
  return { image, probs };
}

/** Paints a greyscale image (0..255 ink) over the whole pad, each pixel a square. */
function paintPad(image: Uint8Array, width: number, height: number): void {
  const img = padCtx.createImageData(pad.width, pad.height);
  for (let y = 0; y < pad.height; y++) {
    const sy = Math.floor(y * height / pad.height);
    for (let x = 0; x < pad.width; x++) {
      const v = image[sy * width + Math.floor(x * width / pad.width)];
      const o = 4 * (y * pad.width + x);
      img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      img.data[o + 3] = 255;
    }
  }
  padCtx.putImageData(img, 0, 0);
}

function showSeen(image: Uint8Array | null): void {
  const c = $<HTMLCanvasElement>("seen"), ctx = c.getContext("2d")!;
  const img = ctx.createImageData(FIELD, FIELD);
  for (let i = 0; i < FIELD * FIELD; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = image ? image[i] : 0;
    img.data[4 * i + 3] = 255;
  }
  const tmp = new OffscreenCanvas(FIELD, FIELD);
  tmp.getContext("2d")!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, c.width, c.height);
}

function showBars(probs: Float32Array | null): void {
  const bars = $("bars");
  bars.replaceChildren();
  const top = probs ? probs.indexOf(Math.max(...probs)) : -1;
  for (let k = 0; k < 10; k++) {
    const p = probs ? probs[k] : 0;
    const digit = document.createElement("span");
    digit.textContent = String(k);
    const bar = document.createElement("div");
    bar.className = k === top ? "bar top" : "bar";
    const fill = document.createElement("div");
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.textContent = probs ? `${(p * 100).toFixed(1)} %` : "";
    bars.append(digit, bar, value);
  }
}

// ---------- training ----------

interface Training {
  model: Sequential;
  train: Dataset;
  valid: Dataset;
  trainCount: number;
  validCount: number;
  batch: number;
  step: number;
  seen: number;
  losses: Point[];
  errors: Point[];
  /** Seconds and images of the timed steps (the first one, with compilation, excluded). */
  timed: { seconds: number; images: number };
  /** Seconds of each step (the loss read back included). */
  stepSeconds: number[];
  running: boolean;
}

let training: Training | null = null;
let mnist: Promise<MnistSplits> | null = null;
const chart = $<HTMLCanvasElement>("chart").getContext("2d")!;

/** The number in an input field; `zero`: 0 is allowed. */
function numberParam(id: string, name: string, zero = false): number {
  const input = $<HTMLInputElement>(id);
  const v = Number(input.value);
  if (!Number.isFinite(v) || (zero ? v < 0 : v <= 0)) {
    throw new RangeError(
      `${name} must be a ${zero ? "non-negative" : "positive"} number, got "${input.value}"`,
    );
  }
  return v;
}

function loadMnist(): Promise<MnistSplits> {
  mnist ??= (async () => {
    const files = await Promise.all(
      Object.values(MNIST_FILES).map(async (f) => {
        const res = await fetch(`data/${f}`);
        if (!res.ok) {
          throw new Error(`data/${f}: HTTP ${res.status} (start the server with --data DIR)`);
        }
        return new Uint8Array(await res.arrayBuffer());
      }),
    );
    const [trainImages, trainLabels, testImages, testLabels] = files;
    return await parseMnist({ trainImages, trainLabels, testImages, testLabels }, {
      name: "data",
    });
  })();
  mnist.catch(() => mnist = null);
  return mnist;
}

async function startTraining(): Promise<Training> {
  const status = $("train-status");
  status.textContent = "loading MNIST…";
  const data = await loadMnist();
  mark("dataLoaded");
  const batch = Math.round(numberParam("batch", "batch"));
  status.textContent = `building LeNet (batch ${batch}, compiling shaders)…`;
  const model = await createModel(batch);
  mark("modelBuilt");
  const limit = Number(query.get("limit") ?? data.train.count);
  const trainCount = Math.min(data.train.count, limit);
  const validCount = Math.min(data.valid.count, Number(query.get("valid") ?? 1000));
  $("valid-count").textContent = String(validCount);
  const px = FIELD * FIELD;
  const train = model.createDataset(
    data.train.images.subarray(0, trainCount * px),
    data.train.labels.subarray(0, trainCount),
    { scale: PIXEL_SCALE },
  );
  const valid = model.createDataset(
    data.valid.images.subarray(0, validCount * px),
    data.valid.labels.subarray(0, validCount),
    { scale: PIXEL_SCALE },
  );
  trained = model;
  const choice = $<HTMLSelectElement>("model-choice");
  (choice.options[1] as HTMLOptionElement).disabled = false;
  return {
    model,
    train,
    valid,
    trainCount,
    validCount,
    batch,
    step: 0,
    seen: 0,
    losses: [],
    errors: [],
    timed: { seconds: 0, images: 0 },
    stepSeconds: [],
    running: false,
  };
}

async function validate(t: Training): Promise<number> {
  const r = await exclusive(() => t.model.evaluateDataset(t.valid, 0, t.validCount));
  t.errors.push([t.seen, r.errorRate]);
  return r.errorRate;
}

/** Trains until stopped (or for `steps` steps); each step one batch in order, wrapping. */
async function trainLoop(t: Training, steps = Infinity): Promise<void> {
  const status = $("train-status");
  const validEvery = Number(query.get("validEvery") ?? Math.max(1, Math.round(5000 / t.batch)));
  t.running = true;
  setButtons();
  try {
    for (let i = 0; i < steps && t.running; i++) {
      const options = {
        learningRate: numberParam("lr", "learning rate"),
        momentum: numberParam("momentum", "momentum", true),
      };
      const start = (t.step * t.batch) % (t.trainCount - t.trainCount % t.batch || t.trainCount);
      const count = Math.min(t.batch, t.trainCount - start);
      const t0 = performance.now();
      const loss = await exclusive(() => t.model.trainBatch(t.train, start, count, options));
      const seconds = (performance.now() - t0) / 1000;
      mark("firstStep");
      t.stepSeconds.push(seconds);
      if (t.step > 0) {
        t.timed.seconds += seconds;
        t.timed.images += count;
      }
      t.step++;
      t.seen += count;
      t.losses.push([t.seen, loss]);
      if (t.step % validEvery === 0) await validate(t);
      drawChart(chart, t.losses, t.errors);
      status.textContent = `step ${t.step}, loss ${loss.toFixed(4)}` +
        (t.errors.length
          ? `, validation error ${(t.errors[t.errors.length - 1][1] * 100).toFixed(2)} %`
          : "");
      if (t.timed.seconds > 0) {
        $("speed").textContent = `${
          (t.timed.images / t.timed.seconds).toFixed(1)
        } training images/s`;
      }
      await new Promise((r) => setTimeout(r, 0)); // let the page breathe
    }
  } finally {
    t.running = false;
    setButtons();
  }
}

function setButtons(): void {
  const running = training?.running ?? false;
  $<HTMLButtonElement>("train").disabled = running;
  $<HTMLButtonElement>("train").textContent = training ? "Continue" : "Train";
  $<HTMLButtonElement>("stop").disabled = !running;
  $<HTMLInputElement>("batch").disabled = training !== null;
}

let starting: Promise<Training> | null = null;
async function train(steps?: number): Promise<void> {
  if (!training) {
    $<HTMLButtonElement>("train").disabled = true;
    starting ??= startTraining();
    try {
      training = await starting;
    } finally {
      starting = null;
      setButtons();
    }
  }
  if (!training.running) await trainLoop(training, steps);
}

function stop(): void {
  if (training) training.running = false;
}

// ---------- page ----------

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  const s = $("train-status");
  s.textContent = `Error: ${msg}`;
  s.classList.add("warn");
  console.error(e);
}

async function main(): Promise<void> {
  const params: [string, string][] = [["batch", "batch"], ["lr", "lr"], ["momentum", "momentum"]];
  for (const [id, name] of params) {
    const v = query.get(name);
    if (v !== null) $<HTMLInputElement>(id).value = v;
  }
  setupPad();
  showBars(null);
  drawChart(chart, [], []);
  backend = await pickBackend();
  const b = $("backend");
  if (backend.name === "webgpu") {
    b.textContent = `WebGPU adapter: ${backend.label}`;
  } else {
    b.textContent =
      `${backend.label}: running on the CPU (the library's TypeScript reference, slow).`;
    b.classList.add("warn");
  }
  $("train").addEventListener("click", () => train().catch(showError));
  $("stop").addEventListener("click", stop);
  $("model-choice").addEventListener("change", () => classifyPad().catch(showError));
  shipped = await loadShipped();
  mark("ready");
  b.textContent += ` · shipped checkpoint loaded`;
  if (query.get("train") === "1") train().catch(showError); // runs until stopped
}

const ready = main();
ready.catch(showError);

/** What tests and benchmarks use (`globalThis.lenetDemo`). */
Object.assign(globalThis, {
  lenetDemo: {
    ready,
    marks,
    backend: () => ({ name: backend?.name, label: backend?.label }),
    paintPad,
    clearPad,
    classifyPad,
    lastClassification: () => lastClassification,
    classify,
    train,
    stop,
    training: () =>
      training && {
        step: training.step,
        losses: training.losses.map((p) => p[1]),
        stepSeconds: training.stepSeconds,
        errors: training.errors.map((p) => p[1]),
        imagesPerSecond: training.timed.seconds
          ? training.timed.images / training.timed.seconds
          : NaN,
        running: training.running,
      },
  },
});
