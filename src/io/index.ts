/**
 * Checkpoint formats (DESIGN.md §4): safetensors, GGUF, PyTorch zip (restricted unpickler),
 * llama2.c, HF folders. Every reader returns Views (src/backends/backend.ts) over the file
 * storage where it can, and validates every size and offset first (see docs/formats.md).
 * This index only re-exports; it adds nothing.
 */
export { FormatError } from './errors.js';
export { openStorage, readStorage, mmapAvailable } from './file-storage.js';
export { writeFileAtomic } from './atomic.js';
export { readSafetensors, parseSafetensors, writeSafetensors, encodeSafetensors } from './safetensors.js';
export type { SafetensorsFile, SafetensorsTensorInfo } from './safetensors.js';
export { readGguf, parseGguf, ggufTensor } from './gguf.js';
export type { GgufFile, GgufTensorInfo } from './gguf.js';
export { writeGguf, encodeGguf, ggufWriteInput, inferType } from './gguf-write.js';
export type { GgufWriteInput, GgufWriteTensor } from './gguf-write.js';
export type { GgufValueType } from './gguf-types.js';
export { readTorch, parseTorch } from './torch.js';
export type { TorchFile, TorchReadOptions } from './torch.js';
export { unpickle } from './pickle.js';
export { openZip } from './zip.js';
export { readLlama2c, parseLlama2c } from './llama2c.js';
export type { Llama2cConfig, Llama2cFile } from './llama2c.js';
export { openHfFolder, loadHfFolder } from './hf.js';
export type { HfFolder } from './hf.js';
