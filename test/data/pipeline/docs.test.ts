/**
 * The README's "Synthesize and annotate data" section and docs/data.md run as written (in the repo
 * root, outputs under runs/data-demo, removed afterwards), with `moss serve` started in the
 * background where the text says `&`; every JSON field the text shows as output equals what the
 * command prints (moss serve samples with a seed per request, so the numbers are reproducible).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, test } from 'node:test';
import { ROOT, runMoss, startMoss, summaryOf, type Ran } from './helpers.js';

interface Step { readonly cmd: string; readonly shown: string[] }

/** Commands of the sh blocks of `text` (after `heading` if given): `$ ` lines with the output lines after them, or every line of a block without `$ `. */
function steps(text: string, heading?: string): Step[] {
  const from = heading ? text.indexOf(heading) : 0;
  assert.ok(from >= 0, `no section ${heading}`);
  const body = heading ? text.slice(from, text.indexOf('\n## ', from + heading.length) >>> 0) : text;
  const out: Step[] = [];
  for (const m of body.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = m[1].split('\n').filter((l) => l.trim());
    const dollar = lines.some((l) => l.startsWith('$ '));
    for (const l of lines) {
      if (!dollar) out.push({ cmd: l.replace(/\s+#.*$/, ''), shown: [] });
      else if (l.startsWith('$ ')) out.push({ cmd: l.slice(2), shown: [] });
      else out[out.length - 1]?.shown.push(l);
    }
  }
  return out;
}

const demo = join(ROOT, 'runs', 'data-demo');
const stops: (() => void)[] = [];
after(() => {
  for (const s of stops) s();
  rmSync(demo, { recursive: true, force: true });
});

test('README and docs/data.md data commands run as written and print what they show', async () => {
  rmSync(demo, { recursive: true, force: true });
  const readme = steps(readFileSync(join(ROOT, 'README.md'), 'utf8'), '## Synthesize and annotate data');
  const docs = steps(readFileSync(join(ROOT, 'docs', 'data.md'), 'utf8'));
  assert.ok(readme.length >= 4 && docs.length >= 6);
  const done = new Set<string>();
  const wrong: string[] = [];
  for (const s of [...readme, ...docs]) {
    if (done.has(s.cmd)) continue;
    done.add(s.cmd);
    const words = [...s.cmd.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    assert.deepEqual(words.slice(0, 2), ['npx', 'moss'], s.cmd);
    if (words[words.length - 1] === '&') {
      const bg = startMoss(words.slice(2, -1), {}, ROOT);
      stops.push(() => bg.child.kill('SIGTERM'));
      await new Promise<void>((res, rej) => {
        let seen = '';
        bg.child.stdout!.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes('listening on')) res();
        });
        void bg.done.then((r: Ran) => rej(new Error(`${s.cmd} exited: ${r.err}`)));
      });
      continue;
    }
    const r = await runMoss(words.slice(2), {}, ROOT);
    assert.equal(r.code, 0, `${s.cmd}\n${r.err}`);
    for (const line of s.shown.filter((l) => l.startsWith('{'))) {
      const got = summaryOf(r);
      for (const m of line.matchAll(/"(\w+)": ("[^"]*"|\d+(?:\.\d+)?|null|\{\})/g)) {
        if (m[1] === 'seconds' || m[1] === 'itemsPerSecond' || m[1] === 'requestsPerSecond') continue;
        if (!isDeepStrictEqual(got[m[1]], JSON.parse(m[2]))) wrong.push(`${s.cmd}: "${m[1]}" shown as ${m[2]}, printed ${JSON.stringify(got[m[1]])}`);
      }
    }
  }
  // every shown field that differs, in one message (after a model swap the text is updated from it in one pass)
  assert.deepEqual(wrong, [], `shown output differs from what the commands print:\n${wrong.join('\n')}`);
});
