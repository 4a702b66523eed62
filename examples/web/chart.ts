/**
 * The live training chart: loss per step (faint, and smoothed) and validation error against the number
 * of images trained on, on a 2D canvas. Loss on the left axis, error on the right.
 *
 * @module
 */

/** A point: images trained on so far, and a value. */
export type Point = [images: number, value: number];

const PAD = { left: 46, right: 52, top: 14, bottom: 30 };
const LOSS = "#3a6fd8", ERR = "#e0662f";

/** Exponential moving average of the losses (what the chart draws). */
export function smooth(points: Point[], alpha = 0.1): Point[] {
  let s = NaN;
  return points.map(([x, y]) => {
    s = Number.isNaN(s) ? y : s + alpha * (y - s);
    return [x, s];
  });
}

/** A round upper bound for an axis. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v)!;
}

/**
 * Draws the chart.
 *
 * @param ctx The canvas's 2D context.
 * @param losses Training loss per step.
 * @param errors Validation error rate (0..1) per validation.
 */
export function drawChart(
  ctx: CanvasRenderingContext2D,
  losses: Point[],
  errors: Point[],
): void {
  const { width, height } = ctx.canvas;
  const w = width - PAD.left - PAD.right, h = height - PAD.top - PAD.bottom;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const xMax = niceMax(Math.max(1000, ...losses.map((p) => p[0]), ...errors.map((p) => p[0])));
  const lossMax = niceMax(Math.max(0.5, ...losses.map((p) => p[1])));
  const errMax = niceMax(Math.max(0.05, ...errors.map((p) => p[1])));
  const X = (x: number) => PAD.left + (x / xMax) * w;
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#e4e6eb";
  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 5; i++) {
    const y = PAD.top + h - (i / 5) * h;
    ctx.beginPath();
    ctx.moveTo(PAD.left, y);
    ctx.lineTo(PAD.left + w, y);
    ctx.stroke();
    ctx.fillStyle = LOSS;
    ctx.textAlign = "right";
    ctx.fillText(((lossMax * i) / 5).toFixed(2), PAD.left - 4, y);
    ctx.fillStyle = ERR;
    ctx.textAlign = "left";
    ctx.fillText(`${((errMax * i) / 5 * 100).toFixed(1)} %`, PAD.left + w + 4, y);
  }
  ctx.fillStyle = "#445";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let i = 0; i <= 4; i++) {
    ctx.fillText(String(Math.round((xMax * i) / 4)), X((xMax * i) / 4), PAD.top + h + 4);
  }
  ctx.fillText("images trained on", PAD.left + w / 2, PAD.top + h + 16);
  const line = (pts: Point[], max: number, color: string, dots: boolean) => {
    ctx.strokeStyle = ctx.fillStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach(([x, y], i) => {
      const py = PAD.top + h - Math.min(1, y / max) * h;
      if (i === 0) ctx.moveTo(X(x), py);
      else ctx.lineTo(X(x), py);
    });
    ctx.stroke();
    if (dots) {
      for (const [x, y] of pts) {
        ctx.beginPath();
        ctx.arc(X(x), PAD.top + h - Math.min(1, y / max) * h, 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  };
  ctx.globalAlpha = 0.3;
  line(losses, lossMax, LOSS, false);
  ctx.globalAlpha = 1;
  line(smooth(losses), lossMax, LOSS, false);
  line(errors, errMax, ERR, true);
}
