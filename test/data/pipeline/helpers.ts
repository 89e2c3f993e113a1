/**
 * Helpers for the pipeline command tests: run `bin/moss.js` as a child process without blocking
 * the event loop (the scripted servers live in the test process), temp folders, seed files, and
 * the scripted answers of a chat endpoint that plays assistant, simulated user and tool caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../models/helpers.js';
import { defaultAnswer, type Answer, type ReqBody } from './fault-server.js';

export { ROOT };
export const MOSS_BIN = join(ROOT, 'bin', 'moss.js');
export const TINY = join(ROOT, 'models', 'moss-tiny');

export function tmp(prefix = 'moss-pipe-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Starts `moss <args>`; `done` resolves when it exits. */
export function startMoss(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Ran> } {
  const child = spawn(process.execPath, [MOSS_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<Ran>((res) => child.on('close', (code, signal) => res({ code, signal, out, err })));
  return { child, done };
}

export function runMoss(args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
  return startMoss(args, env).done;
}

/** The last JSON object printed on stdout (the summary). */
export function summaryOf(r: Ran): Record<string, unknown> {
  const i = r.out.indexOf('{');
  if (i < 0) throw new Error(`no JSON summary in stdout: ${r.out}\nstderr: ${r.err}`);
  return JSON.parse(r.out.slice(i)) as Record<string, unknown>;
}

/** A seed file: MOSS `user_prompt` lines, a few tool prompts, one bad line (line 4), one repeated seed. */
export function writeSeeds(dir: string, n = 24): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 3) lines.push('{"user_prompt": ');
    if (i % 6 === 5) lines.push(JSON.stringify({ user_prompt: `What is ${i}*${i + 3}+${i * 2}?`, category: 'tool' }));
    else lines.push(JSON.stringify({ user_prompt: `Seed question number ${i} about topic ${['rivers', 'code', 'poems', 'cooking'][i % 4]}`, category: ['helpful_writing', 'helpful_code', 'harmless', 'honest'][i % 4] }));
  }
  lines.push(lines[0]);
  const p = join(dir, 'seeds.jsonl');
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

/** Scripted endpoint behaviour: tool calls for arithmetic when tools are offered, answers from tool results, user turns. */
export function scriptedAnswer(b: ReqBody): Answer {
  const last = b.messages[b.messages.length - 1];
  if (last.role === 'tool') return `The result is ${last.content}.`;
  if (b.messages[0]?.content.includes('role-playing a human user')) return `[User]: ${defaultAnswer(b).replace('Answer', 'Please tell me more about')}`;
  const m = last.content.match(/What is ([\d*+\-/() ]+)\?/);
  if (m && b.tools?.some((t) => t.function.name === 'Calculate')) return { toolCall: { name: 'Calculate', arguments: { expression: m[1] } } };
  return defaultAnswer(b);
}

/** Asserts two JSONL texts are equal, naming the first differing line instead of dumping both. */
export function sameLines(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const i = a.findIndex((l, k) => l !== e[k]);
  throw new Error(`${what}: ${a.length - 1} lines vs ${e.length - 1} expected; first difference at line ${i + 1}:\n  got      ${a[i]?.slice(0, 300)}\n  expected ${e[i]?.slice(0, 300)}`);
}
