#!/usr/bin/env python3
"""Independent goldens for the backend ops (checked against `ref` by test/backends/ref-goldens.test.ts).

Writes small JSON fixtures to test/fixtures/backends/. References:
  * PyTorch 1.13 (Debian python3-torch) in float64 on float32 inputs: gelu (erf and tanh), silu and
    their derivatives, layer_norm / an RMSNorm module fwd+bwd, softmax / log_softmax, attention
    (explicit mask, repeat_interleave for GQA), cross_entropy(ignore_index) loss + grad,
    torch.optim.AdamW (float32, three steps), matmul with transposed operands.
  * numpy re-implementations: rope (rotation in numpy, float32 frequencies/sin/cos via torch) following GPT-J `rotate_every_two` (interleaved pairs) and LLaMA
    `rotate_half` (half-split pairs) with partial rotary_dim and float32 frequencies like HF;
    ggml's reference quantizers quantize_row_q8_0_ref / quantize_row_q4_0_ref in float32.
Run: /usr/bin/python3 dev/golden_backend_ops.py   (deterministic; rewrites the fixtures)
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'backends')
rng = np.random.RandomState(1234)
f32 = np.float32


def r32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(f32)


def L(a):
    """Exact JSON list of a float32/int array (a float32 value's shortest double repr parses back exactly)."""
    a = np.asarray(a)
    if a.dtype.kind in 'iub':
        return [int(v) for v in a.reshape(-1)]
    return [float(f32(v)) for v in a.reshape(-1)]


def T(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def save(name, doc):
    doc = {'generator': 'dev/golden_backend_ops.py (numpy %s, torch %s)' % (np.__version__, torch.__version__), **doc}
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')


def grad_of(fn, x):
    t = T(x).requires_grad_(True)
    fn(t).sum().backward()
    return t.grad.numpy()


# --- activations ---
x = np.concatenate([np.linspace(-8, 8, 97).astype(f32), r32(64, scale=3.0), np.array([0, -0.5, 0.5, 1e-4, -30, 30], f32)])
save('activations.json', {
    'x': L(x),
    'gelu': L(F.gelu(T(x)).numpy()),
    'gelu_new': L(F.gelu(T(x), approximate='tanh').numpy()),
    'silu': L(F.silu(T(x)).numpy()),
    'gelu_grad': L(grad_of(F.gelu, x)),
    'gelu_new_grad': L(grad_of(lambda t: F.gelu(t, approximate='tanh'), x)),
    'silu_grad': L(grad_of(F.silu, x)),
})

# --- norms ---
R, D, eps = 5, 33, 1e-5
x, w, b, dy = r32(R, D, scale=2.0) + f32(0.5), r32(D), r32(D), r32(R, D)
tx, tw, tb = T(x).requires_grad_(True), T(w).requires_grad_(True), T(b).requires_grad_(True)
y = F.layer_norm(tx, (D,), tw, tb, eps)
y.backward(T(dy))
xd = T(x)
mean = xd.mean(-1)
rstd = 1 / torch.sqrt(xd.var(-1, unbiased=False) + eps)
ln = {'rows': R, 'dim': D, 'eps': eps, 'x': L(x), 'w': L(w), 'b': L(b), 'dy': L(dy), 'y': L(y.detach().numpy()),
      'mean': L(mean.numpy()), 'rstd': L(rstd.numpy()), 'dx': L(tx.grad.numpy()), 'dw': L(tw.grad.numpy()), 'db': L(tb.grad.numpy())}
tx, tw = T(x).requires_grad_(True), T(w).requires_grad_(True)
rs = torch.rsqrt(tx.pow(2).mean(-1, keepdim=True) + eps)  # LLaMA RMSNorm
y = tx * rs * tw
y.backward(T(dy))
rms = {'rows': R, 'dim': D, 'eps': eps, 'x': L(x), 'w': L(w), 'dy': L(dy), 'y': L(y.detach().numpy()),
       'rstd': L(rs.detach().numpy()), 'dx': L(tx.grad.numpy()), 'dw': L(tw.grad.numpy())}
save('norms.json', {'layer_norm': ln, 'rms_norm': rms})

# --- softmax ---
x = r32(3, 65, scale=4.0)
save('softmax.json', {'shape': [3, 65], 'x': L(x), 'softmax': L(F.softmax(T(x), -1).numpy()),
                      'log_softmax': L(F.log_softmax(T(x), -1).numpy())})


# --- rope ---
def rope_np(x, pos, rd, base, interleaved, inverse=False):
    """x (B, T, H, D) float32, pos (B, T) int. HF-style float32 frequencies and angles."""
    # frequencies, angles, sin and cos in torch float32 exactly as HF computes them (numpy's float32
    # pow differs from torch's by an ulp, which moves angles near position 2047 visibly)
    inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2).float() / rd))
    ang = torch.tensor(pos, dtype=torch.float32)[..., None] * inv_freq  # (B, T, rd/2), float32
    sin, cos = torch.sin(ang).numpy().astype(np.float64), torch.cos(ang).numpy().astype(np.float64)
    if inverse:
        sin = -sin
    xr, xp = x[..., :rd].astype(np.float64), x[..., rd:]
    if interleaved:  # GPT-J: duplicate_interleave + rotate_every_two
        sin_f = np.repeat(sin, 2, axis=-1)[:, :, None, :]
        cos_f = np.repeat(cos, 2, axis=-1)[:, :, None, :]
        x1, x2 = xr[..., ::2], xr[..., 1::2]
        rot = np.stack((-x2, x1), axis=-1).reshape(xr.shape)
    else:  # LLaMA: cat(freqs, freqs) + rotate_half
        sin_f = np.concatenate([sin, sin], -1)[:, :, None, :]
        cos_f = np.concatenate([cos, cos], -1)[:, :, None, :]
        h = rd // 2
        rot = np.concatenate([-xr[..., h:], xr[..., :h]], -1)
    return np.concatenate([xr * cos_f + rot * sin_f, xp], -1)


