/**
 * The interactive `moss chat` in a child process, driven through stdin (a pipe) on a tiny random
 * MOSS checkpoint: /plugins show/set/toggle, /save, clear, /load, unknown commands, stop; Ctrl-C
 * (SIGINT) cancels a running reply and the REPL goes on; two Ctrl-C at an empty prompt exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MOSS_BIN, tinyMossFolder } from './chat-helpers.js';

const MODEL = tinyMossFolder();

test('commands through stdin: /plugins, /save, clear, /load, unknown, stop ends the session', () => {
  const file = join(MODEL, 's.json');
  const input = ['hello', '/plugins', '/plugins -solver', '/plugins +search', '/plugins none', `/save ${file}`, 'clear', `/save ${file}.empty`, `/load ${file}`, '/bogus', 'again', 'stop', 'never read'].join('\n');
  const r = spawnSync(process.execPath, [MOSS_BIN, 'chat', '--model', MODEL, '--max-new-tokens', '5', '--seed', '7'], { input, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const at = (s: string): number => {
    const i = lines.findIndex((l) => l.includes(s));
    assert.ok(i >= 0, `missing ${JSON.stringify(s)} in\n${r.stdout}`);
    return i;
  };
  at('plugins: calculator, solver; inner thoughts: on'); // banner: the default plugins
  const order = [
    at('plugins: calculator; inner thoughts: on'),
    at('plugins: calculator, search (not configured: --search-dir); inner thoughts: on'),
    at('plugins: none; inner thoughts: off'),
    at(`(saved 1 turns to ${file})`),
    at('(conversation cleared)'),
    at(`(saved 0 turns to ${file}.empty)`),
    at(`(loaded 1 turns from ${file}; plugins: none; inner thoughts: off)`),
    at('error: unknown command /bogus (/help lists them)'),
  ];
  assert.deepEqual(order, [...order].sort((a, b) => a - b), 'in input order');
  assert.equal(lines.filter((l) => l.startsWith('MOSS:')).length, 2, 'two replies (hello, again)');
  assert.ok(lines.findLastIndex((l) => l.startsWith('MOSS:')) > order[7]);
  assert.ok(!r.stdout.includes('never read'));
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { switches: Record<string, boolean>; turns: Record<string, string>[] };
  assert.equal(saved.turns[0].Human, '<|Human|>: hello<eoh>\n');
  assert.equal(saved.switches.calculator, false);
  assert.match(saved.turns[0].MOSS, /^<\|MOSS\|>:[\s\S]*<eom>\n$/);
  assert.equal((JSON.parse(readFileSync(`${file}.empty`, 'utf8')) as typeof saved).turns.length, 0);
});

test('Ctrl-C cancels the running reply only; twice at an empty prompt exits', async () => {
  // seeded so the random model's reply is long (seed 8: 690 characters in 300 tokens): unseeded, it
  // could end before the Ctrl-C arrives (a flake)
  const p = spawn(process.execPath, [MOSS_BIN, 'chat', '--model', MODEL, '--plugins', 'none', '--max-new-tokens', '900', '--max-context', '1024', '--seed', '8'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => p.on('exit', (c) => res(c)));
  const until = async (what: () => boolean, label: string): Promise<void> => {
    const t0 = Date.now();
    while (!what()) {
      if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting for ${label}; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    p.stdin.write('tell me a long story\n');
    await until(() => out.includes('MOSS:') && out.length - out.indexOf('MOSS:') > 40, 'streaming');
    p.kill('SIGINT');
    await until(() => out.includes('(cancelled)'), '(cancelled)');
    p.stdin.write(`/save ${join(MODEL, 'after-cancel.json')}\n`);
    await until(() => out.includes('(saved 0 turns'), 'the REPL to go on after the cancel');
    p.kill('SIGINT');
    await until(() => out.includes('press Ctrl-C again'), 'the exit hint');
    p.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    p.kill('SIGKILL');
  }
});
