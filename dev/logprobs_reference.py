#!/usr/bin/env python3
"""PyTorch reference for the goldens that pin the bundled models/moss-tiny (its weights and its
tokenizer): `/usr/bin/python3 dev/logprobs_reference.py`, whatever model is in models/moss-tiny.

Reads models/moss-tiny/model.safetensors by hand (numpy + struct, independent of src/io), runs
dev/moss_reference.py's MOSS forward (written from HF modeling_codegen.py) over a fixed id
sequence and writes, for every position t >= 1, log_softmax(logits[t-1])[ids[t]] and the top-5
(id, logprob) pairs, plus the greedy next id after the whole prompt and its top-5: what
/v1/completions with `echo`, `logprobs: 5`, `max_tokens: 1`, `temperature: 0` must answer
(test/fixtures/serve/logprobs-moss-tiny.json, test/serve/logprobs.test.ts).
The ids are TEXT in models/moss-tiny's tokenizer with the special tokens allowed (as
`moss tokenize --special allow --json`), encoded by dev/eval_reference.py's GPT-2 byte-level BPE
(its own pre-tokenizer and merge loop, not src/tokenizer); the same encoder writes
test/fixtures/serve/tokens-moss-tiny.json: the ids of the texts ENCODE that tests pin ("Hello" in
test/cli/defaults.test.ts, the human turn prefix in test/serve/logprobs.test.ts).
"""
import json
import os
import re
import struct

import numpy as np
import torch

from eval_reference import BPE
from moss_reference import moss_forward

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
MODEL = os.path.join(ROOT, 'models', 'moss-tiny')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'serve', 'logprobs-moss-tiny.json')
TOKENS_OUT = os.path.join(ROOT, 'test', 'fixtures', 'serve', 'tokens-moss-tiny.json')
HUMAN = '<|Human|>: What is 2 plus 3?<eoh>'
TEXT = HUMAN + '\n<|MOSS|>: 2 plus 3 is 5.<eom>'
ENCODE = ['Hello', HUMAN]
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


def encoder(folder):
    """Text -> ids with the folder's special tokens (special_tokens_map.json) allowed: each is one id, the text between them goes through the BPE."""
    bpe = BPE(folder)
    smap = json.load(open(os.path.join(folder, 'special_tokens_map.json'), encoding='utf-8'))
    special = sorted({*smap.get('additional_special_tokens', []), smap['eos_token'], smap['bos_token']}, key=len, reverse=True)
    split = re.compile('(' + '|'.join(map(re.escape, special)) + ')')

    def encode(text):
        return [i for part in split.split(text) if part for i in ([bpe.vocab[part]] if part in special else bpe.encode(part))]
    return encode


def main():
    encode = encoder(MODEL)
    IDS = encode(TEXT)
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
    with open(TOKENS_OUT, 'w') as f:
        json.dump({'made_by': 'dev/logprobs_reference.py', 'encode': {t: encode(t) for t in ENCODE}}, f)
        f.write('\n')
    print(f'wrote {TOKENS_OUT}: ' + ', '.join(f'{t!r} -> {encode(t)}' for t in ENCODE))
    print(f'wrote {OUT}: {len(prompt)} prompt positions, greedy next {nxt["id"]} ({nxt["logprob"]:.4f})')


if __name__ == '__main__':
    main()
