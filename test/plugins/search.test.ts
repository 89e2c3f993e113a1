/** Search providers: local BM25 with its on-disk index, SearXNG and generic JSON against a local fake server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchPlugin } from '../../src/plugins/search/index.js';
import { loadLocalIndex } from '../../src/plugins/search/local.js';
import { PluginError } from '../../src/plugins/types.js';

test('local: BM25 ranks the relevant file first, index kept on disk and rebuilt on change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-search-'));
  writeFileSync(join(dir, 'cats.md'), '# Cats\n\nCats are small carnivorous mammals that purr.');
  writeFileSync(join(dir, 'dogs.txt'), 'Dogs are loyal. Dogs bark at the mail carrier.');
  writeFileSync(join(dir, 'page.html'), '<html><script>var cats=1</script><p>人工智能芯片 由 英伟达 生产</p></html>');
  writeFileSync(join(dir, 'ignored.bin'), 'cats cats cats');
  const p = searchPlugin({ provider: 'local', dir, topK: 2 });
  const r = await p.run('why do dogs bark');
  assert.equal(r.kind, 'hits');
  assert.equal(r.kind === 'hits' && r.hits[0].title, 'dogs.txt');
  const zh = await p.run('人工智能芯片');
  assert.equal(zh.kind === 'hits' && zh.hits[0].title, 'page.html');
  assert.ok(existsSync(join(dir, '.moss-search-index.json')));
  assert.equal(loadLocalIndex(dir).rebuilt, false);
  writeFileSync(join(dir, 'birds.txt'), 'Birds sing at dawn.');
  utimesSync(join(dir, 'birds.txt'), new Date(), new Date(Date.now() + 5000));
  assert.equal(loadLocalIndex(dir).rebuilt, true);
  const b = await p.run('birds dawn');
  assert.equal(b.kind === 'hits' && b.hits[0].title, 'birds.txt');
  await assert.rejects(p.run('zebra quantum'), (e) => e instanceof PluginError && e.code === 'no-result');
});

async function serve(handler: (url: URL) => [number, unknown, number?]): Promise<[Server, string]> {
  const server = createServer((req, res) => {
    const [status, body, delay] = handler(new URL(req.url!, 'http://x'));
    setTimeout(() => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); }, delay ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return [server, `http://127.0.0.1:${addr.port}`];
}

test('searxng and generic JSON providers, timeouts and HTTP errors', async () => {
  const [server, base] = await serve((u) => {
    if (u.pathname === '/search') return [200, { results: [{ title: 'T', url: 'http://a', content: `hit for ${u.searchParams.get('q')} ${u.searchParams.get('format')}` }, { content: '' }, { content: 'second' }] }];
    if (u.pathname === '/api') return [200, { data: { items: [{ text: `json ${u.searchParams.get('q')}` }] } }];
    if (u.pathname === '/slow') return [200, {}, 1000];
    return [500, {}];
  });
  try {
    const sx = await searchPlugin({ provider: 'searxng', url: base }).run('猫 cats');
    assert.deepEqual(sx.kind === 'hits' && sx.hits.map((h) => h.snippet), ['hit for 猫 cats json', 'second']);
    const js = await searchPlugin({ provider: 'json', urlTemplate: `${base}/api?q={query}`, resultsPath: 'data.items', snippetField: 'text' }).run('a&b');
    assert.deepEqual(js.kind === 'hits' && js.hits.map((h) => h.snippet), ['json a&b']);
    await assert.rejects(searchPlugin({ provider: 'json', urlTemplate: `${base}/slow?q={query}`, resultsPath: '' }).run('x', { timeoutMs: 100 }), (e) => e instanceof PluginError && e.code === 'timeout');
    await assert.rejects(searchPlugin({ provider: 'json', urlTemplate: `${base}/err?q={query}`, resultsPath: '' }).run('x'), (e) => e instanceof PluginError && e.code === 'network');
    await assert.rejects(searchPlugin().run('x'), (e) => e instanceof PluginError && e.code === 'not-configured');
  } finally {
    server.close();
  }
});
