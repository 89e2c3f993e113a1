/**
 * Metrics as JSON lines (one object per log event: {"step":10,"loss":3.2,...}), appended so a
 * resumed run continues the same file; on resume, lines past the resumed step are dropped so the
 * file reads as one uninterrupted curve.
 * Not here: TensorBoard/W&B sinks.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type MetricRecord = Record<string, number | string>;

export class MetricsWriter {
  constructor(readonly path: string, resumeStep?: number) {
    mkdirSync(dirname(path), { recursive: true });
    if (resumeStep === undefined) writeFileSync(path, '');
    else if (existsSync(path)) {
      const kept = readMetrics(path).filter((r) => typeof r.step !== 'number' || r.step <= resumeStep);
      writeFileSync(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
  }

  write(r: MetricRecord): void {
    appendFileSync(this.path, `${JSON.stringify(r)}\n`);
  }
}

/** Reads a metrics file back (malformed lines are skipped: a crash may cut the last one). */
export function readMetrics(path: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      // a partial last line after a crash
    }
  }
  return out;
}
