// Independent check of the k-quant path against llama.cpp (node-llama-cpp, the decode bench's peer):
// a LLaMA-shaped random-weight model (bench/decode-model.ts's layout and vocabulary, Gaussian f32
// weights) is quantized by `moss quantize
// --type q4_k_m` (llama.cpp's per-tensor mix: Q4_K + Q6_K), then both engines run the same prompt
// greedily for 32 tokens on the SAME file; the tokens must be equal and each step's next-token
// distribution close: max |p_ours - p_llama.cpp| over the vocabulary, and the largest difference of
// the top-10 logits (from log p, less the per-step constant) beside their spread.
// With LLAMA_QUANTIZE=<path to llama.cpp's llama-quantize> the file is quantized by llama.cpp
// instead (Q4_K_M / Q5_K_M / Q6_K, no imatrix), so our loader reads a llama.cpp-made file; `moss
// quantize` then quantizes the same f32 input too and every tensor's type and bytes are compared
// (tensorsEqual / tensorsDiffer, firstDiff naming the tensor and byte). GOLDENS=<file.json> also
// writes the first 2 rows of one tensor per k-quant type (f32 input and llama.cpp's blocks) for
// test/quant/llamacpp-quantize.test.ts. Build llama-quantize outside the repo, e.g. from the
// llama.cpp snapshot node-llama-cpp ships (bench/peers/node_modules/node-llama-cpp/llama/
// gitRelease.bundle): git clone it, cmake -DLLAMA_CURL=OFF, build target llama-quantize.
// Usage (after `npm run build` and `cd bench/peers && npm install`):
//   [LLAMA_QUANTIZE=...] [GOLDENS=...] node dev/llamacpp_kquant_check.mjs [q4_k_m|q5_k_m|q6_k] [C L H Hkv F V]
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [mix = 'q4_k_m', ...dims] = process.argv.slice(2);
const [C, L, H, Hkv, F, V] = dims.length ? dims.map(Number) : [512, 4, 8, 4, 1536, 512];
const dir = mkdtempSync(join(tmpdir(), 'moss-kq-'));
const f16 = join(dir, 'f16.gguf'), out = join(dir, `${mix}.gguf`);
const { writeLlamaGguf } = await import(`${root}dist/bench/decode-model.js`);
const { readGguf, writeGguf, ggufWriteInput } = await import(`${root}dist/src/io/index.js`);
const { viewBytes } = await import(`${root}dist/src/io/views.js`);
writeLlamaGguf(f16, { C, L, H, Hkv, F, V }, 'f16');
// the bench's weights are tiny noise (the output barely depends on the input): give the 2-d weights
// Gaussian values (std 0.5 for the embedding, 8/sqrt(in) for the head, 0.5/sqrt(in) for the rest) so
// greedy tokens vary and the head is confident enough that activation rounding (each engine rounds
// activations to q8_K its own way) does not flip near-ties
let seed = 42;
const normal = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  const u = (seed + 1) / 2 ** 32;
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * seed) / 2 ** 32);
};
const base = ggufWriteInput(readGguf(f16));
const tensors = base.tensors.map((t) => {
  if (t.shape.length !== 2) return t;
  const std = t.name === 'token_embd.weight' ? 0.5 : (t.name === 'output.weight' ? 8 : 0.5) / Math.sqrt(t.shape[1]);
  const f = Float32Array.from({ length: t.shape[0] * t.shape[1] }, () => normal() * std);
  return { name: t.name, dtype: 'f32', shape: t.shape, data: new Uint8Array(f.buffer) };
});
writeGguf(f16, { ...base, tensors });
// mix 'f32' skips quantizing (the same comparison on the float model, to tell k-quant error from the rest)
const LQ = process.env.LLAMA_QUANTIZE;
const mossQuantize = (dst) => execFileSync('node', [`${root}bin/moss.js`, 'quantize', '--model', f16, '--type', mix, '--out', dst, '--quiet'], { stdio: 'inherit' });
let blocks;
if (mix === 'f32') execFileSync('cp', [f16, out]);
else if (!LQ) mossQuantize(out);
else {
  execFileSync(LQ, [f16, out, { q4_k_m: 'Q4_K_M', q5_k_m: 'Q5_K_M', q6_k: 'Q6_K' }[mix]], { stdio: ['ignore', 'ignore', 'inherit'] });
  // our quantizer on the same f32 input: the same type and bytes per tensor?
  const mine = join(dir, 'moss.gguf');
  mossQuantize(mine);
  const a = readGguf(out), b = readGguf(mine);
  const bytesOf = (g, t) => viewBytes(g.tensors.get(t.name));
  blocks = { tensorsEqual: 0, tensorsDiffer: 0, typeDiffer: [], firstDiff: null };
  for (const t of a.tensorInfos) {
    const u = b.tensorInfos.find((x) => x.name === t.name);
    if (!u || u.typeName !== t.typeName) { blocks.typeDiffer.push(`${t.name}: llama.cpp ${t.typeName}, ours ${u?.typeName}`); continue; }
    const x = bytesOf(a, t), y = bytesOf(b, u);
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    if (i === x.length && x.length === y.length) blocks.tensorsEqual++;
    else {
      blocks.tensorsDiffer++;
      blocks.firstDiff ??= `${t.name} (${t.typeName}) byte ${i} of ${x.length}`;
    }
  }
  if (process.env.GOLDENS) {
    // per k-quant type, the first 2 rows of the first tensor llama.cpp stored in it
    const src = readGguf(f16), golden = { source: `llama.cpp llama-quantize ${mix} (dev/llamacpp_kquant_check.mjs)`, tensors: [] };
    for (const typeName of ['Q4_K', 'Q5_K', 'Q6_K']) {
      const t = a.tensorInfos.find((x) => x.typeName === typeName);
      if (!t) continue;
      const K = t.shape[t.shape.length - 1];
      const f = viewBytes(src.tensors.get(t.name)).subarray(0, 2 * K * 4);
      const q = viewBytes(a.tensors.get(t.name)).subarray(0, 2 * (K / 256) * { Q4_K: 144, Q5_K: 176, Q6_K: 210 }[typeName]);
      golden.tensors.push({ name: t.name, type: typeName.toLowerCase(), rows: 2, rowLength: K, f32: Buffer.from(f).toString('base64'), blocks: Buffer.from(q).toString('base64') });
    }
    writeFileSync(process.env.GOLDENS, JSON.stringify(golden, null, 1) + '\n');
  }
}

