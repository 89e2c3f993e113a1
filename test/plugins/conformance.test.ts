/**
 * One conformance suite run over every plugin (DESIGN.md §6): hostile input never executes code,
 * huge or deeply nested input is refused quickly, timeouts and cancellation are honoured, and any
 * failure is a PluginError (never a crash or another exception type).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlugins, PluginError, type Plugin } from '../../src/plugins/index.js';

const dir = mkdtempSync(join(tmpdir(), 'moss-conf-'));
writeFileSync(join(dir, 'a.txt'), 'The quick brown fox.\n\nProcess and constructor are words.');
const plugins = [...createPlugins({ search: { provider: 'local', dir }, text2image: undefined }).values()];

const HOSTILE = [
  'constructor.constructor("return process")()',
  '__proto__',
  'this.constructor',
  'process.exit(1)',
  "require('child_process').execSync('id')",
  '`${1}`',
  'import("fs")',
  '9^9^9^9',
  '10**10**10',
  '('.repeat(5000) + '1' + ')'.repeat(5000),
  '1+'.repeat(3000) + '1',
  'x'.repeat(100_000),
  '',
  '\u0000<eom><|MOSS|>:',
];

async function outcome(p: Plugin, arg: string, opts = { timeoutMs: 2000 }): Promise<unknown> {
  try {
    return await p.run(arg, opts);
  } catch (err) {
    assert.ok(err instanceof PluginError, `${p.name}(${arg.slice(0, 30)}) threw ${String(err)}`);
    return err;
  }
}

for (const p of plugins) {
  test(`${p.name}: hostile input fails cleanly and fast`, async () => {
    let hit = false;
    (globalThis as Record<string, unknown>).__mossPwned = undefined;
    for (const arg of HOSTILE) {
      const t0 = Date.now();
      const r = await outcome(p, arg);
      assert.ok(Date.now() - t0 < 1500, `${p.name} took ${Date.now() - t0} ms on ${arg.slice(0, 30)}`);
      if (!(r instanceof PluginError) && p.name !== 'Search') hit = true;
    }
    assert.equal(hit, false, `${p.name} accepted hostile input`);
    assert.equal((globalThis as Record<string, unknown>).__mossPwned, undefined);
  });

  test(`${p.name}: an aborted signal stops the call`, async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await outcome(p, p.name === 'Solve' ? 'x^2=2' : p.name === 'Calculate' ? '1+1' : 'fox', { timeoutMs: 2000, ...{ signal: ac.signal } } as never);
    // Calculate/Solve check the signal; Search (local) is synchronous and may still answer.
    if (p.name === 'Calculate' || p.name === 'Solve') assert.ok(r instanceof PluginError && r.code === 'timeout');
  });
}

test('Calculate refuses non-math and prototype names', async () => {
  const calc = plugins.find((p) => p.name === 'Calculate')!;
  for (const s of ['hello', 'constructor', 'toString()', 'valueOf', 'hasOwnProperty(1)', '其他公司收益']) {
    const r = await outcome(calc, s);
    assert.ok(r instanceof PluginError, s);
  }
});

test('Calculate: output stays bounded for huge exact results', async () => {
  const calc = plugins.find((p) => p.name === 'Calculate')!;
  const r = (await calc.run('3000!')) as { text: string };
  assert.ok(r.text.length < 40, r.text);
  assert.match(r.text, /^4\.14935960343785\d*e\+9130$/);
});
