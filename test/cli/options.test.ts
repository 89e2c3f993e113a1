/**
 * Engine switches at the edge (src/cli/options.ts): MOSS_* variables and flags become one typed
 * EngineOptions; a bad value is one clear line naming the variable or flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineFromEnv, engineFromFlags } from '../../src/cli/options.js';
import { mossSync } from './chat-helpers.js';

test('MOSS_* variables become typed engine switches; unset ones stay undefined', () => {
  assert.deepEqual(engineFromEnv({}), { backend: undefined, threads: undefined, mmap: undefined, repack: undefined, keepHalf: undefined, decodePlan: undefined, nativeDebug: undefined });
  const o = engineFromEnv({ MOSS_BACKEND: 'ref', MOSS_THREADS: '3', MOSS_NO_MMAP: '1', MOSS_QREPACK: '0', MOSS_WIDEN_HALF: '1', MOSS_DECODE_PLAN: '0', MOSS_NATIVE_DEBUG: '1' });
  assert.deepEqual(o, { backend: 'ref', threads: 3, mmap: false, repack: false, keepHalf: false, decodePlan: false, nativeDebug: true });
  assert.throws(() => engineFromEnv({ MOSS_BACKEND: 'cuda' }), /MOSS_BACKEND must be ref or native, got "cuda"/);
  assert.throws(() => engineFromEnv({ MOSS_THREADS: 'many' }), /MOSS_THREADS: "many"/);
  assert.deepEqual(engineFromFlags({ backend: 'native', threads: '2' }), { backend: 'native', threads: 2 });
  assert.throws(() => engineFromFlags({ threads: '0' }), /--threads: "0"/);
});

test('moss refuses a bad MOSS_BACKEND in one line', () => {
  const r = mossSync(['tokenize', '--help'], { env: { ...process.env, MOSS_BACKEND: 'gpu' } });
  assert.equal(r.code, 1);
  assert.equal(r.err, 'moss: MOSS_BACKEND must be ref or native, got "gpu"\n');
});
