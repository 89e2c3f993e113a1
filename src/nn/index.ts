/** nn: modules, layers, optimizers, schedules. */
export { Module } from './module.js';
export { Linear, Embedding, LayerNorm, RMSNorm, Dropout, type InitOptions } from './layers.js';
export { LoraLinear, applyLora, loraParameters, mergeLora, type LoraOptions } from './lora.js';
export { Optimizer, type ParamGroup } from './optim/optimizer.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { SGD } from './optim/sgd.js';
export { cosineWithWarmup, type CosineSchedule } from './optim/schedule.js';
export { clipGradNorm } from './optim/clip.js';
