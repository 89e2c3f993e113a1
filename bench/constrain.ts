/**
 * `npm run bench -- constrain [--tokens N] [--reps R] [--no-big] [--json]`: what constrained decoding costs.
 *  1. moss-tiny decode tokens/s through the one generation step (src/generate generateAll, same
 *     prompt, seed and sampling), unconstrained vs a JSON-schema grammar — cold (a fresh matcher:
 *     every state's mask built during the run) and warm (the matcher cache of a server that saw the
 *     schema before). Runs alternate, median of R; the target is constrained >= 90% of unconstrained.
 *  2. The mask on a large real vocabulary (Qwen2, 151k tokens, from ../shared when present): time
 *     to build one state's mask (a trie walk) and to apply a cached mask to a row of logits.
 * Deliberately not: quality of the constrained output (tests/generate/constrain.test.ts checks validity).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrammarConstraint, GrammarMatcher, jsonGrammar, MatcherCache, TokenTrie, vocabBytes } from '../src/generate/constrain/index.js';
import { generateAll, type GenerationStats } from '../src/generate/index.js';
import { loadTokenizer } from '../src/io/load-tokenizer.js';
import { loadModel } from '../src/models/load.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

/** Long output by construction: at least 40 objects, each a few keys of bounded values. */
const SCHEMA = {
  type: 'array', minItems: 40,
  items: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string', maxLength: 12 }, ok: { type: 'boolean' }, kind: { enum: ['a', 'b', 'c'] } }, required: ['id', 'name', 'ok', 'kind'] },
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function main(args: string[]): Promise<void> {
  const flag = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const N = flag('tokens', 160);
  const reps = flag('reps', 5);
  const json = args.includes('--json');
  const dir = join(repo, 'models', 'moss-tiny');
  const tok = loadTokenizer(dir);
  const { model } = loadModel(dir);
  const eos = tok.eosId!;
  const trie = new TokenTrie(vocabBytes(tok));
  const grammar = jsonGrammar(SCHEMA, [eos]);
  const warm = new MatcherCache(trie);
  const prompt = tok.encode('<|Human|>: list some records as JSON<eoh>\n<|MOSS|>:', { special: 'allow' });
  const run = async (mode: 'none' | 'cold' | 'warm'): Promise<GenerationStats> => {
    const constraint = mode === 'none' ? undefined : mode === 'cold' ? () => new GrammarConstraint(new GrammarMatcher(grammar, trie)) : () => warm.constraint(grammar);
    return (await generateAll(model, [prompt], { maxNewTokens: N, temperature: 1, seed: 7, stopIds: mode === 'none' ? [] : [eos], constraint })).stats;
  };
  await run('none'); // warm-up (decode plan, caches)
  await run('warm');
  const tps: Record<string, number[]> = { none: [], cold: [], warm: [] };
  for (let r = 0; r < reps; r++) {
    for (const mode of ['none', 'cold', 'warm'] as const) {
      const s = await run(mode);
      tps[mode].push(s.decodeSteps / (s.decodeMs / 1000));
    }
  }
  const load = loadavg()[0];
  const rows = (['none', 'cold', 'warm'] as const).map((m) => ({ mode: m, decodeTps: median(tps[m]), ratio: median(tps[m]) / median(tps.none) }));
  process.stdout.write(`constrained decode, moss-tiny, ${N} tokens, median of ${reps} (load ${load.toFixed(1)})\n`);
  process.stdout.write('mode                      decode tok/s   vs unconstrained\n');
  const names = { none: 'unconstrained', cold: 'schema, cold matcher', warm: 'schema, warm matcher' };
  for (const r of rows) process.stdout.write(`${names[r.mode].padEnd(26)}${r.decodeTps.toFixed(1).padStart(12)}   ${(r.ratio * 100).toFixed(1)}%\n`);

  // --- the mask on a large vocabulary ---
  const qwen = join(repo, '..', 'shared', 'tokenizers', 'hf', 'qwen2', 'tokenizer.json');
  let big: Record<string, number> | null = null;
  if (existsSync(qwen) && !args.includes('--no-big')) {
    const qt = loadTokenizer(qwen);
    let t0 = performance.now();
    const qtrie = new TokenTrie(vocabBytes(qt));
    const trieMs = performance.now() - t0;
    const m = new GrammarMatcher(jsonGrammar(SCHEMA, [qt.eosId ?? qtrie.vocab.special[0]]), qtrie);
    const c = new GrammarConstraint(m);
    for (const s of ['[{"id": 1, "name": "']) for (const b of new TextEncoder().encode(s)) c.state = m.dfa.next(c.state, b);
    t0 = performance.now();
    const allowed = m.allowed(c.state); // inside a string: nearly every token is viable, the worst case
    const buildMs = performance.now() - t0;
    const logits = new Float32Array(qt.vocabSize).map(() => Math.random());
    const row = new Float32Array(logits.length);
    let applyMs = 0;
    for (let i = 0; i < 50; i++) {
      row.set(logits);
      t0 = performance.now();
      c.mask(row);
      applyMs += (performance.now() - t0) / 50;
    }
    big = { vocab: qt.vocabSize, trieNodes: qtrie.first.length, trieMs, stringStateMaskMs: buildMs, allowed: allowed.reduce((a, b) => a + b, 0), applyMaskMs: applyMs };
    process.stdout.write(`\nQwen2 vocabulary (${qt.vocabSize} tokens, ${qtrie.first.length} trie nodes, trie built in ${trieMs.toFixed(0)} ms): ` +
      `a string-body state's mask built in ${buildMs.toFixed(1)} ms (${big.allowed} tokens allowed), once per state; a cached mask applied in ${applyMs.toFixed(2)} ms per token\n`);
  }
  const out = { tokens: N, reps, load, rows, bigVocab: big };
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  writeFileSync(join(repo, 'bench/results/constrain.json'), JSON.stringify(out, null, 2));
}
