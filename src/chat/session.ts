/**
 * A chat session's state for the REPL and the server: plugin switches, completed turns, and
 * save/load to JSON (atomic write), so `moss chat` stays a thin loop around `chatTurn`.
 * Deliberately no model or I/O beyond the JSON file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TurnFields } from './format.js';
import { ALL_OFF, metaInstruction, type PluginSwitches } from './meta.js';

export interface SessionState {
  readonly version: 1;
  switches: PluginSwitches;
  turns: TurnFields[];
}

export class Session {
  constructor(public state: SessionState = { version: 1, switches: { ...ALL_OFF }, turns: [] }) {}

  /** Turns a capability on or off. */
  set(name: keyof PluginSwitches, on: boolean): void {
    this.state.switches = { ...this.state.switches, [name]: on };
  }
  push(turn: TurnFields): void {
    this.state.turns.push(turn);
  }
  /** Forgets the conversation, keeps the switches. */
  clear(): void {
    this.state.turns = [];
  }
  /** The whole transcript in the MOSS format (meta instruction + turns). */
  transcript(): string {
    return metaInstruction(this.state.switches) + this.state.turns.map((t) => Object.values(t).join('')).join('');
  }
  save(path: string): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, path);
  }
  static load(path: string): Session {
    let s: SessionState;
    try {
      s = JSON.parse(readFileSync(path, 'utf8')) as SessionState;
    } catch (err) {
      throw new Error(`${path}: not a MOSS session file (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    if (s?.version !== 1 || !Array.isArray(s.turns) || typeof s.switches !== 'object') throw new Error(`${path}: not a MOSS session file`);
    return new Session({ version: 1, switches: { ...ALL_OFF, ...s.switches }, turns: s.turns });
  }
}
