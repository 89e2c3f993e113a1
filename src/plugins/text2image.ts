/**
 * The `Text2Image` plugin: sends the description to a configured HTTP endpoint and saves the PNGs.
 * Two wire formats: OpenAI-images-compatible `POST <base>/v1/images/generations` with
 * `response_format: "b64_json"`, and Stable Diffusion WebUI `POST <base>/sdapi/v1/txt2img`
 * (`images: [base64]`). Without a configuration it fails with a clear 'not-configured' message.
 * Deliberately no image editing and no URL downloads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_ARG_CHARS, PluginError, timeoutSignal, type Plugin, type PluginResult, type RunOptions } from './types.js';

export interface Text2ImageConfig {
  readonly provider: 'openai' | 'sdwebui';
  /** Base URL, e.g. `http://127.0.0.1:7860`. */
  readonly url: string;
  readonly apiKey?: string;
  readonly model?: string;
  readonly size?: string;
  /** Folder the PNGs are written to. */
  readonly outDir: string;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
const MAX_IMAGE_BYTES = 32 << 20;

async function post(url: string, body: unknown, apiKey: string | undefined, opts: RunOptions): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: timeoutSignal(opts, 120_000),
    });
  } catch (err) {
    const name = (err as Error).name;
    throw new PluginError(name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network', `image request failed: ${(err as Error).message}`);
  }
  if (!res.ok) throw new PluginError('network', `image endpoint answered HTTP ${res.status}`);
  return res.json().catch(() => { throw new PluginError('network', 'image endpoint did not return JSON'); });
}

/** Builds the `Text2Image` plugin. */
export function text2imagePlugin(cfg?: Text2ImageConfig): Plugin {
  return {
    name: 'Text2Image',
    async run(prompt: string, opts: RunOptions = {}): Promise<PluginResult> {
      if (!cfg) throw new PluginError('not-configured', 'no text-to-image endpoint configured (set --image openai:<url> or sdwebui:<url>)');
      const p = prompt.trim();
      if (!p || p.length > MAX_ARG_CHARS) throw new PluginError('invalid', 'empty or overlong description');
      const base = cfg.url.replace(/\/+$/, '');
      let images: unknown[];
      if (cfg.provider === 'openai') {
        const body = await post(`${base}/v1/images/generations`, { prompt: p, n: 1, size: cfg.size ?? '512x512', response_format: 'b64_json', ...(cfg.model ? { model: cfg.model } : {}) }, cfg.apiKey, opts);
        const data = (body as { data?: unknown }).data;
        images = Array.isArray(data) ? data.map((d) => (d as { b64_json?: unknown }).b64_json) : [];
      } else {
        const [w, h] = (cfg.size ?? '512x512').split('x').map(Number);
        const body = await post(`${base}/sdapi/v1/txt2img`, { prompt: p, width: w, height: h, steps: 20 }, cfg.apiKey, opts);
        const imgs = (body as { images?: unknown }).images;
        images = Array.isArray(imgs) ? imgs : [];
      }
      const files: string[] = [];
      mkdirSync(cfg.outDir, { recursive: true });
      for (const b64 of images) {
        if (typeof b64 !== 'string' || b64.length > (MAX_IMAGE_BYTES * 4) / 3) continue;
        const buf = Buffer.from(b64, 'base64');
        if (!buf.subarray(0, 4).equals(PNG_MAGIC)) continue;
        const file = join(cfg.outDir, `moss-${Date.now()}-${files.length}.png`);
        writeFileSync(file, buf);
        files.push(file);
      }
      if (files.length === 0) throw new PluginError('no-result', 'the image endpoint returned no PNG image');
      return { kind: 'image', files };
    },
  };
}
