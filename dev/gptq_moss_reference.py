#!/usr/bin/env python3
"""Logit goldens for MOSS GPTQ checkpoints (test/models/gptq-golden.test.ts): tiny MOSS models whose
four Linears per block are GPTQ-packed as MOSS's -int4 / -int8 releases store them, and the logits of
PyTorch's forward on the dequantized weights.

Written from ../shared/DESIGN.md's GPTQ paragraph and AutoGPTQ's formulas (not from MOSS.ts code):
- quantize (GPTQ's Quantizer, asymmetric, per group of `groupsize` input features and per output row):
  xmin = min(w, 0), xmax = max(w, 0), scale = (xmax - xmin) / maxq stored as f16,
  zero = round(-xmin / scale) clamped to 1..maxq, q = clamp(round(w / scale) + zero, 0, maxq)
  (zero >= 1 so that "stored zero - 1" is never negative: GPTQ-for-LLaMa's mask-then-+1 and
  AutoGPTQ's +1-then-mask readings of qzeros then agree).
- pack (QuantLinear.pack): qweight int32 (K * bits / 32, N), row i bits [bits*j, bits*j+bits) = q of input
  feature i * (32 / bits) + j; qzeros int32 (G, N * bits / 32) packed along the output features,
  holding zero - 1; scales f16 (G, N); g_idx int32 (K) = k // groupsize (groupsize -1: one group);
  bias f16.
- dequantize (AutoGPTQ qlinear_cuda_old forward, in f32 instead of f16 so the golden is exact):
  zeros = ((qzeros[:, :, None] >> wf) .to(int8/int16) + 1) & maxq;  weight = (qweight[:, None, :] >> wf) & maxq
  W = scales[g_idx] * (weight - zeros[g_idx]), transposed to the Linear layout (N, K).
The forward is moss_forward of dev/moss_reference.py (written from HF's modeling_codegen.py).

Run with Debian's python3-torch (apt-get install -y python3-torch):
  /usr/bin/python3 dev/gptq_moss_reference.py [name ...]     (no names: all of them)
Writes test/fixtures/models/moss-gptq4 (int4, groupsize 128), moss-gptq8 (int8, groupsize -1),
moss-gptq4-act (int4, groupsize 128, act-order: each Linear's in-features quantized in a random order,
g_idx scattering the groups; n_embd 256), and the AutoGPTQ groupsizes below 128: moss-gptq4-g32 (int4,
groupsize 32), moss-gptq8-g64 (int8, groupsize 64) and moss-gptq4-g64-act (int4, groupsize 64,
act-order): config.json (wbits, groupsize, desc_act), pytorch_model.bin (torch.save), expected.json
(input_ids, logits, greedy: 4 tokens after the prompt, argmax of the same f32 forward).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moss_reference import OUT, expected, moss_forward, moss_weights, save_json  # noqa: E402

torch.set_grad_enabled(False)
LINEARS = ('attn.qkv_proj', 'attn.out_proj', 'mlp.fc_in', 'mlp.fc_out')


def gptq_quantize(w, bits, groupsize, perm=None):
    """w (N, K) f32 -> intweight (K, N), zeros (G, N), scales f16 (G, N), g_idx (K).

    perm (act-order, GPTQ's desc_act): the in-features are quantized in the order perm (GPTQ sorts
    them by the Hessian diagonal, descending), so group i // groupsize holds in-features perm[i];
    qweight stays in the original k order and g_idx[perm[i]] = i // groupsize (AutoGPTQ's pack reads
    scales[g_idx[k]] per in-feature)."""
    N, K = w.shape
    gs = K if groupsize == -1 else groupsize
    G = K // gs
    maxq = 2 ** bits - 1
    if perm is not None:
        w = w[:, perm]
    wg = w.reshape(N, G, gs)
    xmin = torch.clamp(wg.min(-1).values, max=0)
    xmax = torch.clamp(wg.max(-1).values, min=0)
    scale = ((xmax - xmin) / maxq).clamp(min=1e-5).half()  # (N, G) as stored
    s = scale.float()
    zero = torch.clamp(torch.round(-xmin / s), 1, maxq)
    q = torch.clamp(torch.round(wg / s[..., None]) + zero[..., None], 0, maxq).reshape(N, K)
    g_idx = torch.arange(K, dtype=torch.int32) // gs
    if perm is not None:
        inv = torch.argsort(perm)
        q, g_idx = q[:, inv], g_idx[inv]
    return q.t().to(torch.int64), zero.t().to(torch.int64), scale.t().contiguous(), g_idx


def pack(intweight, zeros, bits):
    per = 32 // bits
    K, N = intweight.shape
    qweight = torch.zeros((K // per, N), dtype=torch.int64)
    for j in range(per):
        qweight |= intweight[j::per] << (bits * j)
    stored = zeros - 1
    qzeros = torch.zeros((zeros.shape[0], N // per), dtype=torch.int64)
    for j in range(per):
        qzeros |= stored[:, j::per] << (bits * j)
    # to int32 with two's complement wrap (values use all 32 bits)
    wrap = lambda t: torch.where(t >= 2 ** 31, t - 2 ** 32, t).to(torch.int32)  # noqa: E731
    return wrap(qweight), wrap(qzeros)


def autogptq_dequant(qweight, qzeros, scales, g_idx, bits):
    wf = torch.tensor(list(range(0, 32, bits)), dtype=torch.int32).unsqueeze(0)
    small = torch.int16 if bits == 8 else torch.int8
    zeros = torch.bitwise_right_shift(torch.unsqueeze(qzeros, 2).expand(-1, -1, 32 // bits), wf.unsqueeze(0)).to(small)
    zeros = zeros + 1
    zeros = torch.bitwise_and(zeros, (2 ** bits) - 1)
    zeros = zeros.reshape(scales.shape)
    weight = torch.bitwise_right_shift(torch.unsqueeze(qweight, 1).expand(-1, 32 // bits, -1), wf.unsqueeze(-1)).to(small)
    weight = torch.bitwise_and(weight, (2 ** bits) - 1)
    weight = weight.reshape(-1, weight.shape[2])
    gl = g_idx.long()
    w = scales.float()[gl] * (weight.float() - zeros.float()[gl])
    return w.t().contiguous()


def make(name, bits, groupsize, seed, act_order=False, n_embd=128):
    cfg = {
        'model_type': 'moss', 'architectures': ['MossForCausalLM'], 'n_embd': n_embd, 'n_layer': 2, 'n_head': 4,
        'rotary_dim': 16, 'n_positions': 64, 'n_ctx': 64, 'vocab_size': 64, 'layer_norm_epsilon': 1e-5,
        'n_inner': 2 * n_embd, 'activation_function': 'gelu_new', 'bos_token_id': 1, 'eos_token_id': 2,
        'torch_dtype': 'float16', 'wbits': bits, 'groupsize': groupsize,
    }
    if act_order:
        cfg['desc_act'] = True
    g = torch.Generator().manual_seed(seed)
    w = moss_weights(cfg, g, 'f16')
    state = {}
    for n, t in w.items():
        p = n[:-len('.weight')] if n.endswith('.weight') else None
        if p and any(p.endswith(l) for l in LINEARS):
            perm = torch.randperm(t.shape[1], generator=g) if act_order else None
            intw, zeros, scales, g_idx = gptq_quantize(t, bits, groupsize, perm)
            if act_order:
                assert not torch.equal(g_idx, torch.sort(g_idx).values), (n, 'act-order g_idx should scatter the groups')
            qweight, qzeros = pack(intw, zeros, bits)
            state[p + '.qweight'], state[p + '.qzeros'], state[p + '.scales'], state[p + '.g_idx'] = qweight, qzeros, scales, g_idx
            w[n] = autogptq_dequant(qweight, qzeros, scales, g_idx, bits)
            err = (w[n] - t).abs().max().item()
            assert err <= scales.float().max().item(), (n, err)
        else:
            state[n] = t.half()
    # qkv_proj has no bias in MOSS; out_proj neither; fc_in / fc_out biases stay as they are
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    save_json(os.path.join(folder, 'config.json'), cfg)
    torch.save(state, os.path.join(folder, 'pytorch_model.bin'))
    exp = expected(moss_forward, cfg, w, cfg['vocab_size'], g, B=1, T=6, prefill=3, greedy_steps=4)
    del exp['cached']
    exp['note'] = 'made by dev/gptq_moss_reference.py (AutoGPTQ-style f32 dequantization)'
    save_json(os.path.join(folder, 'expected.json'), exp)


MODELS = {
    'moss-gptq4': dict(bits=4, groupsize=128, seed=7),
    'moss-gptq8': dict(bits=8, groupsize=-1, seed=8),
    # act-order (desc_act): 256 in-features, so every Linear has 2+ groups of 128 scattered over k
    'moss-gptq4-act': dict(bits=4, groupsize=128, seed=9, act_order=True, n_embd=256),
    # groups smaller than the 128-value block (common AutoGPTQ settings)
    'moss-gptq4-g32': dict(bits=4, groupsize=32, seed=10),
    'moss-gptq8-g64': dict(bits=8, groupsize=64, seed=11),
    'moss-gptq4-g64-act': dict(bits=4, groupsize=64, seed=12, act_order=True),
}

if __name__ == '__main__':
    for name in sys.argv[1:] or MODELS:
        make(name, **MODELS[name])
