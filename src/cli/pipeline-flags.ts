/**
 * Flags shared by `moss synth` and `moss annotate` (endpoint, rate limits, retries, cache,
 * resumability) parsed once into the library's typed options; the API key falls back to
 * $MOSS_API_KEY, then $OPENAI_API_KEY (read here, at the edge). Also prints the final JSON summary
 * and sets the exit code. Deliberately no pipeline logic.
 */
import type { Command } from 'commander';
import type { CallerOptions } from '../data/pipeline/call.js';
import { normalizeBase } from '../data/pipeline/client.js';
import type { BadLine } from '../data/pipeline/inputs.js';
import type { Summary } from '../data/pipeline/runner.js';
import { number } from './flags.js';

export interface EndpointFlags {
  endpoint?: string;
  apiKey?: string;
  model?: string;
  concurrency: string;
  rpm?: string;
  tpm?: string;
  maxRetries: string;
  timeout: string;
  cache?: string;
  stream?: boolean;
  maxErrors: string;
  progress: boolean;
}

/** Adds the endpoint and production flags to a command. */
export function endpointOptions(c: Command): Command {
  return c
    .option('--endpoint <base-url>', 'OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (moss serve works)')
    .option('--api-key <key>', 'bearer key (default: $MOSS_API_KEY or $OPENAI_API_KEY)')
    .option('--model <name>', 'model name sent to the endpoint')
    .option('--concurrency <n>', 'items in flight at once', '8')
    .option('--rpm <n>', 'requests per minute at most')
    .option('--tpm <n>', 'tokens per minute at most (estimated before each call)')
    .option('--max-retries <n>', 'retries of a failed call (429/5xx/timeouts/broken answers)', '6')
    .option('--timeout <s>', 'seconds one call may take', '120')
    .option('--cache <dir>', 'content-hash cache of endpoint calls (a re-run costs no calls)')
    .option('--stream', 'use SSE streaming')
    .option('--max-errors <n>', 'stop after this many failed items (the state stays resumable)', '50')
    .option('--no-progress', 'no progress line on stderr');
}

/** The caller options from the flags (null when no --endpoint was given). */
export function callerOptions(f: EndpointFlags): CallerOptions | null {
  if (!f.endpoint) return null;
  normalizeBase(f.endpoint); // a bad URL fails here with a one-line message
  return {
    baseUrl: f.endpoint,
    apiKey: f.apiKey ?? process.env.MOSS_API_KEY ?? process.env.OPENAI_API_KEY,
    model: f.model,
    stream: f.stream ?? false,
    timeoutMs: number('timeout', f.timeout, { min: 0.001 })! * 1000,
    maxRetries: number('max-retries', f.maxRetries, { int: true, min: 0, max: 100 }),
    rpm: number('rpm', f.rpm, { min: 0.001 }),
    tpm: number('tpm', f.tpm, { min: 1 }),
    cacheDir: f.cache,
  };
}

export function concurrencyOf(f: EndpointFlags): { concurrency: number; maxErrors: number } {
  return { concurrency: number('concurrency', f.concurrency, { int: true, min: 1, max: 4096 })!, maxErrors: number('max-errors', f.maxErrors, { int: true, min: 1 })! };
}

/** What `read` returns, its bad input lines reported on stderr (file:line: reason; skipped), and their count. */
export function readReporting<T>(read: (bad: BadLine[]) => T): [T, number] {
  const bad: BadLine[] = [];
  const v = read(bad);
  for (const b of bad) process.stderr.write(`${b.where}: ${b.reason}; skipped\n`);
  return [v, bad.length];
}

/** Prints the summary as one JSON object on stdout; exit code 1 when items failed or the run stopped. */
export function finish(s: Summary, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ...s, ...extra }, null, 2)}\n`);
  if (s.stopped) process.stderr.write(`moss ${s.command}: stopped: ${s.stopped}\n`);
  else if (s.errors) process.stderr.write(`moss ${s.command}: ${s.errors} item(s) failed (e.g. ${s.errorSamples[0]}); re-run the same command to retry them\n`);
  if (s.stopped || s.errors) process.exitCode = 1;
}