B, Tn, H, D = 2, 3, 2, 12
x = r32(B, Tn, H, D)
pos = np.array([[0, 1, 2], [100, 101, 2047]], dtype=np.int32)
ropes = []
for rd, inter, base in [(8, True, 10000.0), (8, False, 10000.0), (12, False, 500000.0), (12, True, 10000.0)]:
    for inv in (False, True):
        ropes.append({'rotaryDim': rd, 'interleaved': inter, 'base': base, 'inverse': inv,
                      'y': L(rope_np(x, pos, rd, base, inter, inv))})
save('rope.json', {'shape': [B, Tn, H, D], 'x': L(x), 'positions': L(pos), 'cases': ropes})


# --- attention ---
def attn_ref(q, k, v, scale, causal, past, kvlen):
    Bq, Hq, Tq, _ = q.shape
    Hkv, Tk = k.shape[1], k.shape[2]
    kk = T(k).repeat_interleave(Hq // Hkv, dim=1)
    vv = T(v).repeat_interleave(Hq // Hkv, dim=1)
    s = T(q) @ kk.transpose(-1, -2) * scale
    mask = torch.zeros(Bq, 1, Tq, Tk, dtype=torch.bool)
    for bi in range(Bq):
        for i in range(Tq):
            for j in range(Tk):
                mask[bi, 0, i, j] = j < kvlen[bi] and (not causal or j <= past[bi] + i)
    s = s.masked_fill(~mask, float('-inf'))
    return (torch.softmax(s, -1) @ vv).numpy()


attns = []
for (Bq, Hq, Hkv, Tq, Tk, Dh, causal, past, kvlen) in [
        (2, 4, 2, 3, 7, 8, True, [4, 2], [7, 5]),
        (1, 3, 3, 5, 5, 16, True, [0], [5]),
        (2, 2, 1, 2, 6, 8, False, [0, 0], [6, 3])]:
    q, k, v = r32(Bq, Hq, Tq, Dh), r32(Bq, Hkv, Tk, Dh), r32(Bq, Hkv, Tk, Dh)
    scale = 1 / np.sqrt(Dh)
    attns.append({'q_shape': [Bq, Hq, Tq, Dh], 'kv_shape': [Bq, Hkv, Tk, Dh], 'scale': scale, 'causal': causal,
                  'pastLen': past, 'kvLen': kvlen, 'q': L(q), 'k': L(k), 'v': L(v),
                  'out': L(attn_ref(q, k, v, scale, causal, past, kvlen))})
save('attention.json', {'cases': attns})

# --- cross entropy ---
N, V = 6, 11
logits = r32(N, V, scale=3.0)
targets = np.array([3, -100, 0, 10, -100, 7], dtype=np.int64)
tl = T(logits).requires_grad_(True)
loss_none = F.cross_entropy(tl, torch.tensor(targets), ignore_index=-100, reduction='none')
F.cross_entropy(tl, torch.tensor(targets), ignore_index=-100, reduction='mean').backward()
save('cross_entropy.json', {'N': N, 'V': V, 'ignoreIndex': -100, 'logits': L(logits), 'targets': L(targets),
                            'loss': L(loss_none.detach().numpy()), 'gscale': 1.0 / int((targets != -100).sum()),
                            'dlogits': L(tl.grad.numpy())})

# --- AdamW (float32, like training) ---
hp = {'lr': 1e-2, 'beta1': 0.9, 'beta2': 0.95, 'eps': 1e-8, 'weightDecay': 0.1}
p0 = r32(37)
param = torch.nn.Parameter(torch.tensor(p0))
opt = torch.optim.AdamW([param], lr=hp['lr'], betas=(hp['beta1'], hp['beta2']), eps=hp['eps'], weight_decay=hp['weightDecay'])
steps = []
for s in range(3):
    g = r32(37, scale=0.5)
    param.grad = torch.tensor(g)
    opt.step()
    st = opt.state[param]
    steps.append({'grad': L(g), 'param': L(param.detach().numpy()), 'm': L(st['exp_avg'].numpy()), 'v': L(st['exp_avg_sq'].numpy())})
save('adamw.json', {'hp': hp, 'param0': L(p0), 'steps': steps})


# --- ggml quantizers (numpy, float32 arithmetic as in ggml-quants.c) ---
def roundf(v):  # C roundf: half away from zero (exact in float64 for float32 v)
    v = v.astype(np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def q8_0(x):
    out = bytearray()
    for blk in x.reshape(-1, 32):
        amax = np.abs(blk).max()
        d = f32(amax / f32(127))
        idv = f32(1) / d if d != 0 else f32(0)
        q = roundf((blk * idv).astype(f32)).astype(np.int8)
        out += np.float16(d).tobytes() + q.tobytes()
    return np.frombuffer(bytes(out), dtype=np.uint8)


def q4_0(x):
    out = bytearray()
    for blk in x.reshape(-1, 32):
        amax, mx = f32(0), f32(0)
        for v in blk:
            if amax < abs(v):
                amax, mx = abs(v), v
        d = f32(mx / f32(-8))
        idv = f32(1) / d if d != 0 else f32(0)
        xi = np.minimum(15, np.trunc((blk * idv).astype(f32) + f32(8.5)).astype(np.int32))
        qs = (xi[:16] | (xi[16:] << 4)).astype(np.uint8)
        out += np.float16(d).tobytes() + qs.tobytes()
    return np.frombuffer(bytes(out), dtype=np.uint8)


def deq(by, kind):
    bs = 34 if kind == 'q8' else 18
    vals = []
    for i in range(len(by) // bs):
        blk = by[i * bs:(i + 1) * bs]
        d = np.frombuffer(bytes(blk[:2]), dtype=np.float16)[0].astype(f32)
        if kind == 'q8':
            q = np.frombuffer(bytes(blk[2:]), dtype=np.int8).astype(f32)
        else:
            qs = blk[2:].astype(np.int32)
            q = np.concatenate([(qs & 15) - 8, (qs >> 4) - 8]).astype(f32)
        vals.append(q * d)
    return np.concatenate(vals)


qx = np.concatenate([r32(32, scale=2.0), r32(32, scale=0.01) + f32(0.3), np.zeros(32, f32),
                     np.array([-7, 7] + [i * 0.25 for i in range(-15, 15)], f32)]).astype(f32)
b8, b4 = q8_0(qx), q4_0(qx)
save('quant.json', {'x': L(qx), 'q8_0': L(b8), 'q4_0': L(b4), 'q8_0_deq': L(deq(b8, 'q8')), 'q4_0_deq': L(deq(b4, 'q4'))})

# --- matmul with transposed operands: out = a @ b with a stored (2, 5, 3) and b stored (4, 5) ---
a_st, b_st = r32(2, 5, 3), r32(4, 5)
out = T(a_st).transpose(-1, -2) @ T(b_st).t()  # (2, 3, 4), b broadcast over the batch
save('matmul.json', {'a_stored_shape': [2, 5, 3], 'b_stored_shape': [4, 5], 'a': L(a_st), 'b': L(b_st),
                     'out_shape': [2, 3, 4], 'out': L(out.numpy())})
print('wrote fixtures to', os.path.normpath(OUT))
