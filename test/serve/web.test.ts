/**
 * The web chat end to end in headless Chromium (Debian `chromium`, driven by playwright-core):
 * streaming reply, Markdown and code rendering, hostile model output stays text, plugin steps
 * visible, several conversations, Chinese input. Skips with a message when /usr/bin/chromium is
 * absent. Also unit-checks the Markdown renderer's escaping in Node.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { makeApp } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// page-side globals for functions run in the browser (the test itself is compiled for Node)
declare const document: { querySelector(s: string): { textContent: string | null } | null; getElementById(s: string): { hasAttribute(a: string): boolean } | null };
declare const window: { pwned?: number };
const skip = !existsSync(CHROMIUM) && `${CHROMIUM} not found (apt-get install -y chromium): browser test skipped`;

test('markdown renderer escapes before formatting', async () => {
  // @ts-expect-error plain JS module without types
  const { renderMarkdown } = (await import('../../../src/serve/web/markdown.js')) as { renderMarkdown(s: string): string };
  assert.equal(renderMarkdown('**b** <img src=x onerror=alert(1)> `<i>`'), '<p><strong>b</strong> &lt;img src=x onerror=alert(1)&gt; <code>&lt;i&gt;</code></p>');
  assert.equal(renderMarkdown('```js\nif (a < b) {}\n```'), '<pre><code class="language-js">if (a &lt; b) {}</code></pre>');
  assert.equal(renderMarkdown('[x](javascript:alert(1)) [y](https://a.b/c)'), '<p>[x](javascript:alert(1)) <a href="https://a.b/c" rel="noopener noreferrer" target="_blank">y</a></p>');
  assert.equal(renderMarkdown('- a\n- b\n\n1. c'), '<ul><li>a</li><li>b</li></ul><ol><li>c</li></ol>');
});

const REPLY = ' 你好！这是 **粗体** 和代码：\n```python\nprint("<b>hi</b>")\n```\n<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><eom>';

test('web chat in headless Chromium', { skip, timeout: 60_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const { app, engine } = makeApp({
    reply: (p) => (p.includes('") => ') ? ' 结果是 36。<eom>' : p.includes('12*3') ? '<|Inner Thoughts|>: 需要计算<eot>\n<|Commands|>: Calculate("12*3")<eoc>' : REPLY),
    tokenDelayMs: 1,
  });
  const server = nodeServer(app);
  const port = await listen(server, 0, '127.0.0.1');
  // a fresh --user-data-dir (playwright passes it for a persistent context)
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'moss-chromium-')), { executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  after(async () => { await browser.close(); server.close(); });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.fill('#input', '你好，MOSS');
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => document.querySelector('.msg.assistant pre code')?.textContent?.includes('print'));
  await page.waitForFunction(() => document.getElementById('send')?.hasAttribute('disabled') === false);
  const html = await page.innerHTML('.msg.assistant .content');
  assert.match(html, /<strong>粗体<\/strong>/);
  assert.match(html, /<pre><code class="language-python">print\("&lt;b&gt;hi&lt;\/b&gt;"\)<\/code><\/pre>/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.locator('.msg.assistant script, .msg.assistant img').count(), 0);
  assert.equal(await page.textContent('.msg.user'), '你好，MOSS');
  assert.ok(engine.tokenizer.decode(engine.requests[0].promptIds).includes('<|Human|>: 你好，MOSS<eoh>'));
  // plugin steps in a second conversation
  await page.click('#new-chat');
  assert.equal(await page.locator('.msg').count(), 0);
  await page.check('#plugins input[value="calculator"]');
  await page.fill('#input', '12*3 等于多少？');
  await page.click('#send');
  await page.waitForFunction(() => document.querySelector('.msg.assistant .content')?.textContent?.includes('36'));
  const steps = await page.locator('.msg.assistant .step').allTextContents();
  assert.ok(steps.some((s) => s.includes('需要计算')), steps.join('|'));
  assert.ok(steps.some((s) => s.includes('Calculate("12*3")')), steps.join('|'));
  assert.ok(steps.some((s) => s.includes("=> '36'")), steps.join('|'));
  // the next question carries the plugin turn back as the model saw it (moss_fields of the last chunk)
  const n = engine.requests.length;
  await page.waitForFunction(() => document.getElementById('send')?.hasAttribute('disabled') === false);
  await page.fill('#input', '再算一次');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('send')?.hasAttribute('disabled') === false);
  const next = engine.tokenizer.decode(engine.requests[n].promptIds);
  assert.ok(next.includes('<|Inner Thoughts|>: 需要计算<eot>\n<|Commands|>: Calculate("12*3")<eoc>\n<|Results|>:\nCalculate("12*3") => \'36\'\n<eor>\n<|MOSS|>: 结果是 36。<eom>\n<|Human|>: 再算一次<eoh>'), next);
  // two conversations in the list; switching back shows the first one
  assert.equal(await page.locator('#conversations li').count(), 2);
  await page.click('#conversations li:nth-child(2)');
  assert.equal(await page.textContent('.msg.user'), '你好，MOSS');
  assert.deepEqual(errors, []);
});
