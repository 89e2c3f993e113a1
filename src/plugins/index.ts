/**
 * The plugin registry: builds the four MOSS tools from one configuration object. The chat loop
 * looks plugins up by the command name the model writes.
 */
import { calculatorPlugin } from './calculator.js';
import { searchPlugin, type SearchConfig } from './search/index.js';
import { solverPlugin } from './solver.js';
import { text2imagePlugin, type Text2ImageConfig } from './text2image.js';
import type { Plugin } from './types.js';

export * from './types.js';
export { calculate } from './calculator.js';
export { solve } from './solver.js';
export { PluginPool, type PoolOptions } from './pool.js';
export type { SearchConfig } from './search/index.js';
export type { Text2ImageConfig } from './text2image.js';

export interface PluginsConfig {
  readonly search?: SearchConfig;
  readonly text2image?: Text2ImageConfig;
}

/** All four plugins, keyed by command name (`Search`, `Calculate`, `Solve`, `Text2Image`). */
export function createPlugins(cfg: PluginsConfig = {}): Map<string, Plugin> {
  const list = [searchPlugin(cfg.search), calculatorPlugin, solverPlugin, text2imagePlugin(cfg.text2image)];
  return new Map(list.map((p) => [p.name, p]));
}
