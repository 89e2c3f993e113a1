/**
 * Public entry of the tokenizer layer: the Tokenizer contract, the two tokenizer families, file-format
 * parsers, the trainer and the MOSS vocabulary reconstruction. Imports nothing outside src/tokenizer.
 */
export type { Tokenizer, StreamDecoder, EncodeOptions, DecodeOptions, SpecialMode } from './types.js';
export type { AddedToken } from './added-tokens.js';
export { ByteLevelBpe, type ByteLevelBpeSpec } from './byte-level-bpe.js';
export { SentencePieceBpe, TokenType, type SpmSpec } from './spm.js';
export { BYTE_TO_CHAR, CHAR_TO_BYTE, GPT2_BYTE_ORDER, byteLevelToBytes, bytesToByteLevel } from './byte-unicode.js';
export { gpt2PreTokens, gpt2Split, GPT2_PATTERN } from './pretokenize.js';
export { GPT2_PRE, SUPPORTED_PRE_TOKENIZERS, jsRegex, preTokenizerByName, preTokenizerFromHf, sequenceSplit, type PreTokenizer, type SplitFn, type Step } from './pre-tokenizers.js';
export { parseMerges, tokensFromVocab, byteLevelFromVocabFiles, byteLevelFromTokenizerJson, parseLlama2cTokenizer, parseSpecialTokensMap } from './formats.js';
export { vocabFromMerges } from './vocab-from-merges.js';
export { tokenizerFromGgufMetadata, byteLevelFromMergesOnly } from './from-metadata.js';
export { trainBpe, trainedFiles, type TrainOptions, type TrainResult } from './train.js';
