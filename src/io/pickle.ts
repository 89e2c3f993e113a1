/**
 * A RESTRICTED unpickler: the opcodes of pickle protocols 2-4 that a PyTorch state dict needs,
 * and nothing that can run code. GLOBAL / STACK_GLOBAL resolve only names the caller allow-lists
 * (each mapped to a plain TypeScript function); any other global (os.system, posix.system,
 * builtins.eval, subprocess.Popen, ...) is refused right there, before any call could happen.
 * REDUCE only calls those allow-listed functions; INST/OBJ/NEWOBJ/EXT and text-protocol opcodes
 * are refused. Persistent ids go to the caller's `persistentLoad`.
 * Values: str -> string, int -> number (bigint beyond 2^53), float -> number, bytes -> Uint8Array,
 * tuple/list -> array, dict -> Map, None -> null. Follows CPython's Lib/pickle.py opcode table.
 */
import { fail } from './errors.js';
import { Cursor } from './cursor.js';

/** An allow-listed callable: receives the REDUCE argument tuple. */
export type PickleFn = (args: unknown[]) => unknown;

export interface PickleOptions {
  /** 'module.name' -> implementation. Nothing else can be referenced. */
  readonly globals: ReadonlyMap<string, PickleFn>;
  /** Handles BINPERSID (the popped persistent id). */
  readonly persistentLoad: (pid: unknown) => unknown;
  /** Handles BUILD (obj.__setstate__(state)); default: refuse. */
  readonly build?: (obj: unknown, state: unknown) => unknown;
}

/** A resolved allow-listed global on the stack. */
export class PickleGlobal {
  constructor(readonly qualname: string, readonly fn: PickleFn) {}
}

const MAX_MEMO = 1 << 24;

