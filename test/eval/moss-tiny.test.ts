/**
 * The bundled models/moss-tiny: loads, and one greedy chat turn through the real plugin loop with
 * the calculator on (as `moss chat` has it by default) is well-formed MOSS (Inner Thoughts,
 * Commands, Results, MOSS fields, each closed) and calls Calculate for an arithmetic question.
 * Skips when the model folder is absent (before `npm run build:tiny`).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCommands } from '../../src/chat/commands.js';
import { fieldBody } from '../../src/chat/format.js';
import { ModelGenerator } from '../../src/generate/prefix-cache.js';
import { chatTurn, type TokenGenerator } from '../../src/chat/loop.js';
import { ALL_OFF } from '../../src/chat/meta.js';
import { wellFormed } from '../../src/eval/score.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { loadModel } from '../../src/models/load.js';
import { createPlugins } from '../../src/plugins/index.js';

const DIR = process.env.MOSS_TINY_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'moss-tiny');

test('moss-tiny: one calculator turn is well-formed and calls Calculate', { skip: existsSync(join(DIR, 'config.json')) ? false : `${DIR} is not there` }, async () => {
  const { model } = loadModel(DIR);
  const tok = loadTokenizer(DIR);
  const inner = new ModelGenerator(model, { temperature: 0, stopIds: model.info.eosIds });
  const calls: { ids: number[]; stopped: boolean }[] = [];
  const gen: TokenGenerator = {
    async *generate(p, o) {
      const c = { ids: [] as number[], stopped: false };
      calls.push(c);
      for await (const id of inner.generate(p, o)) {
        c.ids.push(id);
        c.stopped ||= o.stopIds.includes(id);
        yield id;
      }
    },
  };
  const switches = { ...ALL_OFF, innerThoughts: true, calculator: true, solver: true };
  const turn = await chatTurn([], 'What is 23*47?', { model: gen, tokenizer: tok, plugins: createPlugins(), switches, maxNewTokens: 64 });
  for (const [k, end] of [['Inner Thoughts', '<eot>'], ['Commands', '<eoc>'], ['Tool Responses', '<eor>'], ['MOSS', '<eom>']] as const) {
    assert.ok(turn[k]?.endsWith(`${end}\n`), `${k}: ${JSON.stringify(turn[k])}`);
  }
  // what the model itself wrote (the loop closes truncated fields, so check the raw output)
  assert.ok(wellFormed({ calls: calls.map((c) => ({ text: tok.decode(c.ids), stopped: c.stopped })) }), JSON.stringify(calls.map((c) => tok.decode(c.ids))));
  const cmds = parseCommands(fieldBody('Commands', turn.Commands!));
  assert.deepEqual(cmds.map((c) => c.name), ['Calculate'], JSON.stringify(turn));
  assert.ok(turn['Tool Responses']!.includes('=>'), turn['Tool Responses']);
});
