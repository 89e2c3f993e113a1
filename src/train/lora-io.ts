/**
 * Saving and loading LoRA adapters as safetensors (names `<layer>.lora_A` / `.lora_B`, metadata
 * rank/alpha), like peft's adapter_model.safetensors but with this project's layer names.
 * Not here: converting peft's `base_model.model.` prefixed names.
 */
import type { View } from '../backends/backend.js';
import { readSafetensors, writeSafetensors } from '../io/index.js';
import type { Module } from '../nn/index.js';
import { loraParameters } from '../nn/lora.js';
import { copyInto } from './checkpoint.js';

export function saveLora(path: string, model: Module, meta: { rank: number; alpha: number }): void {
  writeSafetensors(path, new Map(loraParameters(model)) as Map<string, View>, { rank: String(meta.rank), alpha: String(meta.alpha) });
}

/** Copies saved adapters into a model that already has them applied (same targets and rank). */
export function loadLora(path: string, model: Module): void {
  copyInto(new Map(loraParameters(model)), readSafetensors(path).tensors, path);
}
