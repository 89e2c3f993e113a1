#!/usr/bin/env python3
"""Writes test/fixtures/io/mixed.safetensors by hand (numpy + struct, following the safetensors
spec, independent of src/io) and test/fixtures/io/mixed.safetensors.json with the expected values.
Tensors: several dtypes, __metadata__, and an F32 tensor placed at an odd data offset (after a U8
tensor) so the reader must copy it instead of viewing it in place."""
import json, struct, os
import numpy as np

out = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'io')
tensors = [
    ('w_f32', 'F32', np.array([[1.5, -2.25, 3.0], [0.0, 1e-3, -7.0]], dtype='<f4')),
    ('b_f16', 'F16', np.array([0.5, -1.0, 65504.0, 2.0 ** -24], dtype='<f2')),
    # bf16 bits of 1.0, -2.0, 3.140625 (exact in bf16)
    ('e_bf16', 'BF16', np.array([0x3F80, 0xC000, 0x4049], dtype='<u2')),
    ('ids_i64', 'I64', np.array([[1, -2], [2 ** 40, 7]], dtype='<i8')),
    ('ids_i32', 'I32', np.array([-5, 6, 2 ** 31 - 1], dtype='<i4')),
    ('mask', 'BOOL', np.array([[1, 0, 1]], dtype='u1')),
    ('bytes_u8', 'U8', np.array([0, 200], dtype='u1')),
    ('odd_f32', 'F32', np.array([0.25, -0.5], dtype='<f4')),
    ('small_i8', 'I8', np.array([-128, 127, 0, -1], dtype='i1')),
    ('d_f64', 'F64', np.array([1.0 / 3.0, -2.5], dtype='<f8')),
]
header = {'__metadata__': {'format': 'pt', 'note': 'made by dev/io/make_safetensors_fixture.py'}}
data = b''
for name, dt, a in tensors:
    raw = a.tobytes()
    header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [len(data), len(data) + len(raw)]}
    data += raw
h = json.dumps(header, separators=(',', ':')).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open(os.path.join(out, 'mixed.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + data)
expect = {}
for name, dt, a in tensors:
    if dt == 'BF16':
        vals = (a.astype('<u4') << 16).view('<f4').tolist()
    elif dt == 'F64':
        vals = a.astype('<f4').astype(float).tolist()
    else:
        vals = a.astype(float).ravel().tolist() if dt in ('F32', 'F16') else a.ravel().tolist()
    expect[name] = {'dtype': dt, 'shape': list(a.shape), 'values': np.ravel(vals).tolist()}
with open(os.path.join(out, 'mixed.safetensors.json'), 'w') as f:
    json.dump(expect, f, indent=1)
print('wrote', len(h) + 8 + len(data), 'bytes')
