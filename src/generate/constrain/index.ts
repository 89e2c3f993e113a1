/** Constrained decoding: grammars, JSON Schema -> grammar, the token mask the generation step applies. */
export { GrammarBuilder, type Grammar, type Item } from './grammar.js';
export { ByteDfa, DEAD, viablePrefix, completeSentence, type Piece } from './matcher.js';
export { vocabBytes, TokenTrie, type VocabBytes } from './vocab.js';
export { GrammarMatcher, GrammarConstraint, MatcherCache, type TokenConstraint } from './mask.js';
export { SchemaCompiler, UnsupportedSchema, jsonGrammar, MAX_ENUM } from './schema.js';
