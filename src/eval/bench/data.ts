/**
 * Reading the multiple-choice benchmarks of ../shared/bench (formats: their SOURCE.md files):
 * MMLU (converted CSV `question,choice0..3,answer` with answer 0-3), C-Eval (`id,question,A..D,
 * answer[,explanation]`, val scored, dev for shots) and CMMLU (`,Question,A..D,Answer`). Every
 * file is checked (header, field count, answer) and a bad one is named with its line. Subjects come
 * in sorted order, rows in file order, so runs are deterministic.
 * Not here: prompts (./prompts.ts), GSM8K / HumanEval (./gsm8k.ts, ./humaneval.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from './csv.js';
import { CEVAL_ZH, CMMLU_ZH, MMLU_GROUPS } from './subjects.js';

export type McBenchName = 'mmlu' | 'ceval' | 'cmmlu';

export interface McDoc {
  subject: string;
  /** Row in the test file, from 0. */
  index: number;
  question: string;
  choices: string[];
  /** 0..3 */
  answer: number;
}

export interface McSubject {
  name: string;
  /** The name the harness puts in the description (MMLU: underscores as spaces; CMMLU / C-Eval: Chinese). */
  title: string;
  /** Group for the per-category averages ('' when the benchmark has none here). */
  category: string;
  test: McDoc[];
  dev: McDoc[];
}

interface Layout {
  testDir: string;
  file: (subject: string, split: 'test' | 'dev') => string;
  header: (split: 'test' | 'dev') => string[];
  row: (f: string[]) => { question: string; choices: string[]; answer: string };
  letters: boolean;
}

const LAYOUTS: Record<McBenchName, Layout> = {
  mmlu: {
    testDir: 'test',
    file: (s, split) => `${split}/${s}_${split}.csv`,
    header: () => ['question', 'choice0', 'choice1', 'choice2', 'choice3', 'answer'],
    row: (f) => ({ question: f[0], choices: f.slice(1, 5), answer: f[5] }),
    letters: false,
  },
  ceval: {
    testDir: 'val',
    file: (s, split) => (split === 'test' ? `val/${s}_val.csv` : `dev/${s}_dev.csv`),
    header: (split) => ['id', 'question', 'A', 'B', 'C', 'D', 'answer', ...(split === 'dev' ? ['explanation'] : [])],
    row: (f) => ({ question: f[1], choices: f.slice(2, 6), answer: f[6] }),
    letters: true,
  },
  cmmlu: {
    testDir: 'test',
    file: (s, split) => `${split}/${s}.csv`,
    header: () => ['', 'Question', 'A', 'B', 'C', 'D', 'Answer'],
    row: (f) => ({ question: f[1], choices: f.slice(2, 6), answer: f[6] }),
    letters: true,
  },
};

/** Subject names present in a bench folder (sorted). */
export function listSubjects(bench: McBenchName, dir: string): string[] {
  const l = LAYOUTS[bench];
  const d = join(dir, l.testDir);
  if (!existsSync(d)) throw new Error(`${d}: no such folder (is --bench-dir the folder holding mmlu/, ceval/, cmmlu/?)`);
  const suffix = bench === 'mmlu' ? '_test.csv' : bench === 'ceval' ? '_val.csv' : '.csv';
  return readdirSync(d).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length)).sort();
}

function readSplit(bench: McBenchName, dir: string, subject: string, split: 'test' | 'dev'): McDoc[] {
  const l = LAYOUTS[bench];
  const file = join(dir, l.file(subject, split));
  if (!existsSync(file)) throw new Error(`${file}: missing (${bench} subject ${subject} needs its ${split === 'test' ? l.testDir : 'dev'} file)`);
  const rows = parseCsv(readFileSync(file, 'utf8'), file);
  const want = l.header(split);
  if (!rows.length) throw new Error(`${file}:1: empty file (expected the header ${want.join(',')})`);
  const head = rows[0].fields;
  if (head.length !== want.length || head.some((h, i) => h !== want[i])) throw new Error(`${file}:${rows[0].line}: header is "${head.join(',')}", expected "${want.join(',')}"`);
  return rows.slice(1).map((r, index) => {
    if (r.fields.length !== want.length) throw new Error(`${file}:${r.line}: ${r.fields.length} fields, expected ${want.length} (${want.join(',')})`);
    const { question, choices, answer } = l.row(r.fields);
    const a = l.letters ? 'ABCD'.indexOf(answer) : /^[0-3]$/.test(answer) ? Number(answer) : -1;
    if (a < 0 || answer.length !== 1) throw new Error(`${file}:${r.line}: answer "${answer}" is not ${l.letters ? 'one of A, B, C, D' : 'one of 0, 1, 2, 3'}`);
    return { subject, index, question, choices, answer: a };
  });
}

function readCevalCategories(dir: string): Record<string, string> {
  const file = join(dir, 'subject_mapping.json');
  if (!existsSync(file)) return {};
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) if (Array.isArray(v) && typeof v[2] === 'string') out[k] = v[2];
  out.clinical_medicine ??= 'Other'; // upstream's entry lacks its category (SOURCE.md)
  return out;
}

/**
 * Loads subjects of one benchmark from `dir` (e.g. ../shared/bench/mmlu). `subjects` picks some
 * (an unknown name fails with the list of valid ones).
 */
export function loadMc(bench: McBenchName, dir: string, subjects?: readonly string[]): McSubject[] {
  const all = listSubjects(bench, dir);
  if (!all.length) throw new Error(`${join(dir, LAYOUTS[bench].testDir)}: no ${bench} subject files`);
  const pick = subjects?.length ? [...new Set(subjects)] : all;
  const bad = pick.filter((s) => !all.includes(s));
  if (bad.length) throw new Error(`--subjects: no ${bench} subject ${bad.map((b) => `"${b}"`).join(', ')}; valid: ${all.join(', ')}`);
  const cats = bench === 'ceval' ? readCevalCategories(dir) : {};
  return [...pick].sort().map((name) => {
    const title = bench === 'mmlu' ? name.split('_').join(' ') : (bench === 'cmmlu' ? CMMLU_ZH : CEVAL_ZH)[name];
    if (title === undefined) throw new Error(`${dir}: ${bench} subject "${name}" has no Chinese name in the harness's table`);
    const category = bench === 'mmlu' ? (MMLU_GROUPS[name] ?? 'other') : bench === 'ceval' ? (cats[name] ?? '') : '';
    return { name, title, category, test: readSplit(bench, dir, name, 'test'), dev: readSplit(bench, dir, name, 'dev') };
  });
}
