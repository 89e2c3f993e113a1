/**
 * The options of every Hub call, read from flags and the environment by src/cli (HF_ENDPOINT,
 * HF_HOME / HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE) and passed down: nothing in src/io/hub reads
 * the environment. Not here: proxies or custom CA settings (Node's own fetch settings apply).
 */

/** What a pull reports while it works (the CLI draws a progress bar from it). */
export type PullEvent =
  /** `bytes` to fetch in all, of which `resumed` are already in `.incomplete` files. */
  | { kind: 'plan'; repo: string; commit: string; files: number; toFetch: number; bytes: number; resumed: number }
  | { kind: 'bytes'; n: number }
  | { kind: 'file'; path: string; bytes: number; resumedFrom: number }
  | { kind: 'retry'; path: string; at: number; reason: string };

export interface HubOptions {
  /** The Hub, e.g. `https://huggingface.co` (no trailing slash needed). */
  endpoint: string;
  /** The hub cache folder (huggingface_hub's HF_HUB_CACHE, by default ~/.cache/huggingface/hub). */
  cacheDir: string;
  /** A user access token, sent as `Authorization: Bearer` to the endpoint (never to a CDN). */
  token?: string;
  /** Use the cache only; no request is made. */
  offline: boolean;
  /** Files downloaded at once (default 8, as huggingface_hub's snapshot_download). */
  concurrency?: number;
  /** Attempts per file after a dropped connection or a 5xx (default 5). */
  retries?: number;
  /** First back-off in ms, doubled per attempt (default 500). */
  retryDelayMs?: number;
  /** Ask the Hub which commit a branch or tag is at even when the cached snapshot is complete. */
  refresh?: boolean;
  onEvent?: (e: PullEvent) => void;
  /** Free bytes where the cache is (default: statfs); a pull that cannot fit stops before it starts. */
  diskFree?: (dir: string) => number;
  signal?: AbortSignal;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** Bytes for people, in decimal units as the Hub shows them: `21.0 MB`. */
export function formatBytes(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  for (; n >= 1000 && i < u.length - 1; i++) n /= 1000;
  return `${n.toFixed(i && n < 100 ? 1 : 0)} ${u[i]}`;
}
