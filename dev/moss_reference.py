#!/usr/bin/env python3
"""PyTorch references for the model goldens in test/fixtures/models/ (run with Debian's python3-torch:
`/usr/bin/python3 dev/moss_reference.py`).

- MOSS / CodeGen: written from HF transformers' modeling_codegen.py (the same code as MOSS's
  modeling_moss.py): one ln_1 feeding attention and MLP in parallel, fused qkv_proj (no bias)
  viewed as (..., mp_num=4, 3C/4) and split in query, VALUE, key order, GPT-J rotate_every_two
  rotary on the first rotary_dim dims (sin/cos tables built like create_sinusoidal_positions),
  f32 scores divided by sqrt(head_dim), gelu_new MLP with biases, ln_f, lm_head with bias.
- LLaMA / Qwen2: written from HF modeling_llama.py / modeling_qwen2.py: RMSNorm, GQA (repeat_kv),
  half-split rotate_half rope with rope_theta, SwiGLU, Qwen2's q/k/v biases, tied or untied head.
- Mistral (modeling_mistral.py: the LLaMA layers) with its sliding window: query at position i sees
  keys j with i - sliding_window < j <= i (transformers' sliding_window_overlay `kv_idx > q_idx -
  sliding_window` on the causal mask; llama.cpp masks p1 - p0 >= n_swa the same way).

Weights are random and rounded to the stored dtype (f16 / bf16) before the forward pass, so every
checkpoint copy (f32 safetensors, f16 torch .bin shards, bf16 safetensors) holds the same values
and one set of expected logits serves all. Outputs per model folder: config.json, weights, and
expected.json = {input_ids (B,T), logits (B,T,V) flat, cached: {prefill, step_logits}, greedy}.
The safetensors files are written by hand (numpy + struct), independent of src/io.
"""
import json
import math
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'models')
torch.set_grad_enabled(False)


# ----------------------------------------------------------------------------- helpers
def round_to(t, dtype):
    """Round an f32 tensor through f16 / bf16 so the stored copy is exact."""
    if dtype == 'f16':
        return t.half().float()
    if dtype == 'bf16':
        return t.bfloat16().float()
    return t.float()


def write_safetensors(path, tensors, dtype):
    """tensors: dict name -> f32 torch tensor; dtype: 'f32' | 'f16' | 'bf16'."""
    header = {'__metadata__': {'format': 'pt', 'note': 'made by dev/moss_reference.py'}}
    data = b''
    for name, t in tensors.items():
        a = t.numpy().astype('<f4')
        if dtype == 'f32':
            raw, dt = a.tobytes(), 'F32'
        elif dtype == 'f16':
            raw, dt = a.astype('<f2').tobytes(), 'F16'
        else:  # bf16: values are already bf16-exact, so truncating the f32 bits is exact
            raw, dt = (a.view('<u4') >> 16).astype('<u2').tobytes(), 'BF16'
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + data)


def write_torch_shards(folder, tensors, extra=None):
    """Two torch.save shards (f16) plus pytorch_model.bin.index.json, like HF's sharded save."""
    names = list(tensors)
    half = len(names) // 2
    parts = [names[:half], names[half:]]
    weight_map = {}
    total = 0
    for i, part in enumerate(parts):
        fname = f'pytorch_model-0000{i + 1}-of-00002.bin'
        sd = {}
        for n in part:
            sd[n] = tensors[n].half().contiguous()
            weight_map[n] = fname
            total += sd[n].numel() * 2
        for n, t in (extra or {}).items():
            if weight_map.get(n.rsplit('.attn.', 1)[0] + '.attn.qkv_proj.weight') == fname:
                sd[n] = t  # buffers travel with their layer, as in real MOSS checkpoints
        torch.save(sd, os.path.join(folder, fname))
    with open(os.path.join(folder, 'pytorch_model.bin.index.json'), 'w') as f:
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=1)


def save_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)


def flat(t):
    return [float(x) for x in t.reshape(-1).tolist()]


# ----------------------------------------------------------------------------- MOSS / CodeGen
def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def create_sinusoidal_positions(num_pos, dim):
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2) / dim))
    sinusoid_inp = torch.einsum('i , j -> i j', torch.arange(num_pos, dtype=torch.float), inv_freq).float()
    return torch.cat((torch.sin(sinusoid_inp), torch.cos(sinusoid_inp)), dim=1)


