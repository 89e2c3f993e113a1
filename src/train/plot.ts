/**
 * A simple line plot rendered to PNG: several series of (x, y) points on shared axes, light grid
 * lines with tick marks (no text: the metrics JSONL has the numbers; the legend is by colour:
 * blue = first series, orange = second, ...). Used for the loss curve at the end of training.
 * Not here: text rendering, log axes.
 */
import { encodePng } from './png.js';

export interface Series {
  points: [number, number][];
}

const COLOURS: [number, number, number][] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]];

/** Renders series to PNG bytes (width x height). */
export function plotLines(series: readonly Series[], width = 640, height = 400): Uint8Array {
  const img = new Uint8Array(width * height * 3).fill(255);
  const set = (x: number, y: number, c: readonly number[]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 3;
    img[i] = c[0];
    img[i + 1] = c[1];
    img[i + 2] = c[2];
  };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const margin = 30;
  const [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = pts.length ? [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))] : [0, 1];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const px = (x: number) => Math.round(margin + ((x - x0) / Math.max(x1 - x0, 1e-9)) * (width - 2 * margin));
  const py = (y: number) => Math.round(height - margin - ((y - y0) / (y1 - y0)) * (height - 2 * margin));
  // grid: 5 horizontal and 5 vertical lines, axes darker
  for (let k = 0; k <= 4; k++) {
    const gy = Math.round(margin + (k * (height - 2 * margin)) / 4);
    const gx = Math.round(margin + (k * (width - 2 * margin)) / 4);
    for (let x = margin; x <= width - margin; x++) set(x, gy, k === 4 ? [0, 0, 0] : [225, 225, 225]);
    for (let y = margin; y <= height - margin; y++) set(gx, y, k === 0 ? [0, 0, 0] : [225, 225, 225]);
  }
  series.forEach((s, si) => {
    const c = COLOURS[si % COLOURS.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    for (let i = 0; i < p.length; i++) {
      const [ax, ay] = [px(p[i][0]), py(p[i][1])];
      const [bx, by] = i + 1 < p.length ? [px(p[i + 1][0]), py(p[i + 1][1])] : [ax, ay];
      const n = Math.max(Math.abs(bx - ax), Math.abs(by - ay), 1);
      for (let t = 0; t <= n; t++) {
        const x = Math.round(ax + ((bx - ax) * t) / n);
        const y = Math.round(ay + ((by - ay) * t) / n);
        set(x, y, c);
        set(x, y + 1, c);
      }
    }
  });
  return encodePng(width, height, img);
}
