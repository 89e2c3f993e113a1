#!/usr/bin/env python3
"""Reference for `moss eval` (run with Debian's python3-torch: `/usr/bin/python3 dev/eval_reference.py`).

Independent of src/: written from lm-evaluation-harness's own task files and model code
(EleutherAI/lm-evaluation-harness: lm_eval/tasks/mmlu/default/_default_template_yaml and
_generate_configs.py, lm_eval/tasks/cmmlu/_default_template_yaml and _generate_configs.py,
lm_eval/tasks/ceval/_default_ceval_yaml, lm_eval/tasks/gsm8k/gsm8k-cot.yaml,
lm_eval/tasks/humaneval/humaneval-greedy.yaml; lm_eval/api/task.py fewshot_context with
target_delimiter " " and fewshot_delimiter "\\n\\n", sampler first_n; lm_eval/models/huggingface.py
_encode_pair and _loglikelihood_tokens; lm_eval/filters/extraction.py RegexFilter; exact_match with
regexes_to_ignore and ignore_case).

Writes test/fixtures/eval/: two tiny random-weight checkpoints (moss-rand: MOSS/CodeGen; llama-rand:
LLaMA with GQA), both with the bundled models/moss-tiny byte-level BPE tokenizer (copied), and
golden.json: for a fixed subset (MMLU 5 subjects x 20 questions 5-shot, CMMLU 5 x 20 5-shot, C-Eval
1 x 20 0-shot, the same MMLU items with the choice texts as continuations (multi-token path), and a
few items with max_length 160 (left truncation)): sha256 of each prompt, continuation token ids and
per-choice log-likelihoods on both models; GSM8K (50 test prompts, gsm8k_cot 8-shot) and HumanEval
(20 prompts) prompt hashes; strict / flexible extraction and exact match on a table of outputs.
The GPT-2 pre-tokenizer and BPE are re-implemented here (unicodedata classes) so no tokenizer
library is needed.
"""
import csv
import gzip
import hashlib
import json
import os
import re
import shutil
import sys
import unicodedata

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from moss_reference import llama_forward, llama_weights, moss_forward, moss_weights, save_json, write_safetensors  # noqa: E402