const types = {};
for (const t of readGguf(out).tensorInfos) types[t.typeName] = (types[t.typeName] ?? 0) + 1;

const prompt = [1, 17, 42, 99, 5, 300, 7, 64];
const steps = Number(process.env.STEPS ?? 32);
// ours: greedy with the KV cache, softmax of each step's logits
const { loadModel } = await import(`${root}dist/src/models/load.js`);
const { tensor, tidy } = await import(`${root}dist/src/tensor/index.js`);
const { getBackend } = await import(`${root}dist/src/backends/index.js`);
// BACKEND=ref runs ours on the reference backend (exact dequantize + f32 matmul; slow)
const { model } = loadModel(out, process.env.BACKEND ? { backend: getBackend(process.env.BACKEND) } : {});
const cache = model.newCache(1, prompt.length + steps + 1);
const ours = [], oursP = [];
let ids = prompt;
for (let s = 0; s < steps; s++) {
  const logits = tidy(() => model.forward(tensor(ids, [1, ids.length], { dtype: 'i32', backend: model.backend }), { cache, logits: 'last' }).toFloat32Array());
  const row = logits.subarray(logits.length - V);
  let best = 0;
  for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
  const m = row[best];
  let z = 0;
  for (const x of row) z += Math.exp(x - m);
  oursP.push(Float64Array.from(row, (x) => Math.exp(x - m) / z));
  ours.push(best);
  ids = [best];
}

// llama.cpp
const req = createRequire(`${root}bench/peers/package.json`);
const { getLlama } = await import(req.resolve('node-llama-cpp'));
const llama = await getLlama({ gpu: false, build: 'never' });
const lm = await llama.loadModel({ modelPath: out });
const ctx = await lm.createContext({ contextSize: 128 });
const seq = ctx.getSequence();
const theirs = [];
let maxDp = 0, maxDl = 0, minSpread = Infinity;
let step = 0;
const it = seq.evaluateWithMetadata(prompt, { probabilities: true }, { temperature: 0 });
for await (const o of it) {
  theirs.push(o.token);
  const p = oursP[step];
  let dp = 0;
  for (let i = 0; i < V; i++) dp = Math.max(dp, Math.abs((o.probabilities.get(i) ?? 0) - p[i]));
  const sorted = [...p].sort((x, y) => y - x);
  if (process.env.VERBOSE) console.error(`n ${o.probabilities.size} sum ${[...o.probabilities.values()].reduce((a, b) => a + b, 0).toFixed(4)} step ${step}: ours ${ours[step]} theirs ${o.token} maxdp ${dp.toExponential(2)} top2 ${sorted[0].toFixed(4)} ${sorted[1].toFixed(4)}`);
  // logit differences from the two distributions (log p up to a per-step constant), over our top 10
  const top = [...p.keys()].sort((x, y) => p[y] - p[x]).slice(0, 10);
  const d = top.map((i) => Math.log(o.probabilities.get(i) ?? 1e-30) - Math.log(p[i]));
  const mean = d.reduce((x, y) => x + y, 0) / d.length;
  const dl = Math.max(...d.map((x) => Math.abs(x - mean)));
  const spread = Math.log(p[top[0]]) - Math.log(p[top[9]]);
  if (theirs.every((t, i) => t === ours[i])) { // only while the inputs agree
    maxDp = Math.max(maxDp, dp);
    maxDl = Math.max(maxDl, dl);
    minSpread = Math.min(minSpread, spread);
  }
  if (++step >= steps) break;
}
await ctx.dispose();
await lm.dispose();
rmSync(dir, { recursive: true, force: true });
const same = ours.length === theirs.length && ours.every((t, i) => t === theirs[i]);
console.log(JSON.stringify({ mix, quantizedBy: LQ ? 'llama.cpp llama-quantize' : 'moss quantize', ...(blocks ? { blocksVsOurs: blocks } : {}), shape: { C, L, H, Hkv, F, V }, tensorTypes: types, same, maxProbDiff: Number(maxDp.toExponential(3)), maxTop10LogitDiff: Number(maxDl.toExponential(3)), minTop10LogitSpread: Number(minSpread.toFixed(2)), ours: ours.join(' '), llama_cpp: theirs.join(' ') }));
process.exitCode = same ? 0 : 1;
