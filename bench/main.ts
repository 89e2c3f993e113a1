/**
 * `npm run bench -- <name> [--json]`: dispatches to bench/<name>.ts. Each bench prints a table and,
 * with --json, JSON lines; results are also written under bench/results/. The MOSS_* engine
 * switches apply as they do for the CLI (src/cli/options.ts).
 */
import { configureEngine } from '../src/backends/index.js';
import { engineFromEnv } from '../src/cli/options.js';

configureEngine(engineFromEnv(process.env));
const benches: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  gemm: () => import('./gemm.js'),
  decode: () => import('./decode.js'),
  tokenize: () => import('./tokenize.js'),
  serve: () => import('./serve.js'),
  'serve-http': () => import('./serve-http.js'),
  'native-kernels': () => import('./native-kernels.js'),
  train: () => import('./train.js'),
  'eval-mc': () => import('./eval-mc.js'),
  data: () => import('./data.js'),
  moss16b: () => import('./moss16b.js'),
  constrain: () => import('./constrain.js'),
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !benches[name]) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--json]\n`);
  process.exitCode = 2;
} else {
  await (await benches[name]()).main(rest);
}
