/**
 * Runs one untrusted Python program (a HumanEval candidate with its tests) and says whether it
 * exited 0 in time. Layers, since none alone is a sandbox (OpenAI's reliability_guard says so of
 * itself): a fresh temporary directory as cwd, `python3 -I` (no site, no env paths), rlimits set
 * before the program runs (address space, CPU seconds, file size, open files, processes; hard
 * limits too, and inside a user namespace so they cannot be raised back), the guard's disabling of
 * fork/exec/kill/file removal, a new network namespace and PID namespace via `unshare` where the
 * system allows (probed once; a report says which), and a SIGKILL of the whole process group at
 * the timeout. Output is capped.
 * Not here: what to run (./humaneval.ts), containers, seccomp.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SandboxOptions {
  /** Wall-clock seconds before the hard kill (the harness uses 3.0). */
  timeout?: number;
  /** Address-space limit in bytes (default 1 GiB). */
  memory?: number;
  /** Python interpreter (default /usr/bin/python3 when present: a pyenv shim on PATH costs seconds per start). */
  python?: string;
}

export interface RunResult {
  passed: boolean;
  /** 'passed', 'failed', 'timed out', or the error line. */
  result: string;
  seconds: number;
}

/** Sets limits, disables process and file-system escape hatches, then runs prog.py as __main__. */
const RUNNER = (o: { cpu: number; mem: number }): string => `
import resource, sys
def lim(r, v):
    try: resource.setrlimit(r, (v, v))
    except (ValueError, OSError): pass
lim(resource.RLIMIT_AS, ${o.mem}); lim(resource.RLIMIT_DATA, ${o.mem})
lim(resource.RLIMIT_CPU, ${o.cpu}); lim(resource.RLIMIT_FSIZE, 1 << 24)
lim(resource.RLIMIT_NPROC, 1); lim(resource.RLIMIT_CORE, 0)
src = open('prog.py', encoding='utf-8').read()
import builtins, os, shutil, subprocess, socket
for name in ('fork', 'forkpty', 'system', 'kill', 'killpg', 'putenv', 'remove', 'removedirs', 'rmdir', 'unlink', 'rename', 'renames', 'truncate', 'replace', 'fchdir', 'setuid', 'chmod', 'chown', 'execv', 'execve', 'execvp', 'execl', 'spawnv', 'spawnve', 'posix_spawn', 'posix_spawnp', 'popen'):
    setattr(os, name, None)
shutil.rmtree = None; shutil.move = None; shutil.chown = None
subprocess.Popen = None
socket.socket = None
sys.modules['ipdb'] = None; sys.modules['joblib'] = None; sys.modules['resource'] = None; sys.modules['psutil'] = None; sys.modules['tkinter'] = None
g = {'__name__': '__main__', '__builtins__': builtins}
exec(compile(src, 'prog.py', 'exec'), g)
`;

/** The system interpreter when present, else python3 from PATH. */
export function defaultPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

let isolation: string[] | null = null;
let isolationName = '';

/** The unshare prefix this system allows (probed once): net + pid namespaces, net only, or none. */
export function sandboxIsolation(): { prefix: string[]; name: string } {
  if (isolation === null) {
    const tries: [string[], string][] = [
      [['unshare', '--user', '--map-root-user', '--net', '--pid', '--fork', '--kill-child'], 'user+net+pid namespaces'],
      [['unshare', '--user', '--map-root-user', '--net'], 'user+net namespaces'],
      [['unshare', '--net'], 'net namespace'],
    ];
    isolation = [];
    isolationName = 'none (unshare unavailable: network not isolated)';
    for (const [p, name] of tries) {
      const r = spawnSync(p[0], [...p.slice(1), 'true'], { stdio: 'ignore', timeout: 5000 });
      if (r.status === 0) {
        isolation = p;
        isolationName = name;
        break;
      }
    }
  }
  return { prefix: isolation, name: isolationName };
}

/** Runs `program` (Python source) in the sandbox. */
export function runPython(program: string, o: SandboxOptions = {}): Promise<RunResult> {
  const timeout = o.timeout ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'moss-exec-'));
  writeFileSync(join(dir, 'prog.py'), program);
  writeFileSync(join(dir, 'run.py'), RUNNER({ cpu: Math.ceil(timeout) + 1, mem: o.memory ?? 2 ** 30 }));
  const { prefix } = sandboxIsolation();
  const argv = [...prefix, o.python ?? defaultPython(), '-I', 'run.py'];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' } }); // nothing of our environment leaks in
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString('utf8');
    });
    let timedOut = false;
    const kill = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeout * 1000);
    let finished = false;
    const done = (code: number | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      kill(); // anything the program left behind in its group
      rmSync(dir, { recursive: true, force: true });
      const seconds = (performance.now() - t0) / 1000;
      if (timedOut) return resolve({ passed: false, result: 'timed out', seconds });
      if (code === 0) return resolve({ passed: true, result: 'passed', seconds });
      const last = err.trim().split('\n').at(-1) ?? '';
      resolve({ passed: false, result: `failed: ${last || `exit ${code}`}`.slice(0, 300), seconds });
    };
    child.on('error', () => done(-1));
    child.on('close', (code) => done(code));
  });
}
