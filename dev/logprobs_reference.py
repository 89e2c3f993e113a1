#!/usr/bin/env python3
"""PyTorch reference for the serve logprobs golden (test/fixtures/serve/logprobs-moss-tiny.json):
`/usr/bin/python3 dev/logprobs_reference.py`.

Reads the bundled models/moss-tiny/model.safetensors by hand (numpy + struct, independent of
src/io), runs dev/moss_reference.py's MOSS forward (written from HF modeling_codegen.py) over a
fixed id sequence and writes, for every position t >= 1, log_softmax(logits[t-1])[ids[t]] and
the top-5 (id, logprob) pairs, plus the greedy next id after the whole prompt and its top-5:
what /v1/completions with `echo`, `logprobs: 5`, `max_tokens: 1`, `temperature: 0` must answer.
The ids are `<|Human|>: What is 2 plus 3?<eoh>\n<|MOSS|>: 2 plus 3 is 5.<eom>` in moss-tiny's
tokenizer (`moss tokenize --special allow --json`): tokenization is not what this checks.
"""
import json
import os
import struct

import numpy as np
import torch

from moss_reference import moss_forward

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
MODEL = os.path.join(ROOT, 'models', 'moss-tiny')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'serve', 'logprobs-moss-tiny.json')
IDS = [275, 437, 278, 1569, 314, 220, 17, 1083, 277, 220, 18, 30, 4091, 198, 275, 293, 278, 220, 17, 1083, 277, 220, 18, 314, 220, 20, 13, 4095]
TOP = 5
torch.set_grad_enabled(False)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        assert h['dtype'] == 'F32', (name, h['dtype'])
        a, b = h['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype='<f4').reshape(h['shape']).copy())
    return out


def main():
    cfg = json.load(open(os.path.join(MODEL, 'config.json')))
    w = read_safetensors(os.path.join(MODEL, 'model.safetensors'))
    logits, _ = moss_forward(cfg, w, torch.tensor([IDS], dtype=torch.int64))
    lp = torch.log_softmax(logits[0].double(), dim=-1)  # (T, V)
    prompt = []
    for t in range(1, len(IDS)):
        v, i = torch.topk(lp[t - 1], TOP)
        prompt.append({'logprob': lp[t - 1, IDS[t]].item(), 'top': [[int(a), float(b)] for a, b in zip(i.tolist(), v.tolist())]})
    v, i = torch.topk(lp[-1], TOP)
    nxt = {'id': int(i[0]), 'logprob': float(v[0]), 'top': [[int(a), float(b)] for a, b in zip(i.tolist(), v.tolist())]}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({'made_by': 'dev/logprobs_reference.py', 'ids': IDS, 'top': TOP, 'prompt': prompt, 'next': nxt}, f)
        f.write('\n')
    print(f'wrote {OUT}: {len(prompt)} prompt positions, greedy next {nxt["id"]} ({nxt["logprob"]:.4f})')


if __name__ == '__main__':
    main()