/** Unpickles `bytes`; `file` names the source in errors. */
export function unpickle(bytes: Uint8Array, file: string, opts: PickleOptions): unknown {
  const c = new Cursor(file, bytes);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const pop = (what: string): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail(file, 'pickle', `stack underflow at ${what}`);
    return stack.pop();
  };
  const top = (what: string): unknown => {
    if (stack.length === 0) fail(file, 'pickle', `empty stack at ${what}`);
    return stack[stack.length - 1];
  };
  const popMark = (what: string): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail(file, 'pickle', `${what} without MARK`);
    return stack.splice(m);
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    const q = `${module}.${name}`;
    const fn = opts.globals.get(q);
    if (!fn) fail(file, 'pickle global', `refusing '${q}': only tensor rebuild functions, storage types and OrderedDict are allowed (nothing in a checkpoint is executed)`);
    return new PickleGlobal(q, fn);
  };
  const setItems = (d: unknown, items: unknown[], what: string): void => {
    if (!(d instanceof Map)) fail(file, 'pickle', `${what} on a non-dict`);
    if (items.length % 2) fail(file, 'pickle', `${what} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) d.set(key(items[i], what), items[i + 1]);
  };
  const key = (k: unknown, what: string): unknown => {
    if (typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) return k;
    if (Array.isArray(k)) return JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    return fail(file, 'pickle', `${what}: unsupported dict key type`);
  };
  const line = (what: string): string => {
    const start = c.pos;
    const nl = c.bytes.indexOf(0x0a, start);
    if (nl < 0 || nl - start > 1024) fail(file, 'pickle', `${what}: unterminated line`);
    const s = c.utf8(nl - start, what);
    c.pos = nl + 1;
    return s;
  };

  for (;;) {
    const at = c.pos;
    const op = c.u8('pickle opcode');
    switch (op) {
      case 0x80: { // PROTO
        const v = c.u8('pickle protocol');
        if (v < 2 || v > 5) fail(file, 'pickle protocol', `protocol ${v} is not supported`);
        break;
      }
      case 0x95: c.u64('pickle frame length'); break; // FRAME: a size hint only
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail(file, 'pickle', `STOP with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark('TUPLE')); break; // TUPLE
      case 0x85: stack.push([pop('TUPLE1')]); break;
      case 0x86: { const b = pop('TUPLE2'); const a = pop('TUPLE2'); stack.push([a, b]); break; }
      case 0x87: { const z = pop('TUPLE3'); const b = pop('TUPLE3'); const a = pop('TUPLE3'); stack.push([a, b, z]); break; }
      case 0x6c: stack.push(popMark('LIST')); break; // LIST
      case 0x64: { const d = new Map(); setItems(d, popMark('DICT'), 'DICT'); stack.push(d); break; }
      case 0x61: { const v = pop('APPEND'); const l = top('APPEND'); if (!Array.isArray(l)) fail(file, 'pickle', 'APPEND to a non-list'); l.push(v); break; }
      case 0x65: { const items = popMark('APPENDS'); const l = top('APPENDS'); if (!Array.isArray(l)) fail(file, 'pickle', 'APPENDS to a non-list'); for (const v of items) l.push(v); break; }
      case 0x73: { const v = pop('SETITEM'); const k = pop('SETITEM'); setItems(top('SETITEM'), [k, v], 'SETITEM'); break; }
      case 0x75: { const items = popMark('SETITEMS'); setItems(top('SETITEMS'), items, 'SETITEMS'); break; }
      case 0x71: memo.set(c.u8('pickle BINPUT'), top('BINPUT')); break;
      case 0x72: memo.set(c.u32('pickle LONG_BINPUT'), top('LONG_BINPUT')); break;
      case 0x94: { if (memo.size >= MAX_MEMO) fail(file, 'pickle', 'memo too large'); memo.set(memo.size, top('MEMOIZE')); break; }
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? c.u8('pickle BINGET') : c.u32('pickle LONG_BINGET');
        if (!memo.has(i)) fail(file, 'pickle', `memo key ${i} not found`);
        stack.push(memo.get(i));
        break;
      }
      case 0x4a: stack.push(c.i32('pickle BININT')); break;
      case 0x4b: stack.push(c.u8('pickle BININT1')); break;
      case 0x4d: stack.push(c.u16('pickle BININT2')); break;
      case 0x8a: { // LONG1
        const n = c.u8('pickle LONG1 length');
        const b = c.take(n, 'pickle LONG1');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { // BINFLOAT (big-endian f64)
        const b = c.take(8, 'pickle BINFLOAT');
        stack.push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
        break;
      }
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x58: stack.push(c.utf8(c.u32('pickle BINUNICODE length'), 'pickle BINUNICODE')); break;
      case 0x8c: stack.push(c.utf8(c.u8('pickle SHORT_BINUNICODE length'), 'pickle SHORT_BINUNICODE')); break;
      case 0x8d: stack.push(c.utf8(c.u64('pickle BINUNICODE8 length'), 'pickle BINUNICODE8')); break;
      case 0x55: stack.push(latin1(c.take(c.u8('pickle SHORT_BINSTRING length'), 'pickle SHORT_BINSTRING'))); break;
      case 0x54: stack.push(latin1(c.take(c.u32('pickle BINSTRING length'), 'pickle BINSTRING'))); break;
      case 0x43: stack.push(c.take(c.u8('pickle SHORT_BINBYTES length'), 'pickle SHORT_BINBYTES').slice()); break;
      case 0x42: stack.push(c.take(c.u32('pickle BINBYTES length'), 'pickle BINBYTES').slice()); break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line('pickle GLOBAL module');
        stack.push(resolve(module, line('pickle GLOBAL name')));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop('STACK_GLOBAL');
        const module = pop('STACK_GLOBAL');
        if (typeof module !== 'string' || typeof name !== 'string') fail(file, 'pickle', 'STACK_GLOBAL needs two strings');
        stack.push(resolve(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop('REDUCE');
        const fn = pop('REDUCE');
        if (!(fn instanceof PickleGlobal)) fail(file, 'pickle', `REDUCE on a value that is not an allow-listed callable (at byte ${at})`);
        if (!Array.isArray(args)) fail(file, 'pickle', `REDUCE of '${fn.qualname}' without an argument tuple`);
        stack.push(fn.fn(args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop('BUILD');
        const obj = pop('BUILD');
        if (!opts.build) fail(file, 'pickle', 'BUILD is not allowed here');
        stack.push(opts.build(obj, state));
        break;
      }
      case 0x51: stack.push(opts.persistentLoad(pop('BINPERSID'))); break; // BINPERSID
      case 0x30: pop('POP'); break;
      case 0x31: popMark('POP_MARK'); break;
      case 0x32: stack.push(top('DUP')); break;
      default:
        fail(file, 'pickle', `opcode 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))}) at byte ${at} is not allowed in a state dict`);
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}
