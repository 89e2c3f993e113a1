/**
 * The Hugging Face Hub client of `moss pull` and `--model org/name` (DESIGN.md §9): the Hub's HTTP
 * API and huggingface_hub's cache layout. This index only re-exports.
 */
export { pull } from './snapshot.js';
export type { PullResult, Select } from './snapshot.js';
export { selectGlobs, selectModelFiles } from './select.js';
export { filterFiles, globMatch } from './glob.js';
export type { FileFilter } from './glob.js';
export { HubError } from './http.js';
export { RepoCache } from './cache.js';
export { parseRepoSpec, repoFolderName, isCommitHash } from './repo.js';
export type { RepoRef } from './repo.js';
export { DEFAULT_ENDPOINT, formatBytes } from './options.js';
export type { HubOptions, PullEvent } from './options.js';
