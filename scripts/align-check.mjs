/* global process */
/**
 * `node scripts/align-check.mjs --held <pairs.jsonl> [--policy <dir>...] [--steer <dir> [--pm <dir>]] [--n N] [--temperature T] [--seed S] [--tools N]`:
 * the end-to-end checks of docs/alignment.md on held-out pairs written by `moss data pairs` (lines
 * with `context` and `answer`): for each policy, the rate of sampled replies (temperature 0.7 by
 * default) whose number is not the plugin's answer; for a steer-trained model, the preference
 * model's mean score of its sampled replies per decoding tag 1..K (K from its
 * generation_config.json), which should rise with the tag; without `--pm` the score is the rule
 * judge's (1 if the reply states the plugin's number, else 0: `moss data pairs --reward`), a
 * perfect preference model for this preference. With `--tools N`, each policy also
 * answers N held-out calculator/solver prompts of `moss eval tools`' evaluation split (phrasings and
 * number ranges the training generator never uses, so never in the pairs) through the real plugin
 * loop at that temperature: `toolsWrongNumber` is the share of replies that do not repeat the
 * number the plugin returned, `toolsWrongAnswer` the share without the right final answer
 * (a wrong command included). Prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleReplies, wrongRate } from '../dist/src/eval/preference.js';
import { loadTokenizer } from '../dist/src/io/load-tokenizer.js';
import { loadModel } from '../dist/src/models/load.js';
import { renderCompletion } from '../dist/src/train/pairs.js';
import { loadRewardModel, scoreSeqs } from '../dist/src/train/reward-model.js';
import { evalTools } from '../dist/src/eval/tools.js';
import { ModelGenerator } from '../dist/src/generate/prefix-cache.js';

const args = process.argv.slice(2);
const all = (k) => args.flatMap((a, i) => (a === k ? [args[i + 1]] : []));
const one = (k, d) => all(k)[0] ?? d;
const n = Number(one('--n', '100'));
const temperature = Number(one('--temperature', '0.7'));
const seed = Number(one('--seed', '1'));
const tools = Number(one('--tools', '0'));
const held = readFileSync(one('--held'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).slice(0, n);
const contexts = held.map((p) => p.context);
const answers = held.map((p) => p.answer);
const out = { held: one('--held'), n: held.length, temperature, seed, wrongRate: {}, tools: tools || null, toolsWrongNumber: {}, toolsWrongAnswer: {}, steer: null };
const t0 = Date.now();
for (const dir of all('--policy')) {
  const { model } = loadModel(dir);
  const replies = await sampleReplies(model, loadTokenizer(dir), contexts, { temperature, seed });
  out.wrongRate[dir] = wrongRate(replies, answers);
  if (tools) {
    const generator = new ModelGenerator(model, { temperature, seed, topP: 1, topK: 0 });
    const r = await evalTools({ generator, tokenizer: loadTokenizer(dir), n: tools, seed: 1000, mix: { calc: 1, solve: 1, search: 0, image: 0, chat: 0 } });
    const share = (k, bad) => { const xs = r.items.filter((i) => i[k] !== null); return { wrong: xs.filter((i) => i[k] === bad).length, of: xs.length }; };
    out.toolsWrongNumber[dir] = share('repeatsResult', false);
    out.toolsWrongAnswer[dir] = share('rightAnswer', false);
    generator.dispose();
  }
  model.dispose();
}
const steer = one('--steer');
if (steer) {
  const pmDir = one('--pm');
  const K = JSON.parse(readFileSync(join(steer, 'generation_config.json'), 'utf8')).quality_tags;
  const { model } = loadModel(steer);
  const tok = loadTokenizer(steer);
  const pm = pmDir ? loadRewardModel(pmDir).model : null;
  const pad = tok.encode('<eom>', { special: 'allow' })[0];
  const perTag = [];
  for (let tag = 1; tag <= K; tag++) {
    const replies = await sampleReplies(model, tok, contexts, { temperature, seed, quality: { tag, of: K } });
    const wrong = wrongRate(replies, answers);
    const row = { tag, ruleScore: Math.round((1 - wrong) * 1e6) / 1e6, wrongRate: wrong, example: replies[0] };
    if (pm) {
      const seqs = replies.map((r, i) => renderCompletion({ context: contexts[i] }, r, tok, { context: 4096 }));
      const scores = scoreSeqs(pm, seqs, pad);
      row.pmScore = scores.reduce((s, v) => s + v, 0) / scores.length;
    }
    perTag.push(row);
  }
  const key = pm ? 'pmScore' : 'ruleScore';
  out.steer = { model: steer, pm: pmDir ?? 'rule judge', tags: K, perTag, monotone: perTag.every((t, i) => i === 0 || t[key] > perTag[i - 1][key]) };
  if (pm) pm.dispose();
}
out.seconds = Math.round((Date.now() - t0) / 1000);
process.stdout.write(`${JSON.stringify(out)}\n`);