def rotate_every_two(x):
    x1 = x[:, :, :, ::2]
    x2 = x[:, :, :, 1::2]
    x = torch.stack((-x2, x1), dim=-1)
    return x.flatten(-2)


def apply_rotary_pos_emb(tensor, sin, cos):
    sin = torch.repeat_interleave(sin[:, :, None, :], 2, 3)
    cos = torch.repeat_interleave(cos[:, :, None, :], 2, 3)
    return (tensor * cos) + (rotate_every_two(tensor) * sin)


def moss_forward(cfg, w, ids, past=None):
    """ids (B,T) int64; past: list per layer of (k, v) (B,H,Tp,D). Returns logits, new past."""
    C, H = cfg['n_embd'], cfg['n_head']
    D = C // H
    rd = cfg['rotary_dim']
    B, T = ids.shape
    Tp = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(Tp, Tp + T).unsqueeze(0).expand(B, T)
    table = create_sinusoidal_positions(cfg['n_positions'], rd)
    x = w['transformer.wte.weight'][ids]
    presents = []
    for i in range(cfg['n_layer']):
        p = f'transformer.h.{i}.'
        h = torch.nn.functional.layer_norm(x, (C,), w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], cfg['layer_norm_epsilon'])
        qkv = h @ w[p + 'attn.qkv_proj.weight'].T
        mp_num = 4
        qkv_split = qkv.reshape(qkv.shape[:-1] + (mp_num, -1))
        local_dim = D * H // mp_num
        query, value, key = torch.split(qkv_split, local_dim, dim=-1)

        def split_heads(t):
            r = t.reshape(t.shape[:-1] + (H // mp_num, D))
            return r.reshape(t.shape[:-2] + (-1,) + r.shape[-1:])

        query, key, value = split_heads(query), split_heads(key), split_heads(value)  # (B,T,H,D)
        value = value.permute(0, 2, 1, 3)
        sincos = table[pos]
        sin, cos = torch.split(sincos, sincos.shape[-1] // 2, dim=-1)
        k_rot, k_pass = key[:, :, :, :rd], key[:, :, :, rd:]
        q_rot, q_pass = query[:, :, :, :rd], query[:, :, :, rd:]
        key = torch.cat([apply_rotary_pos_emb(k_rot, sin, cos), k_pass], dim=-1).permute(0, 2, 1, 3)
        query = torch.cat([apply_rotary_pos_emb(q_rot, sin, cos), q_pass], dim=-1).permute(0, 2, 1, 3)
        if past is not None:
            key = torch.cat((past[i][0], key), dim=-2)
            value = torch.cat((past[i][1], value), dim=-2)
        presents.append((key, value))
        Tk = key.shape[2]
        causal = torch.tril(torch.ones(Tk, Tk, dtype=torch.bool))[Tk - T:Tk, :Tk]
        W = cfg.get('sliding_window') if cfg['model_type'] == 'mistral' else None
        if W is not None:
            qpos = torch.arange(Tk - T, Tk)[:, None]
            causal = causal & (torch.arange(Tk)[None, :] > qpos - W)
        scores = torch.matmul(query.float(), key.float().transpose(-1, -2)) / math.sqrt(D)
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(torch.float32).min))
        att = torch.softmax(scores, dim=-1)
        o = torch.matmul(att, value).permute(0, 2, 1, 3).reshape(B, T, C)
        attn_out = o @ w[p + 'attn.out_proj.weight'].T
        f = gelu_new(h @ w[p + 'mlp.fc_in.weight'].T + w[p + 'mlp.fc_in.bias'])
        ff = f @ w[p + 'mlp.fc_out.weight'].T + w[p + 'mlp.fc_out.bias']
        x = attn_out + ff + x
    x = torch.nn.functional.layer_norm(x, (C,), w['transformer.ln_f.weight'], w['transformer.ln_f.bias'], cfg['layer_norm_epsilon'])
    return x @ w['lm_head.weight'].T + w['lm_head.bias'], presents


def moss_weights(cfg, g, dtype):
    C, L, V = cfg['n_embd'], cfg['n_layer'], cfg['vocab_size']
    inner = cfg['n_inner'] or 4 * C

    def r(*shape, std=None, mean=0.0):
        s = std if std is not None else 1.0 / math.sqrt(shape[-1])
        return round_to(torch.randn(*shape, generator=g) * s + mean, dtype)

    w = {'transformer.wte.weight': r(V, C, std=1.0)}
    for i in range(L):
        p = f'transformer.h.{i}.'
        w[p + 'ln_1.weight'] = r(C, std=0.2, mean=1.0)
        w[p + 'ln_1.bias'] = r(C, std=0.1)
        w[p + 'attn.qkv_proj.weight'] = r(3 * C, C, std=1.5 / math.sqrt(C))
        w[p + 'attn.out_proj.weight'] = r(C, C)
        w[p + 'mlp.fc_in.weight'] = r(inner, C)
        w[p + 'mlp.fc_in.bias'] = r(inner, std=0.1)
        w[p + 'mlp.fc_out.weight'] = r(C, inner)
        w[p + 'mlp.fc_out.bias'] = r(C, std=0.1)
    w['transformer.ln_f.weight'] = r(C, std=0.2, mean=1.0)
    w['transformer.ln_f.bias'] = r(C, std=0.1)
    w['lm_head.weight'] = r(V, C)
    w['lm_head.bias'] = r(V, std=0.1)
    return w


# ----------------------------------------------------------------------------- LLaMA / Qwen2
def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama3_inv_freq(inv_freq, rs):
    """transformers' _compute_llama3_parameters (modeling_rope_utils.py), transcribed."""
    factor, low, high = rs['factor'], rs['low_freq_factor'], rs['high_freq_factor']
    old = rs['original_max_position_embeddings']
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv_freq
    inv_llama = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_llama / factor + smooth * inv_llama
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_llama)


