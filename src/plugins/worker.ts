/**
 * The plugin worker thread: builds MOSS's four plugins from the configuration in `workerData` and
 * runs one call at a time for ./pool.ts, answering `{id, ok, result}` or `{id, ok: false, code,
 * message}`. The pool terminates this thread when a call outlives its timeout, so a hostile
 * argument (a huge power, a degree-64 polynomial) costs this thread and never the server's event
 * loop. It runs at lower priority (Linux: nice 10 for this thread only), so a call burning
 * its CPU never outbids the HTTP thread for a core on a busy machine.
 * Deliberately nothing else: no state kept between calls besides the plugins themselves.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createPlugins, type PluginsConfig } from './index.js';
import { PluginError } from './types.js';

/** A call sent to the worker. */
export interface PluginCall {
  readonly id: number;
  readonly name: string;
  readonly args: string;
  readonly timeoutMs?: number;
}

const plugins = createPlugins((workerData ?? {}) as PluginsConfig);

try {
  // setpriority() on a thread id sets that thread alone (Linux); /proc/thread-self names it. Nice 10,
  // not 19: against one busy nice-0 thread (the model's) a call still gets about a tenth of a core
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) setPriority(tid, 10);
} catch {
  // no /proc (not Linux): ordinary priority
}

parentPort?.postMessage({ type: 'ready' });

parentPort?.on('message', (m: PluginCall) => {
  const plugin = plugins.get(m.name);
  const run = plugin ? plugin.run(m.args, { timeoutMs: m.timeoutMs }) : Promise.reject(new PluginError('unsupported', `unknown plugin ${m.name}`));
  run.then(
    (result) => parentPort?.postMessage({ id: m.id, ok: true, result }),
    (e: unknown) => parentPort?.postMessage({ id: m.id, ok: false, code: e instanceof PluginError ? e.code : 'invalid', message: e instanceof Error ? e.message : String(e) }),
  );
});
