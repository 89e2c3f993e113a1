// Checks that a GGUF written by `moss quantize` loads in llama.cpp (node-llama-cpp, a bench-only peer)
// and that its greedy text equals ours. Usage (after `cd bench/peers && npm install`):
//   node bin/moss.js quantize --model ../shared/models/stories260K/stories260K.bin --type q8_0 --out /tmp/s.gguf
//   node dev/llamacpp_load_check.mjs /tmp/s.gguf "Once upon a time"
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [path, prompt = 'Once upon a time'] = process.argv.slice(2);
const root = fileURLToPath(new URL('..', import.meta.url));
const req = createRequire(`${root}bench/peers/package.json`);
const { getLlama, LlamaCompletion } = await import(req.resolve('node-llama-cpp'));
const llama = await getLlama({ gpu: false, build: 'never' });
const model = await llama.loadModel({ modelPath: path });
const ctx = await model.createContext({ contextSize: 256 });
const theirs = await new LlamaCompletion({ contextSequence: ctx.getSequence() }).generateCompletion(prompt, { maxTokens: 30, temperature: 0 });
const ours = JSON.parse(execFileSync('node', [`${root}bin/moss.js`, 'generate', '--model', path, '--prompt', prompt, '--max-new-tokens', '30', '--temperature', '0', '--json'], { encoding: 'utf8' })).text;
console.log(JSON.stringify({ llama_cpp: theirs, moss_ts: ours, same: theirs === ours }));
process.exitCode = theirs === ours ? 0 : 1;
