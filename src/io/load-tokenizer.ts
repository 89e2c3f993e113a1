/**
 * Picks and builds a tokenizer from a path: a folder (tokenizer.json [+ tokenizer_config.json for
 * BOS/EOS], preferred; else vocab.json/encoder.json +
 * merges.txt/vocab.bpe [+ added_tokens.json, special_tokens_map.json]; or MOSS's merges.txt +
 * added_tokens.json with no vocab), a tokenizer.json file, a .gguf (tokenizer.ggml.* metadata) or a
 * llama2.c tokenizer .bin. Errors name the file and what is wrong.
 * Deliberately not here: tokenizer logic (src/tokenizer), downloading from hubs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  ByteLevelBpe, SentencePieceBpe, byteLevelFromMergesOnly, byteLevelFromTokenizerJson, byteLevelFromVocabFiles,
  parseLlama2cTokenizer, parseMerges, tokenizerFromGgufMetadata, type Tokenizer,
} from '../tokenizer/index.js';
import { readStorage } from './file-storage.js';
import { parseGguf, readGguf } from './gguf.js';
import { readJsonFile, readJsonIf } from './json.js';

const SMALL_GGUF = 64 * 2 ** 20;

function fromFolder(dir: string): Tokenizer {
  const has = (f: string): boolean => existsSync(join(dir, f));
  const added = readJsonIf(join(dir, 'added_tokens.json')) as Record<string, number> | undefined;
  const special = readJsonIf(join(dir, 'special_tokens_map.json'));
  const vocabFile = ['vocab.json', 'encoder.json'].find(has);
  const mergesFile = ['merges.txt', 'vocab.bpe'].find(has);
  // tokenizer.json first: it carries the pre-tokenizer and normalizer (Qwen2 ships both forms)
  if (has('tokenizer.json')) return fromTokenizerJson(join(dir, 'tokenizer.json'));
  if (vocabFile && mergesFile) {
    const vocab = readJsonFile(join(dir, vocabFile)) as Record<string, number>;
    const merges = parseMerges(readFileSync(join(dir, mergesFile), 'utf8'));
    try {
      return new ByteLevelBpe(byteLevelFromVocabFiles(vocab, merges, added, special));
    } catch (e) {
      throw new Error(`${join(dir, vocabFile)}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (mergesFile && added) return byteLevelFromMergesOnly(parseMerges(readFileSync(join(dir, mergesFile), 'utf8')), added, special);
  if (has('tokenizer.bin')) return fromLlama2c(join(dir, 'tokenizer.bin'));
  throw new Error(`${dir}: no tokenizer found (looked for vocab.json+merges.txt, encoder.json+vocab.bpe, tokenizer.json, merges.txt+added_tokens.json, tokenizer.bin)`);
}

/** tokenizer.json, with BOS/EOS from tokenizer_config.json (else special_tokens_map.json) beside it. */
function fromTokenizerJson(path: string): Tokenizer {
  const dir = dirname(path);
  const config = readJsonIf(join(dir, 'tokenizer_config.json')) ?? readJsonIf(join(dir, 'special_tokens_map.json'));
  try {
    return new ByteLevelBpe(byteLevelFromTokenizerJson(readJsonFile(path), path, config));
  } catch (e) {
    const m = (e as Error).message;
    throw new Error(m.startsWith(path) ? m : `${path}: ${m}`, { cause: e });
  }
}

function fromLlama2c(path: string): Tokenizer {
  try {
    return new SentencePieceBpe(parseLlama2cTokenizer(readFileSync(path), undefined, path));
  } catch (e) {
    const m = (e as Error).message;
    throw new Error(m.startsWith(path) ? m : `${path}: ${m}`, { cause: e });
  }
}

/** Loads the tokenizer at `path` (folder or file; see the header). */
export function loadTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) return fromFolder(path);
  const name = basename(path).toLowerCase();
  if (name.endsWith('.gguf')) {
    // vocab-only files are small: read them; model files are memory-mapped by readGguf
    const g = statSync(path).size < SMALL_GGUF ? parseGguf(readStorage(path), path) : readGguf(path);
    return tokenizerFromGgufMetadata(g.metadata, path);
  }
  if (name.endsWith('.json')) return fromTokenizerJson(path);
  if (name.endsWith('.bin')) return fromLlama2c(path);
  throw new Error(`${path}: unknown tokenizer file type (expected a folder, tokenizer.json, .gguf or a llama2.c .bin)`);
}
