/**
 * Which files of a repo to fetch: everything a glob filter keeps (`moss pull`), or what loading an
 * HF folder needs (`--model org/name`): every non-weight file (config, tokenizer, generation
 * config, index) plus one weight format — safetensors when the repo has them, else PyTorch `.bin`
 * — never TF / Flax / ONNX copies. Not here: picking one of many GGUF variants (the error says to
 * pull the one wanted with --include and pass its path).
 */
import { filterFiles, type FileFilter } from './glob.js';
import { HubError } from './http.js';
import type { Select } from './snapshot.js';

const WEIGHTS = /\.(safetensors|bin|pt|pth|ckpt|gguf|h5|msgpack|ot|onnx|onnx_data|tflite|mlmodel)$/;

/** The files a glob filter keeps. */
export function selectGlobs(f: FileFilter): Select {
  return (files) => filterFiles(files, f);
}

/** The files an HF folder load needs; throws when the repo has no safetensors or .bin weights. */
export const selectModelFiles: Select = (files) => {
  const other = files.filter((f) => !WEIGHTS.test(f));
  const st = files.filter((f) => f.endsWith('.safetensors'));
  if (st.length) return [...other, ...st];
  const bin = files.filter((f) => /\.(bin|pt|pth)$/.test(f));
  if (bin.length) return [...other, ...bin];
  const gguf = files.filter((f) => f.endsWith('.gguf'));
  if (gguf.length) throw new HubError(`the repo has GGUF files only (${gguf.slice(0, 2).join(', ')}${gguf.length > 2 ? ', …' : ''}): run \`moss pull <repo> --include "<file>.gguf"\` and pass that file's path to --model`);
  throw new HubError('the repo has no .safetensors or PyTorch .bin weights to load');
};
