#!/usr/bin/env python3
"""Independent numpy reading of ../shared/models/stories260K/stories260K.bin (llama2.c legacy
layout) printing the header and weight statistics that test/io/llama2c.test.ts asserts, plus the
HF half-split permutation of wq/wk (transformers' convert_llama_weights_to_hf permute)."""
import os, numpy as np
shared = os.environ.get('MOSS_SHARED', os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared'))
b = open(os.path.join(shared, 'models/stories260K/stories260K.bin'), 'rb').read()
h = np.frombuffer(b[:28], dtype='<i4'); print(h)
dim, hid, L, nh, nkv, V, S = h; V = abs(V); hs = dim // nh; kv = dim * nkv // nh
w = np.frombuffer(b[28:], dtype='<f4'); o = 0
def take(*shape):
    global o; n = int(np.prod(shape)); a = w[o:o + n].reshape(shape); o += n; return a
emb = take(V, dim); ra = take(L, dim); wq = take(L, dim, dim); wk = take(L, kv, dim); wv = take(L, kv, dim); wo = take(L, dim, dim)
rf = take(L, dim); w1 = take(L, hid, dim); w2 = take(L, dim, hid); w3 = take(L, hid, dim); rfin = take(dim)
f = lambda a: float(np.float64(a).sum())
print('emb', f(emb), emb[3, :3].tolist()); print('wq2', f(wq[2]), wq[2, 1, :3].tolist()); print('wk4', f(wk[4])); print('wv0', f(wv[0])); print('wo1', f(wo[1]))
print('rms_att3', ra[3, :3].tolist(), 'rf', f(rf), 'w1', f(w1[0]), 'w2', f(w2[4]), w2[4, 63, -2:].tolist(), 'w3', f(w3[1]), 'rfin', f(rfin), rfin[:3].tolist())
def perm(w, n):
    d1, d2 = w.shape; return w.reshape(n, d1 // n // 2, 2, d2).transpose(0, 2, 1, 3).reshape(d1, d2)
print('hf q0 row1', perm(wq[0], nh)[1, :3].tolist(), 'hf k0 row 5', perm(wk[0], nkv)[5, :3].tolist())
