/** Text-to-image against a local fake server speaking both wire formats. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text2imagePlugin } from '../../src/plugins/text2image.js';
import { PluginError } from '../../src/plugins/types.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

test('openai and sdwebui providers save PNGs; missing config is a clear error', async () => {
  const seen: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push([req.url, JSON.parse(body)]);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v1/images/generations') res.end(JSON.stringify({ data: [{ b64_json: PNG.toString('base64') }] }));
      else if (req.url === '/sdapi/v1/txt2img') res.end(JSON.stringify({ images: [PNG.toString('base64'), 'bm90IGEgcG5n'] }));
      else { res.writeHead(404); res.end('{}'); }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const outDir = mkdtempSync(join(tmpdir(), 'moss-img-'));
  try {
    const a = await text2imagePlugin({ provider: 'openai', url, outDir }).run('a cat');
    assert.equal(a.kind, 'image');
    assert.ok(a.kind === 'image' && readFileSync(a.files[0]).equals(PNG));
    const b = await text2imagePlugin({ provider: 'sdwebui', url: `${url}/`, outDir }).run('a dog');
    assert.equal(b.kind === 'image' && b.files.length, 1); // the non-PNG image is dropped
    assert.deepEqual((seen[0] as [string, { prompt: string; response_format: string }])[1].response_format, 'b64_json');
    assert.equal((seen[1] as [string, { prompt: string }])[1].prompt, 'a dog');
  } finally {
    server.close();
  }
  await assert.rejects(text2imagePlugin().run('x'), (e) => e instanceof PluginError && e.code === 'not-configured' && /configured/.test(e.message));
});
