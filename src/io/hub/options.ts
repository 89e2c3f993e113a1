/**
 * The options of every Hub call, read from flags and the environment by src/cli (HF_ENDPOINT,
 * HF_HOME / HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE) and passed down: nothing in src/io/hub reads
 * the environment. Not here: proxies or custom CA settings (Node's own fetch settings apply).
 */

/** What a pull reports while it works (the CLI draws a progress bar from it). */
export type PullEvent =
  | { kind: 'plan'; repo: string; commit: string; files: number; toFetch: number; bytes: number }
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
  onEvent?: (e: PullEvent) => void;
  signal?: AbortSignal;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
