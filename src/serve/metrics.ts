/**
 * Prometheus text exposition (format 0.0.4) for the server: request counters by route and status,
 * token counters, a time-to-first-token histogram, and engine gauges read at scrape time.
 * Follows the names llama.cpp server and vLLM use where they exist. Deliberately no client library.
 */
import type { EngineStats } from './engine.js';

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  private requests = new Map<string, number>();
  private ttft = new Array<number>(BUCKETS.length + 1).fill(0);
  private ttftSum = 0;
  private ttftCount = 0;
  completionTokens = 0;
  promptTokens = 0;
  readonly started = Date.now();

  request(route: string, status: number): void {
    const k = `route="${route}",status="${status}"`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }

  /** Tokens of a completed request. */
  tokens(u: { readonly promptTokens: number; readonly completionTokens: number }): void {
    this.promptTokens += u.promptTokens;
    this.completionTokens += u.completionTokens;
  }

  firstToken(seconds: number): void {
    let i = BUCKETS.findIndex((b) => seconds <= b);
    if (i < 0) i = BUCKETS.length;
    this.ttft[i]++;
    this.ttftSum += seconds;
    this.ttftCount++;
  }

  render(e: EngineStats): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, rows: string[]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows);
    };
    metric('moss_requests_total', 'counter', 'HTTP requests by route and status.', [...this.requests].map(([k, v]) => `moss_requests_total{${k}} ${v}`));
    metric('moss_prompt_tokens_total', 'counter', 'Prompt tokens of completed requests.', [`moss_prompt_tokens_total ${this.promptTokens}`]);
    metric('moss_completion_tokens_total', 'counter', 'Generated tokens of completed requests.', [`moss_completion_tokens_total ${this.completionTokens}`]);
    metric('moss_engine_tokens_generated_total', 'counter', 'Tokens the engine generated (cancelled requests included).', [`moss_engine_tokens_generated_total ${e.tokensGenerated}`]);
    metric('moss_engine_decode_steps_total', 'counter', 'Batched decode steps.', [`moss_engine_decode_steps_total ${e.steps}`]);
    metric('moss_requests_running', 'gauge', 'Sequences decoding now.', [`moss_requests_running ${e.active}`]);
    metric('moss_requests_waiting', 'gauge', 'Requests waiting for a slot.', [`moss_requests_waiting ${e.queued}`]);
    metric('moss_slots', 'gauge', 'Parallel generation slots.', [`moss_slots ${e.slots}`]);
    let acc = 0;
    const rows = BUCKETS.map((b, i) => `moss_time_to_first_token_seconds_bucket{le="${b}"} ${(acc += this.ttft[i])}`);
    rows.push(`moss_time_to_first_token_seconds_bucket{le="+Inf"} ${acc + this.ttft[BUCKETS.length]}`, `moss_time_to_first_token_seconds_sum ${this.ttftSum}`, `moss_time_to_first_token_seconds_count ${this.ttftCount}`);
    metric('moss_time_to_first_token_seconds', 'histogram', 'Time from request to first generated text.', rows);
    metric('moss_uptime_seconds', 'gauge', 'Seconds since start.', [`moss_uptime_seconds ${((Date.now() - this.started) / 1000).toFixed(1)}`]);
    return `${lines.join('\n')}\n`;
  }
}