def llama_forward(cfg, w, ids, past=None):
    C, H = cfg['hidden_size'], cfg['num_attention_heads']
    Hkv = cfg.get('num_key_value_heads', H)
    D = C // H
    B, T = ids.shape
    Tp = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(Tp, Tp + T).float()
    inv_freq = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, D, 2).float() / D))
    rs = cfg.get('rope_scaling')
    if rs and rs['rope_type'] == 'llama3':
        inv_freq = llama3_inv_freq(inv_freq, rs)
    elif rs and rs['rope_type'] == 'linear':
        inv_freq = inv_freq / rs['factor']
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    eps = cfg['rms_norm_eps']
    x = w['model.embed_tokens.weight'][ids]
    presents = []

    def lin(h, name):
        y = h @ w[name + '.weight'].T
        return y + w[name + '.bias'] if name + '.bias' in w else y

    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        h = rms_norm(x, w[p + 'input_layernorm.weight'], eps)
        q = lin(h, p + 'self_attn.q_proj').view(B, T, H, D).transpose(1, 2)
        k = lin(h, p + 'self_attn.k_proj').view(B, T, Hkv, D).transpose(1, 2)
        v = lin(h, p + 'self_attn.v_proj').view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat((past[i][0], k), dim=2)
            v = torch.cat((past[i][1], v), dim=2)
        presents.append((k, v))
        rep = H // Hkv
        kk = k.repeat_interleave(rep, dim=1)
        vv = v.repeat_interleave(rep, dim=1)
        Tk = k.shape[2]
        causal = torch.tril(torch.ones(Tk, Tk, dtype=torch.bool))[Tk - T:Tk, :Tk]
        W = cfg.get('sliding_window') if cfg['model_type'] == 'mistral' else None
        if W is not None:
            qpos = torch.arange(Tk - T, Tk)[:, None]
            causal = causal & (torch.arange(Tk)[None, :] > qpos - W)
        scores = (q @ kk.transpose(-1, -2)) / math.sqrt(D)
        scores = scores.masked_fill(~causal, float('-inf'))
        o = (torch.softmax(scores, dim=-1) @ vv).transpose(1, 2).reshape(B, T, C)
        x = x + lin(o, p + 'self_attn.o_proj')
        h = rms_norm(x, w[p + 'post_attention_layernorm.weight'], eps)
        gate = torch.nn.functional.silu(lin(h, p + 'mlp.gate_proj'))
        x = x + lin(gate * lin(h, p + 'mlp.up_proj'), p + 'mlp.down_proj')
    x = rms_norm(x, w['model.norm.weight'], eps)
    head = w['lm_head.weight'] if 'lm_head.weight' in w else w['model.embed_tokens.weight']
    return x @ head.T, presents


