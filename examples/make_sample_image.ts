/**
 * Generates `examples/sample.png`, the default input of `examples/filters.ts`:
 * a small synthetic scene of our own making (sky gradient, sun, mountains,
 * a house, striped field, a checkerboard and a ring target), 240x180 RGB,
 * 3x3 supersampled. Deterministic: running it again gives the same file.
 *
 * ```sh
 * deno run --allow-write examples/make_sample_image.ts [out.png]
 * ```
 *
 * @module
 */

import { encodePng } from "../src/png.ts";

const WIDTH = 240;
const HEIGHT = 180;
const SS = 3;

type RGB = [number, number, number];

function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Signed area test: is (x, y) inside the triangle (a, b, c)? */
function inTriangle(x: number, y: number, t: number[]): boolean {
  const [ax, ay, bx, by, cx, cy] = t;
  const d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by);
  const d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy);
  const d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay);
  const neg = d1 < 0 || d2 < 0 || d3 < 0;
  const pos = d1 > 0 || d2 > 0 || d3 > 0;
  return !(neg && pos);
}

/** The scene's colour (0..255 floats) at continuous coordinates (x, y). */
export function scene(x: number, y: number): RGB {
  const horizon = 112;
  // Sky: deep blue at the top to a warm haze at the horizon.
  let c: RGB = mix([28, 52, 120], [250, 196, 140], Math.min(1, y / horizon));
  // Sun with a soft glow.
  const ds = Math.hypot(x - 182, y - 42);
  if (ds < 40) c = mix(c, [255, 240, 170], Math.max(0, 1 - ds / 40) * 0.6);
  if (ds < 18) c = [255, 236, 120];
  // Two mountain ranges.
  if (inTriangle(x, y, [-20, horizon, 60, 40, 140, horizon])) {
    c = mix([92, 80, 120], [60, 56, 90], (y - 40) / 72);
    if (y < 55 && inTriangle(x, y, [44, 55, 60, 40, 76, 55])) c = [240, 240, 250]; // snow cap
  }
  if (inTriangle(x, y, [90, horizon, 160, 62, 260, horizon])) {
    c = mix([70, 90, 110], [46, 64, 80], (y - 62) / 50);
  }
  // Ground: green field with diagonal furrows, darker towards the viewer.
  if (y >= horizon) {
    const t = (y - horizon) / (HEIGHT - horizon);
    const furrow = Math.sin((x - 120) * 0.35 / (0.25 + t) + y * 0.05) > 0.3;
    c = mix([120, 170, 80], [50, 110, 40], t);
    if (furrow) c = mix(c, [170, 140, 70], 0.45);
  }
  // House: wall, roof, door, window.
  if (x >= 28 && x < 86 && y >= 96 && y < 140) {
    c = [226, 214, 188];
    if (x >= 38 && x < 52 && y >= 112 && y < 140) c = [110, 64, 40]; // door
    if (x >= 62 && x < 78 && y >= 104 && y < 120) {
      c = (Math.abs(x - 70) < 1 || Math.abs(y - 112) < 1) ? [240, 240, 240] : [90, 140, 200];
    }
  }
  if (inTriangle(x, y, [22, 97, 57, 70, 92, 97])) c = [176, 48, 40];
  // Striped awning / flag on a pole.
  if (x >= 110 && x < 112 && y >= 70 && y < 140) c = [60, 60, 60];
  if (x >= 112 && x < 150 && y >= 70 && y < 96) {
    c = Math.floor((x - 112) / 5) % 2 === 0 ? [230, 60, 70] : [245, 245, 245];
  }
  // Checkerboard patio.
  if (x >= 150 && x < 214 && y >= 140 && y < 172) {
    c = (Math.floor((x - 150) / 8) + Math.floor((y - 140) / 8)) % 2 === 0
      ? [40, 40, 48]
      : [235, 228, 210];
  }
  // Ring target.
  const dr = Math.hypot(x - 210, y - 112);
  if (dr < 20) c = Math.floor(dr / 4) % 2 === 0 ? [250, 250, 250] : [30, 110, 190];
  return c;
}

/**
 * Renders the scene, 3x3 supersampled.
 *
 * @returns RGB pixels, `WIDTH * HEIGHT * 3` bytes.
 *
 * @example
 * ```ts
 * import { render } from "./make_sample_image.ts";
 * console.log(render().length); // 129600
 * ```
 */
export function render(): Uint8Array {
  const px = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const acc = [0, 0, 0];
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const c = scene(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS);
          for (let k = 0; k < 3; k++) acc[k] += c[k];
        }
      }
      for (let k = 0; k < 3; k++) {
        px[(y * WIDTH + x) * 3 + k] = Math.round(acc[k] / (SS * SS));
      }
    }
  }
  return px;
}

if (import.meta.main) {
  const out = Deno.args[0] ?? new URL("../examples/sample.png", import.meta.url).pathname;
  await Deno.writeFile(out, await encodePng(render(), WIDTH, HEIGHT, 3));
  console.log(`wrote ${out} (${WIDTH}x${HEIGHT} RGB)`);
}
