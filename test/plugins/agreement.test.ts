/**
 * Agreement of our Calculator and Solver with every Calculate/Solve result recorded in MOSS's SFT
 * data (moss-sft + heldout), counting only recorded results that an independent reference judged
 * right (dev/plugin_reference.py: mpmath 50 digits / SymPy → test/fixtures/plugins/reference.json,
 * keyed by sha1 so no data text is stored). Prints the figures; target ≥ 95%.
 * Agreement: both fail, or both succeed with values equal to 1e-9 relative (solver: same unknowns,
 * same set of values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculate } from '../../src/plugins/calculator.js';
import { solve } from '../../src/plugins/solver.js';
import { HAVE_SHARED, SKIP_MSG, sftLines } from '../chat/shared.js';

const FIX = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/plugins/reference.json');
const FAIL = new Set(["'No result.'", 'No result.', 'No calculation results.']);

/** Parses `a`, `a/b`, `a + b*I`, `2*sqrt(6)` … numerically (complex as [re, im]); undefined if not a number. */
function numeric(s: string): [number, number] | undefined {
  const t = s.trim().replace(/^'|'$/g, '');
  const m = /^(-?[\d.e+-]+(?:\/\d+)?)?\s*([+-])?\s*([\d.e+-]*)\*?I$/.exec(t);
  const val = (x: string): number => {
    const sq = /^(-?)(?:([\d./]+)\*)?sqrt\((\d+)\)(?:\/(\d+))?$/.exec(x);
    if (sq) return (sq[1] ? -1 : 1) * (sq[2] ? Number(eval2(sq[2])) : 1) * Math.sqrt(Number(sq[3])) / (sq[4] ? Number(sq[4]) : 1);
    return eval2(x);
  };
  const eval2 = (x: string): number => (x.includes('/') ? Number(x.split('/')[0]) / Number(x.split('/')[1]) : Number(x));
  if (m && t.includes('I')) return [m[1] ? eval2(m[1]) : 0, (m[2] === '-' ? -1 : 1) * (m[3] ? Number(m[3]) : 1)];
  const surd = /^(.*?)\s+([+-])\s+(.*sqrt.*)$/.exec(t);
  if (surd) return [eval2(surd[1]) + (surd[2] === '-' ? -1 : 1) * val(surd[3]), 0];
  const v = val(t);
  return Number.isFinite(v) ? [v, 0] : undefined;
}
const close = (a: [number, number], b: [number, number]): boolean => Math.hypot(a[0] - b[0], a[1] - b[1]) <= 1e-9 * Math.max(1, Math.hypot(...b));

test('Calculator and Solver agree with the right recorded results (≥ 95%)', { skip: !HAVE_SHARED && SKIP_MSG }, () => {
  const ref = (JSON.parse(readFileSync(FIX, 'utf8')) as { entries: Record<string, { right: boolean }> }).entries;
  const stats = { Calculate: { all: 0, right: 0, agree: 0 }, Solve: { all: 0, right: 0, agree: 0 } };
  const misses: string[] = [];
  for (const { json } of sftLines()) {
    for (const t of Object.values((json as { chat: Record<string, Record<string, string>> }).chat)) {
      const r = t['Tool Responses'];
      const items: ['Calculate' | 'Solve', string, string][] = [];
      for (const m of r.matchAll(/\nCalculate\("(.*?)"\) => (.*)\n/g)) items.push(['Calculate', m[1], m[2]]);
      for (const m of r.matchAll(/\nSolve\("(.*?)"\) =>\n((?:(?!Solve\(|Calculate\(|Search\(|<eor>).*\n)*)/g)) items.push(['Solve', m[1], m[2].trim()]);
      for (const [tool, arg, recorded] of items) {
        const s = stats[tool];
        s.all++;
        const e = ref[createHash('sha1').update(`${tool}\0${arg}`).digest('hex')];
        assert.ok(e, `no reference for ${tool}(${arg}): rerun dev/plugin_reference.py`);
        if (!e.right) continue;
        s.right++;
        let mine: string[] | undefined;
        try { mine = tool === 'Calculate' ? [calculate(arg, { timeoutMs: 2000 })] : solve(arg, { timeoutMs: 2000 }); } catch { mine = undefined; }
        const recFail = FAIL.has(recorded);
        let ok: boolean;
        if (!mine || recFail) ok = !mine && recFail;
        else if (tool === 'Calculate') ok = close(numeric(mine[0])!, numeric(recorded)!);
        else {
          const parse = (lines: string[]) => lines.map((l) => l.split(' = ')).map(([k, v]) => [k.replace(/_\d+$/, ''), numeric(v)] as const);
          const a = parse(mine); const b = parse(recorded.split('\n'));
          ok = a.length === b.length && b.every(([k, v]) => v !== undefined && a.some(([k2, v2]) => k2 === k && v2 !== undefined && close(v2, v)));
        }
        if (ok) s.agree++; else misses.push(`${tool}(${arg}) recorded ${JSON.stringify(recorded)} mine ${JSON.stringify(mine ?? 'failure')}`);
      }
    }
  }
  for (const [tool, s] of Object.entries(stats)) {
    console.log(`# ${tool}: ${s.all} recorded, ${s.right} judged right, ${s.agree} agree = ${((100 * s.agree) / s.right).toFixed(1)}%`);
  }
  for (const m of misses) console.log(`# miss: ${m}`);
  const agree = stats.Calculate.agree + stats.Solve.agree;
  const right = stats.Calculate.right + stats.Solve.right;
  console.log(`# total agreement ${agree}/${right} = ${((100 * agree) / right).toFixed(1)}%`);
  assert.ok(agree / right >= 0.95, `agreement ${agree}/${right}`);
});
