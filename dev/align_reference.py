#!/usr/bin/env python3
"""PyTorch reference for the preference-training goldens in test/fixtures/align/ (run with Debian's
python3-torch: `/usr/bin/python3 dev/align_reference.py`). TRL does not install here, so TRL's
formulas are written out below from its source (huggingface/trl, see ../shared/ALIGNMENT.md §1):

- RewardTrainer.compute_loss: rewards read at the last real token; loss
  -logsigmoid(r_c - r_r - margin).mean() + center * mean((r_c + r_r)**2); accuracy mean(r_c > r_r).
  HF's pooling (GenericForSequenceClassification) takes the rightmost token that is not the pad id;
  with pad == eos (MOSS pads with <eom>) that lands before the final <eom>, so the pooled index here
  comes from the attention mask (mask.sum(-1) - 1), and both indices are recorded.
- DPOTrainer: chosen and rejected rows concatenated along the batch and right-padded; per-token
  log-probs = log_softmax(logits[:, :-1]).gather(labels[:, 1:]) zeroed where labels[:, 1:] == -100,
  summed per row (divided by the completion length for IPO); sigmoid: -logsigmoid(beta * logits),
  IPO: (logits - 1/(2 beta))**2 with logits = (pi_c - pi_r) - (ref_c - ref_r); rewards/chosen =
  beta * (pi_c - ref_c), rewards/accuracies = mean(r_c > r_r), rewards/margins, logps/chosen|rejected.
- CPOTrainer with loss_type="simpo", cpo_alpha=0: average log-probs, logits = (pi_c - pi_r) - gamma/beta,
  -logsigmoid(beta * logits); rewards = beta * pi.
- ORPOTrainer: average log-probs; log_odds = (c - r) - (log1p(-exp(c)) - log1p(-exp(r)));
  loss = NLL(chosen) - beta * mean(logsigmoid(log_odds)); rewards = beta * pi.
- KTO as MOSS.ts reads pairs (chosen desirable, rejected undesirable; KL = clamp(mean logratio, 0),
  detached — TRL estimates KL on mismatched pairs instead): 1 - sigmoid(beta (logratio - KL)) and
  1 - sigmoid(beta (KL - logratio)), averaged.

A tiny MOSS (written from modeling_codegen.py, dev/moss_reference.py's moss_forward), f32, random
weights (policy, and a perturbed reference), three pairs of uneven lengths with prompt labels -100
and one masked plugin-result span. Outputs: test/fixtures/align/{policy,reference}/ (config.json,
model.safetensors) and golden.json (sequences, losses, metrics, gradients of chosen tensors and the
sum of squares of all gradients).
"""
import json
import math
import os

import torch

import moss_reference as mr

torch.set_grad_enabled(True)  # moss_reference switches it off for its inference goldens
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'align')
F = torch.nn.functional
IGNORE = -100

CFG = {
    'model_type': 'moss', 'architectures': ['MossForCausalLM'], 'n_embd': 16, 'n_layer': 2, 'n_head': 4,
    'rotary_dim': 2, 'n_positions': 32, 'n_ctx': 32, 'vocab_size': 40, 'layer_norm_epsilon': 1e-5,
    'n_inner': 32, 'activation_function': 'gelu_new', 'bos_token_id': 1, 'eos_token_id': 2, 'torch_dtype': 'float32',
}
EOS = 2
GRAD_NAMES = ['transformer.h.0.attn.qkv_proj.weight', 'transformer.h.1.mlp.fc_in.bias', 'transformer.wte.weight']


def r9(xs):
    return [float(f'{x:.9g}') for x in xs]


def make_seqs(g):
    """Three pairs: (prompt length, chosen completion length, rejected completion length); every sequence ends with EOS."""
    shapes = [(4, 5, 7), (6, 3, 2), (3, 8, 4)]
    pairs = []
    for i, (p, c, r) in enumerate(shapes):
        prompt = torch.randint(3, CFG['vocab_size'], (p,), generator=g).tolist()
        def seq(n):
            body = torch.randint(3, CFG['vocab_size'], (n - 1,), generator=g).tolist() + [EOS]
            ids = prompt + body
            labels = [IGNORE] * p + body
            return {'ids': ids, 'labels': labels, 'promptLen': p}
        ch, rj = seq(c), seq(r)
        if i == 2:  # a plugin-result body inside the chosen completion carries no loss (SFT mask)
            for t in range(p + 2, p + 5):
                ch['labels'][t] = IGNORE
        pairs.append({'chosen': ch, 'rejected': rj, 'margin': [0.0, 0.5, 0.0][i]})
    return pairs