def llama_weights(cfg, g, dtype, qkv_bias, tied):
    C, V, I = cfg['hidden_size'], cfg['vocab_size'], cfg['intermediate_size']
    H = cfg['num_attention_heads']
    Hkv = cfg.get('num_key_value_heads', H)
    D = C // H

    def r(*shape, std=None, mean=0.0):
        s = std if std is not None else 1.0 / math.sqrt(shape[-1])
        return round_to(torch.randn(*shape, generator=g) * s + mean, dtype)

    w = {'model.embed_tokens.weight': r(V, C, std=1.0)}
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        w[p + 'input_layernorm.weight'] = r(C, std=0.2, mean=1.0)
        w[p + 'self_attn.q_proj.weight'] = r(H * D, C, std=1.5 / math.sqrt(C))
        w[p + 'self_attn.k_proj.weight'] = r(Hkv * D, C, std=1.5 / math.sqrt(C))
        w[p + 'self_attn.v_proj.weight'] = r(Hkv * D, C)
        if qkv_bias:
            for n, m in (('q', H * D), ('k', Hkv * D), ('v', Hkv * D)):
                w[p + f'self_attn.{n}_proj.bias'] = r(m, std=0.3)
        w[p + 'self_attn.o_proj.weight'] = r(C, H * D)
        w[p + 'post_attention_layernorm.weight'] = r(C, std=0.2, mean=1.0)
        w[p + 'mlp.gate_proj.weight'] = r(I, C)
        w[p + 'mlp.up_proj.weight'] = r(I, C)
        w[p + 'mlp.down_proj.weight'] = r(C, I)
    w['model.norm.weight'] = r(C, std=0.2, mean=1.0)
    if not tied:
        w['lm_head.weight'] = r(V, C)
    return w


# ----------------------------------------------------------------------------- goldens
def expected(forward, cfg, w, V, g, B=2, T=7, prefill=3, greedy_steps=8):
    """Full-forward, cached and greedy goldens (greedy: 8 tokens after row 0 of input_ids)."""
    ids = torch.randint(0, V, (B, T), generator=g)
    logits, _ = forward(cfg, w, ids)
    # cached decoding: prefill `prefill` tokens, then one token per step
    lg, past = forward(cfg, w, ids[:, :prefill])
    steps = [flat(lg)]
    for t in range(prefill, T):
        lg, past = forward(cfg, w, ids[:, t:t + 1], past)
        steps.append(flat(lg))
    # greedy continuation of row 0 with the cache
    seq = ids[:1]
    lg, past = forward(cfg, w, seq)
    out = []
    for _ in range(greedy_steps):
        nxt = int(lg[0, -1].argmax())
        out.append(nxt)
        lg, past = forward(cfg, w, torch.tensor([[nxt]]), past)
    return {
        'input_ids': ids.tolist(), 'logits': flat(logits), 'shape': [B, T, V],
        'cached': {'prefill': prefill, 'logits': steps}, 'greedy': {'prompt': ids[0].tolist(), 'ids': out},
    }


def make_moss(name, cfg, seed, st_dtype, with_bin):
    g = torch.Generator().manual_seed(seed)
    wdtype = 'f16' if with_bin or st_dtype == 'f16' else st_dtype
    w = moss_weights(cfg, g, wdtype)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    save_json(os.path.join(folder, 'config.json'), cfg)
    write_safetensors(os.path.join(folder, 'model.safetensors'), w, st_dtype)
    exp = expected(moss_forward, cfg, w, cfg['vocab_size'], g)
    exp['note'] = 'made by dev/moss_reference.py'
    save_json(os.path.join(folder, 'expected.json'), exp)
    if with_bin:
        bfolder = folder + '-bin'
        os.makedirs(bfolder, exist_ok=True)
        save_json(os.path.join(bfolder, 'config.json'), cfg)
        C = cfg['n_embd']
        extra = {}
        for i in range(cfg['n_layer']):
            P = cfg['n_positions']
            extra[f'transformer.h.{i}.attn.causal_mask'] = torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P)
            extra[f'transformer.h.{i}.attn.masked_bias'] = torch.tensor(-1e9)
        write_torch_shards(bfolder, w, extra)
        assert C % 4 == 0


