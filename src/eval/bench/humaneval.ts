/**
 * HumanEval as lm-evaluation-harness's `humaneval_greedy` (lm_eval/tasks/humaneval/
 * humaneval-greedy.yaml) and OpenAI's human-eval: the raw `prompt`, generation until `\nclass`,
 * `\ndef`, `\n#`, `\nif` or `\nprint`, then `prompt + completion + "\n" + test + "\n" +
 * "check(entry_point)"` executed in ./sandbox.ts (3 s by default); pass@k unbiased (./metrics.ts).
 * Not here: sampling many completions per problem beyond `--samples`, instruct prompts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runPython, type RunResult, type SandboxOptions } from './sandbox.js';

export interface HumanEvalProblem {
  index: number;
  task_id: string;
  prompt: string;
  entry_point: string;
  canonical_solution: string;
  test: string;
}

export const HUMANEVAL_STOPS = ['\nclass', '\ndef', '\n#', '\nif', '\nprint'];

/** Reads HumanEval.jsonl.gz (or HumanEval.jsonl); a bad line is named. */
export function loadHumanEval(dir: string): HumanEvalProblem[] {
  const gz = join(dir, 'HumanEval.jsonl.gz');
  const plain = join(dir, 'HumanEval.jsonl');
  const file = existsSync(gz) ? gz : plain;
  if (!existsSync(file)) throw new Error(`${gz}: missing (HumanEval needs HumanEval.jsonl.gz)`);
  let text: string;
  try {
    text = file === gz ? gunzipSync(readFileSync(file)).toString('utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: not a gzip file (${(e as Error).message})`, { cause: e });
  }
  const out: HumanEvalProblem[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`, { cause: e });
    }
    for (const k of ['task_id', 'prompt', 'entry_point', 'canonical_solution', 'test']) {
      if (typeof r[k] !== 'string') throw new Error(`${file}:${i + 1}: field "${k}" missing or not a string`);
    }
    out.push({ index: out.length, task_id: r.task_id as string, prompt: r.prompt as string, entry_point: r.entry_point as string, canonical_solution: r.canonical_solution as string, test: r.test as string });
  });
  return out;
}

/** The program human-eval runs for one completion. */
export function humanEvalProgram(p: HumanEvalProblem, completion: string): string {
  return `${p.prompt}${completion}\n${p.test}\ncheck(${p.entry_point})`;
}

/** Checks completions (problem index, completion) with `parallel` sandboxes at a time, in order. */
export async function checkCompletions(
  problems: readonly HumanEvalProblem[],
  jobs: readonly { problem: number; completion: string }[],
  o: SandboxOptions & { parallel?: number; onDone?: (done: number) => void } = {},
): Promise<RunResult[]> {
  const out: RunResult[] = new Array<RunResult>(jobs.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await runPython(humanEvalProgram(problems[jobs[i].problem], jobs[i].completion), o);
      o.onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel ?? 2) }, worker));
  return out;
}
