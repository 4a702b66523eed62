import assert from "node:assert/strict";
import { imageToInput, panel, randomFilterMaps } from "../examples/filters.ts";
import { decodePng } from "../src/png.ts";

const H = 13, W = 16;

/** A tiny deterministic RGB image. */
function tinyImage() {
  const pixels = new Uint8Array(H * W * 3).map((_, i) => {
    const p = Math.floor(i / 3), c = i % 3, y = Math.floor(p / W), x = p % W;
    return (x * 17 + y * 29 + c * 80 + ((x * y) % 7) * 11) & 255;
  });
  return { width: W, height: H, channels: 3 as const, pixels };
}

Deno.test("filters: shapes, value range, the tutorial's random draws", () => {
  const img = tinyImage();
  const x = imageToInput(img);
  assert.equal(x.length, 3 * H * W);
  assert.equal(x[0], img.pixels[0] / 256); // channel 0, pixel 0
  assert.equal(x[H * W], img.pixels[1] / 256); // channel 1, pixel 0
  const r = randomFilterMaps(x, H, W);
  assert.equal(r.outH, H - 8);
  assert.equal(r.outW, W - 8);
  assert.equal(r.maps.length, 2 * (H - 8) * (W - 8));
  for (const v of r.maps) assert.ok(v > 0 && v < 1 && Number.isFinite(v));
  assert.equal(r.W.length, 2 * 3 * 9 * 9);
  const bound = 1 / Math.sqrt(243);
  for (const w of r.W) assert.ok(Math.abs(w) <= bound);
  // numpy's RandomState(23455).uniform(...) first values (see src/random.ts)
  assert.equal(r.W[0], 0.04297323069332297);
  assert.equal(r.b[0], -0.3943425023926769);

  const p = panel(img, r, false);
  assert.equal(p.width, W + 2 * (8 + W - 8));
  assert.equal(p.height, H);
  assert.equal(p.pixels.length, p.width * p.height * 3);
});

Deno.test("filters: one output pixel by hand (true convolution, as Theano)", () => {
  const x = imageToInput(tinyImage());
  const r = randomFilterMaps(x, H, W);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  for (const [o, y, xo] of [[0, 0, 0], [1, 2, 5], [0, 4, 7]]) {
    let sum = r.b[o];
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 9; i++) {
        for (let j = 0; j < 9; j++) {
          // convolution: the kernel is rotated 180 degrees
          sum += x[(c * H + y + i) * W + xo + j] * r.W[((o * 3 + c) * 9 + 8 - i) * 9 + 8 - j];
        }
      }
    }
    const got = r.maps[(o * r.outH + y) * r.outW + xo];
    assert.ok(Math.abs(got - sig(sum)) < 1e-14, `map ${o} (${y}, ${xo}): ${got} vs ${sig(sum)}`);
  }
});

Deno.test("filters: panel layout", () => {
  const img = tinyImage();
  const r = randomFilterMaps(imageToInput(img), H, W);
  const p = panel(img, r, false);
  const at = (x: number, y: number) =>
    Array.from(p.pixels.subarray((y * p.width + x) * 3, (y * p.width + x) * 3 + 3));
  assert.deepEqual(at(3, 2), Array.from(img.pixels.subarray((2 * W + 3) * 3, (2 * W + 3) * 3 + 3)));
  assert.deepEqual(at(W + 2, 0), [255, 255, 255]); // gap
  // map 0 pixel (0, 0) sits 4 rows down, after the gap; grey = round(255 * v)
  const v0 = Math.round(255 * r.maps[0]);
  assert.deepEqual(at(W + 8, 4), [v0, v0, v0]);
  const v1 = Math.round(255 * r.maps[r.outH * r.outW]);
  assert.deepEqual(at(W + 8 + r.outW + 8, 4), [v1, v1, v1]);
  // stretched: each map spans 0..255
  const s = panel(img, r, true);
  const greys = [];
  for (let y = 4; y < 4 + r.outH; y++) {
    for (let x = W + 8; x < W + 8 + r.outW; x++) greys.push(s.pixels[(y * s.width + x) * 3]);
  }
  assert.equal(Math.min(...greys), 0);
  assert.equal(Math.max(...greys), 255);
});

Deno.test("filters: the example runs on the shipped sample image", async () => {
  const out = await Deno.makeTempFile({ suffix: ".png" });
  try {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../examples/filters.ts", import.meta.url).pathname,
        "--out",
        out,
      ],
    });
    const r = await cmd.output();
    const stdout = new TextDecoder().decode(r.stdout);
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    assert.match(stdout, /wrote .* \(720x180: original \| map 0 \| map 1\)/);
    const img = await decodePng(await Deno.readFile(out));
    assert.deepEqual([img.width, img.height, img.channels], [720, 180, 3]);
  } finally {
    await Deno.remove(out);
  }
});

/** A python3 with numpy and scipy, or undefined (then the cross-check is skipped). */
async function pythonWithScipy(): Promise<string | undefined> {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(py, {
        args: ["-c", "import numpy, scipy.signal"],
        stderr: "null",
      }).output();
      if (r.success) return py;
    } catch {
      // not installed
    }
  }
  return undefined;
}

const py = await pythonWithScipy();

Deno.test({
  name: "filters: same maps as numpy RandomState(23455) + scipy.signal.convolve2d" +
    (py ? "" : " (skipped: no python3 with numpy and scipy)"),
  ignore: !py,
  fn: async () => {
    const img = tinyImage();
    const script = `
import sys, json, numpy as np
from scipy.signal import convolve2d
d = json.load(sys.stdin)
img = np.array(d["pixels"], dtype=np.uint8).reshape(d["h"], d["w"], 3).astype("float64") / 256.
x = img.transpose(2, 0, 1)
rng = np.random.RandomState(23455)
w_bound = np.sqrt(3 * 9 * 9)
W = rng.uniform(low=-1.0 / w_bound, high=1.0 / w_bound, size=(2, 3, 9, 9))
b = rng.uniform(low=-.5, high=.5, size=(2,))
out = np.stack([sum(convolve2d(x[c], W[o, c], mode="valid") for c in range(3)) + b[o] for o in range(2)])
print(json.dumps((1 / (1 + np.exp(-out))).ravel().tolist()))
`;
    const child = new Deno.Command(py!, {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(JSON.stringify({ h: H, w: W, pixels: Array.from(img.pixels) })),
    );
    await writer.close();
    const r = await child.output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    const expected: number[] = JSON.parse(new TextDecoder().decode(r.stdout));
    const got = randomFilterMaps(imageToInput(img), H, W).maps;
    assert.equal(got.length, expected.length);
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - expected[i]));
    assert.ok(maxErr < 1e-12, `max abs difference ${maxErr}`);
  },
});
