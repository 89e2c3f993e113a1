/**
 * Pieces of `moss chat` in-process: a turn with real plugins on a scripted model (the JSON shape
 * with commands, results and calls; a not-configured search says so), the streaming printer
 * (labels, dimmed asides, hidden control tokens, markers split across pieces, NO_COLOR), and the
 * /plugins list syntax.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TokenGenerator } from '../../src/chat/loop.js';
import { ALL_OFF } from '../../src/chat/meta.js';
import { Session } from '../../src/chat/session.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { createPlugins } from '../../src/plugins/index.js';
import { TurnPrinter, useColor } from '../../src/cli/chat/render.js';
import type { FieldName } from '../../src/chat/format.js';
import { FieldStream } from '../../src/chat/parse.js';
import { applyPluginList } from '../../src/cli/chat/setup.js';
import { runTurn } from '../../src/cli/chat/turn.js';
import { tinyMossFolder } from './chat-helpers.js';

const tok = loadTokenizer(tinyMossFolder());

/** Replays one script entry per generate() call, a few ids at a time. */
function scripted(script: string[]): TokenGenerator {
  let call = 0;
  return {
    async *generate(_prompt, { stopIds }) {
      for (const t of tok.encode(script[call++] ?? '', { special: 'allow' })) {
        yield t;
        if (stopIds.includes(t)) return;
      }
    },
  };
}

const ON = { innerThoughts: true, search: true, calculator: true, solver: true, text2image: false };

test('a turn with plugins: JSON fields, calls, not-configured search, streamed display', async () => {
  const session = new Session({ version: 1, switches: ON, turns: [] });
  const generator = scripted([
    '<|Inner Thoughts|>: 需要计算<eot>\n<|Commands|>: Calculate("2+2"), Search("moss")<eoc>',
    ' 答案是 4。<eom>',
  ]);
  let shown = '';
  const printer = new TurnPrinter((s) => (shown += s), false);
  const t = await runTurn({ generator, tokenizer: tok, plugins: createPlugins(), maxContext: 4096, maxNewTokens: 64 }, session, '2+2 等于几？', new AbortController().signal, printer);
  assert.deepEqual(t, {
    human: '2+2 等于几？',
    inner_thoughts: '需要计算',
    commands: 'Calculate("2+2"), Search("moss")',
    results: 'Calculate("2+2") => \'4\'\nSearch("moss") =>\nNo result.',
    moss: '答案是 4。',
    calls: [
      { name: 'Calculate', arg: '2+2', ok: true },
      { name: 'Search', arg: 'moss', ok: false, message: 'no search provider configured (moss chat: --search-dir <folder>; serve/config: a local folder, a SearXNG URL or a JSON provider)' },
    ],
  });
  assert.equal(session.state.turns.length, 1);
  assert.equal(shown, [
    'Inner Thoughts: 需要计算',
    'Commands: Calculate("2+2"), Search("moss")',
    'Search("moss"): no search provider configured (moss chat: --search-dir <folder>; serve/config: a local folder, a SearXNG URL or a JSON provider)',
    'Results:',
    'Calculate("2+2") => \'4\'',
    'Search("moss") =>',
    'No result.',
    'MOSS: 答案是 4。',
    '',
  ].join('\n'));
});

test('a cancelled turn returns null and is not kept', async () => {
  const session = new Session({ version: 1, switches: ALL_OFF, turns: [] });
  const ac = new AbortController();
  ac.abort();
  const t = await runTurn({ generator: scripted([' hi<eom>']), tokenizer: tok, plugins: createPlugins(), maxContext: 4096, maxNewTokens: 8 }, session, 'x', ac.signal);
  assert.equal(t, null);
  assert.equal(session.state.turns.length, 0);
});

test('printer: markers split across pieces (read by the chat parser), dimmed asides, no control tokens', () => {
  let out = '';
  const show = (p: TurnPrinter, pieces: string[], open?: FieldName): void => {
    const fs = new FieldStream(open);
    for (const x of [...pieces.map((piece) => fs.push(piece)), fs.end()]) for (const f of x) if (!f.placeholder) p.event({ type: 'field', field: f.field, text: f.text, done: f.done });
  };
  const p = new TurnPrinter((s) => (out += s), true);
  show(p, ['<|Inner', ' Thoughts|>: th', 'ink<e', 'ot>', '\n<|Comm', 'ands|>: Calc("1")<eo', 'c>']);
  assert.equal(out, '\x1b[2mInner Thoughts: think\nCommands: Calc("1")\n');
  out = '';
  p.event({ type: 'field', field: 'Tool Responses', text: 'Calc("1") => \'1\'\n', done: true });
  show(p, [' a <', 'b> c<', 'eom>'], 'MOSS');
  p.finish();
  assert.equal(out, 'Results:\nCalc("1") => \'1\'\n\x1b[22mMOSS: a <b> c\n', 'still dim from the tool phase until MOSS:');
  // a turn never leaves the terminal dim
  out = '';
  const d = new TurnPrinter((s) => (out += s), true);
  show(d, ['<|Commands|>: x']);
  d.finish();
  assert.equal(out, '\x1b[2mCommands: x\n\x1b[22m');
  // a wrong end token after a None placeholder, then the real reply: only the reply is shown
  out = '';
  const q = new TurnPrinter((s) => (out += s), false);
  show(q, ['\nNo', 'ne\n<e', 'or>\n<|MO', 'SS|>: x <eo'], 'MOSS');
  q.finish();
  assert.equal(out, 'MOSS: x <eo\n');
});

test('colour only on a TTY without NO_COLOR', () => {
  assert.equal(useColor({ isTTY: true }, {}), true);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: false }, {}), false);
  assert.equal(useColor({}, {}), false);
});

test('/plugins list syntax', () => {
  const all = applyPluginList(ALL_OFF, 'all');
  assert.deepEqual(all, { innerThoughts: true, search: true, calculator: true, solver: true, text2image: true });
  assert.deepEqual(applyPluginList(all, 'calculator,solver'), { ...ALL_OFF, calculator: true, solver: true, innerThoughts: true });
  assert.deepEqual(applyPluginList(all, '-search -text2image'), { ...all, search: false, text2image: false });
  assert.deepEqual(applyPluginList(all, 'none'), ALL_OFF);
  assert.deepEqual(applyPluginList(ALL_OFF, 'calc,-thoughts'), { ...ALL_OFF, calculator: true });
  assert.deepEqual(applyPluginList(ALL_OFF, 'thoughts'), { ...ALL_OFF, innerThoughts: true });
  assert.throws(() => applyPluginList(ALL_OFF, 'calculator,warp'), /unknown plugin "warp"/);
  assert.throws(() => applyPluginList(ALL_OFF, ' , '), /give a list/);
});
