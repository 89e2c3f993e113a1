/**
 * `moss pull <org/name>[@revision]`: downloads a model repo from the Hugging Face Hub into its
 * cache (huggingface_hub's layout, shared with Python tools) and prints the snapshot folder on
 * stdout, ready for `--model`. Progress goes to stderr. Not here: uploads, login, cache cleanup.
 */
import type { Command } from 'commander';
import { HubError, formatBytes, parseRepoSpec, pull, selectGlobs } from '../io/hub/index.js';
import { number } from './flags.js';
import { hubOptionsFromEnv, pullProgress } from './hub.js';

interface Flags {
  include: string[];
  exclude: string[];
  revision?: string;
  concurrency?: string;
  quiet?: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

export function register(program: Command): void {
  program
    .command('pull')
    .description('download a model from the Hugging Face Hub into its cache (HF_HOME / HF_HUB_CACHE); prints the folder')
    .argument('<repo>', 'org/name or org/name@revision (branch, tag or commit)')
    .option('--include <glob>', 'only files matching (repeatable; * spans folders, as huggingface-cli)', collect, [] as string[])
    .option('--exclude <glob>', 'skip files matching (repeatable)', collect, [] as string[])
    .option('--revision <rev>', 'branch, tag or commit (instead of @rev)')
    .option('--concurrency <n>', 'files downloaded at once', '8')
    .option('--quiet', 'no progress on stderr')
    .action(async (spec: string, f: Flags) => {
      const ref = parseRepoSpec(spec, false);
      if (!ref) throw new Error(`pull: "${spec}" is not a repo id (org/name or org/name@revision)`);
      const revision = f.revision ?? ref.revision;
      if (f.revision && spec.includes('@')) throw new Error('pull: give the revision either as @rev or as --revision, not both');
      // an explicit pull asks the Hub where a branch is now (one request), --model does not
      const o = { ...hubOptionsFromEnv(), refresh: true, concurrency: number('concurrency', f.concurrency, { int: true, min: 1, max: 64 }), onEvent: f.quiet ? undefined : pullProgress() };
      const t0 = performance.now();
      try {
        const r = await pull({ repo: ref.repo, revision }, selectGlobs({ include: f.include, exclude: f.exclude }), o);
        if (!f.quiet) {
          const s = ((performance.now() - t0) / 1000).toFixed(1);
          if (r.fetched > 0) process.stderr.write(`fetched ${r.fetched} files (${formatBytes(r.bytes)}) in ${s} s\n`);
          else process.stderr.write(`${ref.repo}@${revision} is complete in the cache at ${r.commit.slice(0, 10)}${r.network ? '' : o.offline ? ' (HF_HUB_OFFLINE: not checked for a newer commit)' : ''}: nothing to fetch\n`);
        }
        process.stdout.write(`${r.path}\n`);
      } catch (e) {
        if (e instanceof HubError) throw new Error(`pull: ${e.message}`, { cause: e });
        throw e;
      }
    });
}
