"""PyTorch peer for `npm run bench -- train`: the same MOSS/CodeGen architecture (parallel
attention + MLP block, fused qkv without bias split q/v/k per 4 shards, GPT-J interleaved rotary on
the first rotary_dim dims, gelu_new MLP, lm_head with bias), same shapes, f32 on CPU,
forward + backward + AdamW; prints one JSON line with tokens_per_s (best step).
--mode dpo: a DPO step as TRL's DPOTrainer (B/2 pairs: chosen and rejected rows in one policy
forward with grad, the same rows through a frozen reference copy without grad, completion log-probs
summed past a 64-token prompt (8 with --toy), -logsigmoid(beta * logits)); --mode pm: a reward-model step (the
backbone's last hidden state through Linear(C, 1, bias=False) at the last token, Bradley-Terry loss).
Tokens/s counts the policy's rows (B x T) in every mode.
Needs Debian's python3-torch (1.13: no F.scaled_dot_product_attention, so attention is composed
like HF's modeling_codegen.py). Usage: /usr/bin/python3 dev/train_bench_torch.py --threads 2 --steps 2 [--mode lm|dpo|pm] [--toy]
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--steps', type=int, default=2)
ap.add_argument('--mode', choices=['lm', 'dpo', 'pm'], default='lm')
ap.add_argument('--toy', action='store_true', help="bench/train.ts's --toy shapes (a smoke check of the row, not a figure)")
A = ap.parse_args()

V, C, L, H, R, B, T, PROMPT = (256, 32, 2, 4, 4, 4, 32, 8) if A.toy else (8192, 384, 6, 8, 16, 8, 256, 64)
D = C // H


def rotate_every_two(x):
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def rope(x, sin, cos):  # x (B, T, H, R)
    return x * cos + rotate_every_two(x) * sin


CAUSAL = torch.ones(T, T, dtype=torch.bool).tril()


def attention(q, k, v):  # (B, H, T, D); torch >= 2.0 has a fused kernel, 1.13 (Debian) does not
    if hasattr(F, 'scaled_dot_product_attention'):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D))  # as HF modeling_codegen.py does it
    return torch.softmax(s.masked_fill(~CAUSAL, float('-inf')), dim=-1) @ v


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.qkv_proj = nn.Linear(C, 3 * C, bias=False)
        self.out_proj = nn.Linear(C, C, bias=False)
        self.fc_in = nn.Linear(C, 4 * C)
        self.fc_out = nn.Linear(4 * C, C)

    def forward(self, x, sin, cos):
        h = self.ln_1(x)
        qkv = self.qkv_proj(h).view(B, T, 4, 3 * C // 4)
        local = C // 4
        q, v, k = (qkv[..., i * local:(i + 1) * local].reshape(B, T, H, D) for i in range(3))
        q = torch.cat([rope(q[..., :R], sin, cos), q[..., R:]], -1)
        k = torch.cat([rope(k[..., :R], sin, cos), k[..., R:]], -1)
        a = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        a = self.out_proj(a.transpose(1, 2).reshape(B, T, C))
        m = self.fc_out(F.gelu(self.fc_in(h), approximate='tanh'))
        return x + a + m


class Moss(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V)
        inv = 1.0 / (10000 ** (torch.arange(0, R, 2).float() / R))
        ang = torch.arange(T).float()[:, None] * inv[None, :]  # (T, R/2)
        self.register_buffer('sin', torch.repeat_interleave(ang.sin(), 2, -1)[None, :, None, :])
        self.register_buffer('cos', torch.repeat_interleave(ang.cos(), 2, -1)[None, :, None, :])

    def hidden(self, ids):
        x = self.wte(ids)
        for b in self.h:
            x = b(x, self.sin, self.cos)
        return self.ln_f(x)

    def forward(self, ids):
        return self.lm_head(self.hidden(ids))


def main():
    a = A
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Moss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, V, (B, T))
    tg = torch.randint(0, V, (B * T,))

    P, prompt, beta = B // 2, PROMPT, 0.1
    mask = torch.zeros(B, T - 1)
    mask[:, prompt - 1:] = 1  # targets past the prompt

    def seq_logps(m, x):
        lp = m(x)[:, :-1].log_softmax(-1).gather(-1, x[:, 1:, None]).squeeze(-1)
        return (lp * mask).sum(-1)

    if a.mode == 'dpo':
        ref = Moss()
        ref.load_state_dict(model.state_dict())
        ref.requires_grad_(False)
    if a.mode == 'pm':
        score = nn.Linear(C, 1, bias=False)
        opt = torch.optim.AdamW(list(model.parameters()) + list(score.parameters()), lr=1e-4)

    def step():
        if a.mode == 'lm':
            loss = F.cross_entropy(model(ids).view(B * T, V), tg)
        elif a.mode == 'dpo':
            pi = seq_logps(model, ids)
            with torch.no_grad():
                rf = seq_logps(ref, ids)
            loss = -F.logsigmoid(beta * ((pi[:P] - pi[P:]) - (rf[:P] - rf[P:]))).mean()
        else:
            r = score(model.hidden(ids))[:, -1, 0]
            loss = -F.logsigmoid(r[:P] - r[P:]).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    best = math.inf
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    # the PM's parameters are the backbone's and the score head's (its lm_head is unused)
    params = sum(p.numel() for n, p in model.named_parameters() if a.mode != 'pm' or not n.startswith('lm_head.')) + (C if a.mode == 'pm' else 0)
    print(json.dumps({'engine': 'pytorch', 'mode': a.mode, 'torch': torch.__version__, 'threads': a.threads, 'params': params, 'tokens_per_s': B * T / best}))


if __name__ == '__main__':
    main()
