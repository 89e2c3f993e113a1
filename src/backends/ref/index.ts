/** The reference backend (stub until it lands). */
import type { Backend } from '../backend.js';
export const refBackend: Backend = null as unknown as Backend;