def pad_rows(seqs, pad):
    T = max(len(s['ids']) for s in seqs)
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    labels = torch.full((len(seqs), T), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for n, s in enumerate(seqs):
        L = len(s['ids'])
        ids[n, :L] = torch.tensor(s['ids'])
        labels[n, :L] = torch.tensor(s['labels'])
        mask[n, :L] = 1
    return ids, labels, mask


def hidden_forward(w, ids):
    """Hidden states after ln_f: moss_forward with the LM head replaced by the identity."""
    C = CFG['n_embd']
    w2 = dict(w)
    w2['lm_head.weight'] = torch.eye(C)
    w2['lm_head.bias'] = torch.zeros(C)
    return mr.moss_forward(CFG, w2, ids)[0]


def logps(w, seqs, pad, average):
    """TRL DPOTrainer's concatenated_forward log-probs (+ ORPO's chosen NLL on the first half)."""
    ids, labels, _ = pad_rows(seqs, pad)
    logits = mr.moss_forward(CFG, w, ids)[0].float()
    lab = labels[:, 1:].clone()
    loss_mask = lab != IGNORE
    lab[~loss_mask] = 0
    per_token = torch.gather(logits[:, :-1].log_softmax(-1), 2, lab.unsqueeze(-1)).squeeze(-1)
    per_token = per_token * loss_mask
    out = per_token.sum(-1)
    if average:
        out = out / loss_mask.sum(-1)
    P = len(seqs) // 2
    nll = F.cross_entropy(logits[:P, :-1].reshape(-1, logits.shape[-1]), labels[:P, 1:].reshape(-1), ignore_index=IGNORE)
    return out, nll


def grads_of(w):
    out = {n: r9(w[n].grad.reshape(-1).tolist()) for n in GRAD_NAMES if n in w and w[n].grad is not None}
    sq = sum(float((t.grad.double() ** 2).sum()) for t in w.values() if t.grad is not None)
    return out, sq


def fresh(w):
    return {k: v.detach().clone().requires_grad_(True) for k, v in w.items()}


def dpo_case(wp, wr, pairs, loss_type, beta, gamma=0.0):
    P = len(pairs)
    seqs = [p['chosen'] for p in pairs] + [p['rejected'] for p in pairs]
    average = loss_type in ('ipo', 'simpo', 'orpo')
    w = fresh(wp)
    pi, nll = logps(w, seqs, EOS, average)
    with torch.no_grad():
        ref, _ = logps(wr, seqs, EOS, average)
    pc, pr, rc_, rr_ = pi[:P], pi[P:], ref[:P], ref[P:]
    extra = {}
    if loss_type in ('sigmoid', 'ipo'):
        logits = (pc - pr) - (rc_ - rr_)
        losses = -F.logsigmoid(beta * logits) if loss_type == 'sigmoid' else (logits - 1 / (2 * beta)) ** 2
        cr, rr = beta * (pc - rc_).detach(), beta * (pr - rr_).detach()
        loss = losses.mean()
    elif loss_type == 'simpo':
        logits = (pc - pr) - gamma / beta
        loss = (-F.logsigmoid(beta * logits)).mean()
        cr, rr = beta * pc.detach(), beta * pr.detach()
    elif loss_type == 'orpo':
        log_odds = (pc - pr) - (torch.log1p(-torch.exp(pc)) - torch.log1p(-torch.exp(pr)))
        ratio = F.logsigmoid(log_odds)
        loss = nll - (beta * ratio).mean()
        cr, rr = beta * pc.detach(), beta * pr.detach()
        extra = {'nll_loss': float(nll), 'log_odds_ratio': float(ratio.mean()), 'log_odds_chosen': float(log_odds.mean())}
    else:  # kto, paired data read as unpaired
        lc, lr = pc - rc_, pr - rr_
        kl = torch.cat([lc, lr]).mean().clamp(min=0).detach()
        losses = torch.cat([1 - torch.sigmoid(beta * (lc - kl)), 1 - torch.sigmoid(beta * (kl - lr))])
        loss = losses.mean()
        cr, rr = beta * lc.detach(), beta * lr.detach()
        extra = {'kl': float(kl)}
    loss.backward()
    g, sq = grads_of(w)
    metrics = {
        'rewards/chosen': float(cr.mean()), 'rewards/rejected': float(rr.mean()),
        'rewards/accuracies': float((cr > rr).float().mean()), 'rewards/margins': float((cr - rr).mean()),
        'logps/chosen': float(pc.detach().mean()), 'logps/rejected': float(pr.detach().mean()), **extra,
    }
    return {
        'loss_type': loss_type, 'beta': beta, 'gamma': gamma, 'loss': float(loss), 'metrics': metrics,
        'policy_logps': r9(pi.detach().tolist()), 'ref_logps': r9(ref.tolist()), 'grads': g, 'grad_sq_sum': sq,
    }


def pm_case(wp, score, pairs, center):
    P = len(pairs)
    seqs = [p['chosen'] for p in pairs] + [p['rejected'] for p in pairs]
    w = fresh(wp)
    s = score.clone().requires_grad_(True)
    ids, _, mask = pad_rows(seqs, EOS)  # pad == eos, MOSS's case
    h = hidden_forward(w, ids)
    scores = (h @ s.T).squeeze(-1)  # (N, T)
    idx = mask.sum(-1) - 1
    rewards = scores[torch.arange(len(seqs)), idx]
    rc, rr = rewards[:P], rewards[P:]
    margin = torch.tensor([p['margin'] for p in pairs])
    loss = -F.logsigmoid(rc - rr - margin).mean() + center * torch.mean((rc + rr) ** 2)
    loss.backward()
    g, sq = grads_of(w)
    g['score.weight'] = r9(s.grad.reshape(-1).tolist())
    sq += float((s.grad.double() ** 2).sum())
    # HF's pooling: the rightmost token that is not the pad id (token_indices * non_pad_mask).argmax(-1)
    def hf_index(ids, pad):
        non_pad = (ids != pad).long()
        return (torch.arange(ids.shape[1]) * non_pad).argmax(-1)
    ids0, _, mask0 = pad_rows(seqs, 0)  # pad 0 != eos: HF's rule and the mask agree
    return {
        'center': center, 'loss': float(loss), 'rewards': r9(rewards.detach().tolist()),
        'accuracy': float((rc > rr).float().mean()), 'margin': float((rc - rr).mean()),
        'grads': g, 'grad_sq_sum': sq,
        'mask_index': idx.tolist(), 'hf_index_pad_eq_eos': hf_index(ids, EOS).tolist(),
        'hf_index_pad_ne_eos': hf_index(ids0, 0).tolist(), 'mask_index_pad_ne_eos': (mask0.sum(-1) - 1).tolist(),
    }


def main():
    g = torch.Generator().manual_seed(17)
    wp = mr.moss_weights(CFG, g, 'f32')
    wr = {k: mr.round_to(v + 0.05 * torch.randn(v.shape, generator=g), 'f32') for k, v in wp.items()}
    score = torch.randn(1, CFG['n_embd'], generator=g) / math.sqrt(CFG['n_embd'] + 1)
    pairs = make_seqs(g)
    for name, w in (('policy', wp), ('reference', wr)):
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        mr.save_json(os.path.join(folder, 'config.json'), CFG)
        mr.write_safetensors(os.path.join(folder, 'model.safetensors'), w, 'f32')
    golden = {
        'note': 'made by dev/align_reference.py (PyTorch, TRL formulas written out)', 'eos': EOS, 'pairs': pairs,
        'score_weight': r9(score.reshape(-1).tolist()), 'grad_names': GRAD_NAMES,
        'pm': [pm_case(wp, score, pairs, 0.0), pm_case(wp, score, pairs, 0.01)],
        'dpo': [
            dpo_case(wp, wr, pairs, 'sigmoid', 0.1), dpo_case(wp, wr, pairs, 'ipo', 0.1),
            dpo_case(wp, wr, pairs, 'simpo', 2.5, 1.375), dpo_case(wp, wr, pairs, 'orpo', 0.1),
            dpo_case(wp, wr, pairs, 'kto', 0.1),
        ],
    }
    mr.save_json(os.path.join(OUT, 'golden.json'), golden)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print('fixtures:', total, 'bytes')
    for c in golden['dpo']:
        print(c['loss_type'], c['loss'], c['metrics'])
    for c in golden['pm']:
        print('pm', c['loss'], c['rewards'], c['mask_index'], c['hf_index_pad_eq_eos'])


if __name__ == '__main__':
    main()
