#!/usr/bin/env python3
"""Writes test/fixtures/io/mixed.gguf by hand (struct + numpy, following ../shared/formats/gguf.md,
independent of src/io) and mixed.gguf.json with the expected metadata and dequantized values.
Covers every metadata value type, string and nested arrays, general.alignment = 64, and F32, F16,
BF16, Q8_0, Q4_0 tensors (quantized here with ggml's reference rounding) plus one Q4_K tensor of
arbitrary bytes that a reader must list but not decode."""
import json, os, struct
import numpy as np

out = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'io')
ALIGN = 64
T = {'u8': 0, 'i8': 1, 'u16': 2, 'i16': 3, 'u32': 4, 'i32': 5, 'f32': 6, 'bool': 7, 'string': 8, 'array': 9, 'u64': 10, 'i64': 11, 'f64': 12}
FMT = {'u8': '<B', 'i8': '<b', 'u16': '<H', 'i16': '<h', 'u32': '<I', 'i32': '<i', 'f32': '<f', 'bool': '<?', 'u64': '<Q', 'i64': '<q', 'f64': '<d'}

def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b

def val(t, v):
    if t == 'string':
        return s(v)
    if isinstance(t, tuple):  # ('array', elemtype)
        et = t[1]
        return struct.pack('<IQ', T['array'] if isinstance(et, tuple) else T[et], len(v)) + b''.join(val(et, x) for x in v)
    return struct.pack(FMT[t], v)

meta = [
    ('general.architecture', 'string', 'llama'),
    ('general.alignment', 'u32', ALIGN),
    ('test.u8', 'u8', 200), ('test.i8', 'i8', -100), ('test.u16', 'u16', 60000), ('test.i16', 'i16', -30000),
    ('test.u32', 'u32', 4000000000), ('test.i32', 'i32', -2000000000), ('test.f32', 'f32', 0.1),
    ('test.bool', 'bool', True), ('test.string', 'string', 'h\u00e9llo \u4e16\u754c \ufeffbom'),
    ('test.u64', 'u64', 2 ** 53 + 1), ('test.i64', 'i64', -(2 ** 40)), ('test.f64', 'f64', 1.0 / 3.0),
    ('test.small_u64', 'u64', 12345),
    ('test.strings', ('array', 'string'), ['a', '', '\u00fc\u00f1\u00ee', 'Ġthe']),
    ('test.f32s', ('array', 'f32'), [0.5, -1.25, 3.0]),
    ('test.i32s', ('array', 'i32'), [1, -2, 3]),
    ('test.bools', ('array', 'bool'), [True, False]),
    ('test.u64s', ('array', 'u64'), [1, 2, 3]),
    ('test.nested', ('array', ('array', 'i16')), [[1, 2], [-3]]),
    ('test.empty', ('array', 'string'), []),
]

rng = np.random.default_rng(0)
def f16_round(a):
    return a.astype('<f2')

def q8_0(x):
    x = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(x).max(axis=1)
    d = amax / 127.0
    idv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.round(x * idv[:, None]).astype(np.int8)  # ggml uses roundf (half away from zero); values here avoid ties
    dh = d.astype('<f2')
    raw = b''.join(dh[i].tobytes() + q[i].tobytes() for i in range(len(d)))
    deq = (q.astype(np.float32) * dh.astype(np.float32)[:, None]).ravel()
    return raw, deq

def q4_0(x):
    x = x.reshape(-1, 32).astype(np.float32)
    idx = np.abs(x).argmax(axis=1)
    mx = x[np.arange(len(x)), idx]
    d = mx / -8.0
    idv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.minimum(15, (x * idv[:, None] + 8.5).astype(np.int8)).astype(np.uint8)
    dh = d.astype('<f2')
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    raw = b''.join(dh[i].tobytes() + packed[i].tobytes() for i in range(len(d)))
    deq = ((q.astype(np.float32) - 8) * dh.astype(np.float32)[:, None]).ravel()
    return raw, deq

w32 = rng.standard_normal((3, 5)).astype('<f4')
w16 = f16_round(rng.standard_normal((2, 4)))
wbf = (rng.standard_normal(6).astype('<f4').view('<u4') >> 16).astype('<u2')  # truncation: exact bf16 bits
x8 = rng.standard_normal((2, 64)).astype(np.float32)
r8, d8 = q8_0(x8)
x4 = rng.standard_normal((1, 64)).astype(np.float32)
r4, d4 = q4_0(x4)
qk = bytes(rng.integers(0, 256, 144, dtype=np.uint8))  # one Q4_K block, never decoded
# (name, ggml type, row-major shape, bytes, expected values or None)
tensors = [
    ('w32', 0, [3, 5], w32.tobytes(), w32.astype(float).ravel().tolist()),
    ('w16', 1, [2, 4], w16.tobytes(), w16.astype(float).ravel().tolist()),
    ('wbf', 30, [6], wbf.tobytes(), (wbf.astype('<u4') << 16).view('<f4').astype(float).tolist()),
    ('q8', 8, [2, 64], r8, d8.astype(float).tolist()),
    ('q4', 2, [1, 64], r4, d4.astype(float).tolist()),
    ('k4', 12, [256], qk, None),
]

body = struct.pack('<IIQQ', 0x46554747, 3, len(tensors), len(meta))
for k, t, v in meta:
    body += s(k) + struct.pack('<I', T['array'] if isinstance(t, tuple) else T[t]) + val(t, v)
off = 0
for name, ty, shape, raw, _ in tensors:
    dims = list(reversed(shape))  # GGUF: innermost first
    body += s(name) + struct.pack('<I', len(dims)) + b''.join(struct.pack('<Q', d) for d in dims) + struct.pack('<IQ', ty, off)
    off += (len(raw) + ALIGN - 1) // ALIGN * ALIGN
body += b'\0' * ((ALIGN - len(body) % ALIGN) % ALIGN)
data_start = len(body)
for _, _, _, raw, _ in tensors:
    body += raw + b'\0' * ((ALIGN - len(raw) % ALIGN) % ALIGN)
with open(os.path.join(out, 'mixed.gguf'), 'wb') as f:
    f.write(body)

def jsonable(t, v):
    if t == 'f32':
        return float(np.float32(v))
    if isinstance(t, tuple) and t[1] == 'f32':
        return [float(np.float32(x)) for x in v]
    return str(v) if t == 'u64' and v > 2 ** 53 else v
expect = {
    'dataOffset': data_start,
    'metadata': {k: jsonable(t, v) for k, t, v in meta},
    'types': {k: (t if isinstance(t, str) else repr(t)) for k, t, v in meta},
    'tensors': {n: {'type': ty, 'shape': sh, 'values': vals} for n, ty, sh, _, vals in tensors},
}
with open(os.path.join(out, 'mixed.gguf.json'), 'w') as f:
    json.dump(expect, f, indent=1)
print('wrote', len(body), 'bytes; data at', data_start)
