#!/usr/bin/env python3
"""Writes tiny MOSS/GPTQ-layout checkpoints and their dequantized weights for test/quant/gptq.test.ts.

Packing follows MOSS's models/quantization.py QuantLinear.pack (GPTQ-for-LLaMa / AutoGPTQ
"old" format): qweight int32 (K * wbits / 32, N), values packed along the in-features K (row i
holds k = i*(32/wbits) .. +32/wbits-1, element j at bits wbits*j); qzeros int32 (groups, N * wbits /
32) packed along the out-features, storing zero - 1; scales f16 (groups, N); g_idx int32 (K).
Dequantized: W[n, k] = scales[g_idx[k], n] * (q[k, n] - (stored_zero[g_idx[k], n] + 1)), float32,
as the PyTorch forward computes it.  Random integer weights, zeros and scales (not a trained model).

Run with Debian's python3-torch:  /usr/bin/python3 dev/gptq_reference.py test/fixtures/quant
Writes gptq_w{4,8}.bin (torch.save state dicts) and gptq_expected.safetensors-like raw f32 files.
"""
import os
import sys

import numpy as np
import torch


def pack_rows(intweight, bits):  # (K, N) uint32 -> (K*bits/32, N) int32, packed along K
    per = 32 // bits
    q = np.zeros((intweight.shape[0] // per, intweight.shape[1]), dtype=np.uint32)
    for row in range(q.shape[0]):
        for j in range(per):
            q[row] |= intweight[row * per + j] << (bits * j)
    return q.astype(np.int32)


def pack_cols(zeros, bits):  # (G, N) uint32 -> (G, N*bits/32) int32, packed along N
    per = 32 // bits
    q = np.zeros((zeros.shape[0], zeros.shape[1] // per), dtype=np.uint32)
    for col in range(q.shape[1]):
        for j in range(per):
            q[:, col] |= zeros[:, col * per + j] << (bits * j)
    return q.astype(np.int32)


def make(bits, K, N, groupsize, act_order, rng):
    G = (K + groupsize - 1) // groupsize
    q = rng.integers(0, 2 ** bits, size=(K, N), dtype=np.int64).astype(np.uint32)
    zeros = rng.integers(1, 2 ** bits + 1, size=(G, N), dtype=np.int64)  # real zero point in [1, 2^bits]
    stored = (zeros - 1).astype(np.uint32)
    scales = torch.from_numpy(rng.uniform(0.001, 0.05, size=(G, N)).astype(np.float32)).half()
    g_idx = np.arange(K) // groupsize
    if act_order:  # desc_act checkpoints: groups follow a permutation of the input features
        g_idx = g_idx[rng.permutation(K)]
    g_idx = torch.from_numpy(g_idx.astype(np.int32))
    sd = {
        "qweight": torch.from_numpy(pack_rows(q, bits)),
        "qzeros": torch.from_numpy(pack_cols(stored, bits)),
        "scales": scales,
        "g_idx": g_idx,
        "bias": torch.from_numpy(rng.standard_normal(N).astype(np.float32)).half(),
    }
    # the PyTorch forward's dequantization (float32): scale[g] * (q - (stored + 1))
    gl = g_idx.long()
    w = scales.float()[gl] * (torch.from_numpy(q.astype(np.float32)) - (torch.from_numpy(stored.astype(np.float32))[gl] + 1))
    return sd, w.t().contiguous()  # (N, K): the Linear weight layout


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/quant"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240607)
    for bits in (4, 8):
        state, expected = {}, {}
        for name, (K, N, act) in {"transformer.h.0.mlp.fc_in": (256, 64, False),
                                  "transformer.h.0.attn.qkv_proj": (384, 96, True)}.items():
            sd, w = make(bits, K, N, 128, act, rng)
            for k, v in sd.items():
                state[f"{name}.{k}"] = v
            expected[f"{name}.weight"] = w
        torch.save(state, os.path.join(out, f"gptq_w{bits}.bin"))
        # expected weights: raw little-endian f32, one file per tensor, with a tiny index
        with open(os.path.join(out, f"gptq_w{bits}_expected.txt"), "w") as idx:
            for name, w in expected.items():
                fn = f"gptq_w{bits}_{name.replace('.', '_')}.f32"
                w.numpy().astype("<f4").tofile(os.path.join(out, fn))
                idx.write(f"{name} {w.shape[0]} {w.shape[1]} {fn}\n")


if __name__ == "__main__":
    main()