def make_llama(name, cfg, seed, st_dtype, qkv_bias, tied, **shape):
    g = torch.Generator().manual_seed(seed)
    w = llama_weights(cfg, g, st_dtype, qkv_bias, tied)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    save_json(os.path.join(folder, 'config.json'), cfg)
    write_safetensors(os.path.join(folder, 'model.safetensors'), w, st_dtype)
    exp = expected(llama_forward, cfg, w, cfg['vocab_size'], g, **shape)
    exp['note'] = 'made by dev/moss_reference.py'
    save_json(os.path.join(folder, 'expected.json'), exp)


if __name__ == '__main__':
    import sys
    only = set(sys.argv[1:])  # fixture names to (re)make; none: all
    moss_a = {
        'model_type': 'moss', 'architectures': ['MossForCausalLM'], 'n_embd': 32, 'n_layer': 2, 'n_head': 4,
        'rotary_dim': 4, 'n_positions': 64, 'n_ctx': 64, 'vocab_size': 50, 'layer_norm_epsilon': 1e-5,
        'n_inner': 64, 'activation_function': 'gelu_new', 'bos_token_id': 1, 'eos_token_id': 2,
        'torch_dtype': 'float16',
    }
    # 8 heads of 6 (two per shard), rotary on 4 of 6 dims, default n_inner (4C), wider eps
    moss_b = {
        'model_type': 'codegen', 'architectures': ['CodeGenForCausalLM'], 'n_embd': 48, 'n_layer': 2, 'n_head': 8,
        'rotary_dim': 4, 'n_positions': 32, 'n_ctx': 32, 'vocab_size': 37, 'layer_norm_epsilon': 1e-4,
        'n_inner': None, 'activation_function': 'gelu_new', 'bos_token_id': 0, 'eos_token_id': 0,
    }
    want = lambda name: not only or name in only  # noqa: E731
    if want('moss-a'):
        make_moss('moss-a', moss_a, 1, 'f32', with_bin=True)
    if want('moss-b'):
        make_moss('moss-b', moss_b, 2, 'f16', with_bin=False)
    llama = {
        'model_type': 'llama', 'architectures': ['LlamaForCausalLM'], 'hidden_size': 32, 'intermediate_size': 48,
        'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2, 'vocab_size': 40,
        'rms_norm_eps': 1e-6, 'rope_theta': 10000.0, 'max_position_embeddings': 64, 'tie_word_embeddings': False,
        'hidden_act': 'silu', 'bos_token_id': 1, 'eos_token_id': 2,
    }
    qwen2 = {
        'model_type': 'qwen2', 'architectures': ['Qwen2ForCausalLM'], 'hidden_size': 32, 'intermediate_size': 40,
        'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 1, 'vocab_size': 44,
        'rms_norm_eps': 1e-5, 'rope_theta': 1000000.0, 'max_position_embeddings': 64, 'tie_word_embeddings': True,
        'hidden_act': 'silu', 'bos_token_id': 3, 'eos_token_id': 4,
    }
    if want('llama-gqa'):
        make_llama('llama-gqa', llama, 3, 'f32', qkv_bias=False, tied=False)
    if want('qwen2-tied'):
        make_llama('qwen2-tied', qwen2, 4, 'bf16', qkv_bias=True, tied=True)
    # Llama 3.1-style rope scaling; head dim 8 with theta 100 puts one pair in each llama3 regime
    # (wavelengths 6.3 kept, 19.9 smoothed, 62.8 and 199 slowed by 8 for an original context of 32)
    llama3 = dict(llama, rope_theta=100.0, rope_scaling={'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0,
                                                          'high_freq_factor': 4.0, 'original_max_position_embeddings': 32})
    if want('llama3-rope'):
        make_llama('llama3-rope', llama3, 5, 'f32', qkv_bias=False, tied=False)
    # Mistral with a sliding window of 4 over 9-token rows (prefill 3 + 6 steps, each step past the
    # window) and 8 greedy tokens: every query from position 4 on drops keys
    mistral = dict(llama, model_type='mistral', architectures=['MistralForCausalLM'], sliding_window=4)
    if want('mistral-swa'):
        make_llama('mistral-swa', mistral, 6, 'f32', qkv_bias=False, tied=False, T=9)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print('fixtures:', total, 'bytes')
