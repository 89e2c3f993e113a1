/**
 * Layering rule of DESIGN.md §1: imports under src/ point down only. Parses every import in
 * src/ and fails on one that reaches a higher (or unknown) layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Layer rank per top-level folder of src/; a folder may import its own rank or lower. */
const RANK: Record<string, number> = {
  util: 0,
  tokenizer: 0,
  backends: 1,
  tensor: 2,
  nn: 3,
  io: 4,
  models: 5,
  generate: 6,
  plugins: 6,
  chat: 7,
  data: 8,
  train: 8,
  eval: 8,
  serve: 8,
  cli: 9,
};
// io and tokenizer never import above tensor (DESIGN.md §1, §4).
const CEILING: Record<string, number> = { tokenizer: 0, util: 0, io: 4, plugins: 6 };
const FORBIDDEN: Record<string, string[]> = { tokenizer: ['backends', 'tensor', 'nn', 'io'], plugins: ['tensor', 'nn', 'models', 'generate'] };

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('imports under src/ point down the layers', () => {
  const bad: string[] = [];
  for (const file of walk(root)) {
    const from = relative(root, file).split('/')[0];
    if (from.endsWith('.ts')) continue;
    const rank = RANK[from];
    if (rank === undefined) {
      bad.push(`${relative(root, file)}: folder src/${from} has no layer in test/layers.test.ts`);
      continue;
    }
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec)).split('/')[0];
      const trank = RANK[target];
      const ceiling = CEILING[from] ?? rank;
      if (trank === undefined || trank > Math.min(rank, ceiling) || (FORBIDDEN[from] ?? []).includes(target)) {
        bad.push(`${relative(root, file)} imports ${spec} (layer ${target})`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

// Options at the edge (DESIGN.md §1, issue 12 item 5): flags and environment are read where the
// program starts (src/cli, src/serve) and passed down as a typed object (src/backends/options.ts).
test('no process.env below src/cli and src/serve', () => {
  const bad: string[] = [];
  for (const file of walk(root)) {
    const rel = relative(root, file);
    if (rel.startsWith('cli/') || rel.startsWith('serve/')) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (line.includes('process.env')) bad.push(`src/${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, [], 'library code reads no environment: resolve it in src/cli/options.ts and pass an EngineOptions down');
});

// One folder per model family (issue 12 item 4): src/models/moss/ and src/models/llama/ each hold
// their family's config, names, conversion, init and defaults, and neither imports the other; code
// shared by families lives in src/models/ itself.
test('model family folders do not import each other', () => {
  const bad: string[] = [];
  const families = readdirSync(join(root, 'models')).filter((e) => statSync(join(root, 'models', e)).isDirectory());
  for (const fam of families) {
    for (const file of walk(join(root, 'models', fam))) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2];
        if (!spec.startsWith('.')) continue;
        const parts = relative(join(root, 'models'), resolve(dirname(file), spec)).split('/');
        if (parts.length > 1 && parts[0] !== fam && families.includes(parts[0])) bad.push(`${relative(root, file)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});
