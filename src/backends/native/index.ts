/** Loads the native (C++ N-API) backend; null when the addon is not built. (Stub until it lands.) */
import type { Backend } from '../backend.js';

export function loadNativeBackend(): Backend | null {
  return null;
}