ROOT = os.path.join(HERE, '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'eval')
BENCH = os.path.join(ROOT, '..', 'shared', 'bench')
TOK = os.path.join(ROOT, 'models', 'moss-tiny')
torch.set_grad_enabled(False)
torch.set_num_threads(1)


# ----------------------------------------------------------------------------- tokenizer (GPT-2 byte-level BPE)
def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


WS = set('\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000') | {chr(c) for c in range(0x2000, 0x200b)}


def cls(ch):
    if ch in WS:
        return 'S'
    c = unicodedata.category(ch)
    return 'L' if c[0] == 'L' else 'N' if c[0] == 'N' else 'O'


def pretokenize(s):
    """'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    out, i, n = [], 0, len(s)
    while i < n:
        if s[i] == "'":
            m = next((c for c in ('re', 've', 'll', 's', 't', 'm', 'd') if s.startswith(c, i + 1)), None)
            if m:
                out.append(s[i:i + 1 + len(m)])
                i += 1 + len(m)
                continue
        j = i + 1 if s[i] == ' ' and i + 1 < n and cls(s[i + 1]) != 'S' else i
        k = cls(s[j])
        if k != 'S':
            e = j + 1
            while e < n and cls(s[e]) == k:
                e += 1
            out.append(s[i:e])
            i = e
            continue
        e = i
        while e < n and cls(s[e]) == 'S':
            e += 1
        if e < n and e - 1 > i:
            e -= 1
        out.append(s[i:e])
        i = e
    return out


class BPE:
    def __init__(self, folder):
        self.vocab = json.load(open(os.path.join(folder, 'vocab.json'), encoding='utf-8'))
        lines = open(os.path.join(folder, 'merges.txt'), encoding='utf-8').read().split('\n')
        merges = [tuple(l.split(' ')) for l in lines if l and not l.startswith('#version')]
        self.ranks = {m: r for r, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()
        self.cache = {}

    def word(self, w):
        if w not in self.cache:
            self.cache[w] = self.word_uncached(w)
        return self.cache[w]

    def word_uncached(self, w):
        parts = [self.b2u[b] for b in w.encode('utf-8')]
        while len(parts) > 1:
            pairs = [(self.ranks.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
            r, i = min(pairs)
            if r == 1 << 30:
                break
            a, b = parts[i], parts[i + 1]
            merged, k = [], 0
            while k < len(parts):
                if k < len(parts) - 1 and parts[k] == a and parts[k + 1] == b:
                    merged.append(a + b)
                    k += 2
                else:
                    merged.append(parts[k])
                    k += 1
            parts = merged
        return [self.vocab[p] for p in parts]

    def encode(self, s):
        return [i for w in pretokenize(s) for i in self.word(w)]


# ----------------------------------------------------------------------------- harness prompts
def read_csv(path):
    with open(path, encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def mmlu_docs(subject, split):
    _, rows = read_csv(os.path.join(BENCH, 'mmlu', split, f'{subject}_{split}.csv'))
    return [{'question': r[0], 'choices': r[1:5], 'answer': int(r[5])} for r in rows]


def cmmlu_docs(subject, split):
    _, rows = read_csv(os.path.join(BENCH, 'cmmlu', split, f'{subject}.csv'))
    return [{'Question': r[1], 'A': r[2], 'B': r[3], 'C': r[4], 'D': r[5], 'Answer': r[6]} for r in rows]


def ceval_docs(subject, split):
    _, rows = read_csv(os.path.join(BENCH, 'ceval', split, f'{subject}_{split}.csv'))
    return [{'question': r[1], 'A': r[2], 'B': r[3], 'C': r[4], 'D': r[5], 'answer': r[6]} for r in rows]


# doc_to_text / doc_to_target / description exactly as the YAMLs (Jinja rendered by hand)
def mmlu_text(d):
    c = d['choices']
    return f"{d['question'].strip()}\nA. {c[0]}\nB. {c[1]}\nC. {c[2]}\nD. {c[3]}\nAnswer:"


def cmmlu_text(d):
    return f"{d['Question'].strip()}\nA. {d['A']}\nB. {d['B']}\nC. {d['C']}\nD. {d['D']}\n答案："


def ceval_text(d):
    return f"{d['question'].strip()}\nA. {d['A']}\nB. {d['B']}\nC. {d['C']}\nD. {d['D']}\n答案："


CHOICES = ['A', 'B', 'C', 'D']
CMMLU_ZH = {'agronomy': '农学', 'anatomy': '解剖学', 'chinese_history': '中国历史', 'high_school_physics': '高中物理学', 'world_religions': '世界宗教'}
CEVAL_ZH = {'computer_network': '计算机网络'}


def fewshot_context(description, text, target, shots, doc):
    labeled = description
    if shots:
        labeled += '\n\n'.join(text(d) + ' ' + CHOICES[target(d)] for d in shots) + '\n\n'
    return labeled + text(doc)


# ----------------------------------------------------------------------------- harness log-likelihoods
def encode_pair(tok, context, continuation):
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok.encode(context + continuation)
    ctx = tok.encode(context)
    return ctx, whole[len(ctx):]


_memo = {}


def loglikelihood(forward, cfg, w, ctx, cont, max_length):
    inp = tuple((ctx + cont)[-(max_length + 1):][:-1])
    key = (id(w), inp)  # one-token choices share their input window: one forward serves all four
    if key not in _memo:
        _memo.clear()
        logits, _ = forward(cfg, w, torch.tensor(inp).unsqueeze(0))
        _memo[key] = torch.log_softmax(logits[0].double(), dim=-1)
    lp = _memo[key][-len(cont):]
    return float(lp[torch.arange(len(cont)), torch.tensor(cont)].sum())


# ----------------------------------------------------------------------------- GSM8K extraction (RegexFilter + exact_match)
def regex_filter(resp, pattern, group_select=0, fallback='[invalid]'):
    match = re.findall(pattern, resp)
    if match:
        match = match[group_select]
        if isinstance(match, tuple):
            match = [m for m in match if m]
            match = match[0] if match else fallback
        return match.strip()
    return fallback


def exact_match(pred, gold):
    for s in [',', '\\$', '(?s).*#### ', '\\.$']:
        pred = re.sub(s, '', pred)
        gold = re.sub(s, '', gold)
    return float(pred.lower() == gold.lower())


GSM_SHOTS = [
    ('There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?',
     'There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.'),
    ('If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?',
     'There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.'),
    ('Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?',
     'Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.'),
    ('Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?',
     'Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The answer is 8.'),
    ('Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?',
     'Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The answer is 9.'),
    ('There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?',
     'There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.'),
    ('Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?',
     'Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.'),
    ('Olivia has $23. She bought five bagels for $3 each. How much money does she have left?',
     'Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.'),
]


def sha(s):
    return hashlib.sha256(s.encode('utf-8')).hexdigest()


# ----------------------------------------------------------------------------- main
def main():
    os.makedirs(OUT, exist_ok=True)
    tok = BPE(TOK)
    models = {}
    moss_cfg = {
        'model_type': 'moss', 'architectures': ['MossForCausalLM'], 'n_embd': 32, 'n_layer': 2, 'n_head': 4,
        'rotary_dim': 4, 'n_positions': 2048, 'n_ctx': 2048, 'vocab_size': 4096, 'layer_norm_epsilon': 1e-5,
        'n_inner': 64, 'activation_function': 'gelu_new', 'bos_token_id': 4090, 'eos_token_id': 4090,
    }
    llama_cfg = {
        'model_type': 'llama', 'architectures': ['LlamaForCausalLM'], 'hidden_size': 32, 'intermediate_size': 48,
        'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2, 'vocab_size': 4096,
        'rms_norm_eps': 1e-6, 'rope_theta': 10000.0, 'max_position_embeddings': 2048, 'tie_word_embeddings': False,
        'hidden_act': 'silu', 'bos_token_id': 4090, 'eos_token_id': 4090,
    }
    for name, cfg, fwd, mk, seed in (('moss-rand', moss_cfg, moss_forward, lambda c, g: moss_weights(c, g, 'f16'), 11),
                                      ('llama-rand', llama_cfg, llama_forward, lambda c, g: llama_weights(c, g, 'f16', False, False), 12)):
        g = torch.Generator().manual_seed(seed)
        w = mk(cfg, g)
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        save_json(os.path.join(folder, 'config.json'), cfg)
        write_safetensors(os.path.join(folder, 'model.safetensors'), w, 'f16')
        for f in ('vocab.json', 'merges.txt', 'special_tokens_map.json'):
            shutil.copy(os.path.join(TOK, f), os.path.join(folder, f))
        models[name] = (cfg, w, fwd)

    items = []  # {bench, subject, index, shots, maxLength, kind, prompt_sha256, prompt_head, continuations, ctx_len, cont_ids, lls{model: []}}

    def add(bench, subject, index, shots, context, conts, max_length=2048, kind='letters'):
        enc = [encode_pair(tok, context, c) for c in conts]
        ctx = enc[0][0]
        it = {'bench': bench, 'subject': subject, 'index': index, 'shots': shots, 'maxLength': max_length, 'kind': kind,
              'prompt_sha256': sha(context), 'prompt_chars': len(context), 'prompt_head': context[:120],
              'ctx_len': len(ctx), 'cont_ids': [e[1] for e in enc], 'lls': {}}
        for name, (cfg, w, fwd) in models.items():
            it['lls'][name] = [loglikelihood(fwd, cfg, w, c, k, max_length) for c, k in enc]
        items.append(it)
        if len(items) % 20 == 0:
            print(len(items), 'items', flush=True)

    mmlu_subjects = ['abstract_algebra', 'anatomy', 'college_physics', 'marketing', 'world_religions']
    for s in mmlu_subjects:
        dev, test = mmlu_docs(s, 'dev'), mmlu_docs(s, 'test')
        desc = f"The following are multiple choice questions (with answers) about {' '.join(s.split('_'))}.\n\n"
        for i, d in enumerate(test[:20]):
            ctx = fewshot_context(desc, mmlu_text, lambda x: x['answer'], dev[:5], d)
            add('mmlu', s, i, 5, ctx, [' ' + c for c in CHOICES])
        for i, d in enumerate(test[:4]):  # choice texts as continuations: several tokens each
            ctx = fewshot_context(desc, mmlu_text, lambda x: x['answer'], [], d)
            add('mmlu', s, i, 0, ctx, [' ' + c for c in d['choices']], kind='texts')
        for i, d in enumerate(test[:2]):  # a 160-token window: left truncation
            ctx = fewshot_context(desc, mmlu_text, lambda x: x['answer'], dev[:5], d)
            add('mmlu', s, i, 5, ctx, [' ' + c for c in CHOICES], max_length=160, kind='truncated')
    for s, zh in CMMLU_ZH.items():
        dev, test = cmmlu_docs(s, 'dev'), cmmlu_docs(s, 'test')
        desc = f"以下是关于{zh}的单项选择题，请直接给出正确答案的选项。\n\n"
        for i, d in enumerate(test[:20]):
            ctx = fewshot_context(desc, cmmlu_text, lambda x: CHOICES.index(x['Answer']), dev[:5], d)
            add('cmmlu', s, i, 5, ctx, [' ' + c for c in CHOICES])
    for s, zh in CEVAL_ZH.items():
        dev, test = ceval_docs(s, 'dev'), ceval_docs(s, 'val')
        desc = f"以下是中国关于{zh}的单项选择题，请选出其中的正确答案。\n\n"
        for i, d in enumerate(test[:20]):
            add('ceval', s, i, 0, fewshot_context(desc, ceval_text, lambda x: CHOICES.index(x['answer']), [], d), [' ' + c for c in CHOICES])

    # GSM8K (gsm8k_cot): 'Q: {{question}}\nA:', 8 fixed shots, target delimiter ' ', fewshot delimiter '\n\n'
    gsm = [json.loads(l) for l in open(os.path.join(BENCH, 'gsm8k', 'test.jsonl'), encoding='utf-8')]
    shots = '\n\n'.join(f'Q: {q}\nA: {a}' for q, a in GSM_SHOTS) + '\n\n'
    gsm_prompts = [{'index': i, 'prompt_sha256': sha(shots + f"Q: {d['question']}\nA:"), 'gold': d['answer'].split('####')[-1].strip()} for i, d in enumerate(gsm[:50])]
    outputs = [
        'She has 5 + 3 = 8 apples. The answer is 8.', 'The answer is $1,234.50.', 'So 12 - 4 = 8 left.\n\nQ: next',
        'The answer is -7.', 'No number here.', 'It costs $18. Then 2 more... total 20', 'The answer is 3.5 dollars.',
        'x = 1,000 and y = 2,000', 'The answer is 42', '#### 72', 'answer 0.5.', 'The answer is 10.\nThe answer is 11.',
    ] + [d['answer'] for d in gsm[:8]]
    golds = ['8', '1234.50', '8', '-7', '3', '20', '3.5', '2000', '42', '72', '.5', '10'] + [d['answer'].split('####')[-1].strip() for d in gsm[:8]]
    extraction = []
    for out, gold in zip(outputs, golds):
        strict = regex_filter(out, r'The answer is (\-?[0-9\.\,]+).')
        flexible = regex_filter(out, r'(-?[$0-9.,]{2,})|(-?[0-9]+)', group_select=-1)
        extraction.append({'output': out, 'gold': gold, 'strict': strict, 'flexible': flexible,
                           'strict_em': exact_match(strict, gold), 'flexible_em': exact_match(flexible, gold)})
    he = [json.loads(l) for l in gzip.open(os.path.join(BENCH, 'humaneval', 'HumanEval.jsonl.gz'), 'rt', encoding='utf-8')]
    he_prompts = [{'task_id': d['task_id'], 'prompt_sha256': sha(d['prompt'])} for d in he[:20]]
    golden = {'note': 'made by dev/eval_reference.py (PyTorch ' + torch.__version__ + ')', 'items': items,
              'gsm8k': gsm_prompts, 'gsm8k_extraction': extraction, 'humaneval': he_prompts}
    with open(os.path.join(OUT, 'golden.json'), 'w', encoding='utf-8') as f:
        json.dump(golden, f, ensure_ascii=False, indent=0)
    print('items', len(items), 'bytes', os.path.getsize(os.path.join(OUT, 'golden.json')))


if __name__ == '__main__':
    main()
