#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures for test/io/torch.test.ts (run with a python that has
torch; made with torch 1.13 from Debian's python3-torch):
  mixed.pt        nn.Module state_dict (has _metadata -> BUILD) + every storage dtype, a
                  Parameter, shared storages (a tensor, its transpose, a row slice), torch.save
  mixed.pt.json   expected names, dtypes, shapes, strides, offsets and values
  deflated.pt     mixed.pt's entries re-zipped with ZIP_DEFLATED (python zipfile)
  zip64.pt        mixed.pt's entries in a hand-written ZIP64 archive (all sizes/offsets via extras)
  legacy.pt       torch.save(..., _use_new_zipfile_serialization=False): must be refused
Nothing here loads an untrusted pickle."""
import json, os, struct, zipfile, zlib
from collections import OrderedDict
import torch

out = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'io')
torch.manual_seed(0)

class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.register_buffer('mask', torch.tensor([[True, False], [False, True]]))

sd = M().state_dict()  # OrderedDict with _metadata
sd['f16'] = torch.tensor([0.5, -1.0, 65504.0], dtype=torch.float16)
sd['bf16'] = torch.tensor([1.0, -2.0, 3.140625], dtype=torch.bfloat16)
sd['f64'] = torch.tensor([[1.0 / 3.0, -2.5]], dtype=torch.float64)
sd['i64'] = torch.tensor([1, -2, 2 ** 40], dtype=torch.int64)
sd['i32'] = torch.tensor([-5, 6, 2 ** 31 - 1], dtype=torch.int32)
sd['u8'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
sd['i8'] = torch.tensor([-128, 127, -1], dtype=torch.int8)
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd['shared.base'] = base
sd['shared.t'] = base.t()
sd['shared.row'] = base[1]
sd['param'] = torch.nn.Parameter(torch.tensor([2.0, 4.0]))
path = os.path.join(out, 'mixed.pt')
torch.save(sd, path)

expect = {}
for k, v in sd.items():
    v = v.detach()
    vals = v.to(torch.float64).flatten().tolist() if v.dtype != torch.bool else v.to(torch.int64).flatten().tolist()
    expect[k] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'stride': list(v.stride()),
                 'offset': v.storage_offset(), 'values': vals}
if expect['f64']:
    expect['f64']['values'] = sd['f64'].to(torch.float32).to(torch.float64).flatten().tolist()
with open(path + '.json', 'w') as f:
    json.dump(expect, f, indent=1)

with zipfile.ZipFile(path) as z:
    entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
with zipfile.ZipFile(os.path.join(out, 'deflated.pt'), 'w', zipfile.ZIP_DEFLATED) as z:
    for n, b in entries:
        z.writestr(n, b)

# Hand-written ZIP64: every size and offset 0xFFFFFFFF in the central directory, real values in extras.
body, central = b'', b''
for n, b in entries:
    nb = n.encode()
    crc = zlib.crc32(b)
    off = len(body)
    lx = struct.pack('<HHQQ', 1, 16, len(b), len(b))
    body += struct.pack('<IHHHHHIIIHH', 0x04034b50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(lx)) + nb + lx + b
    cx = struct.pack('<HHQQQ', 1, 24, len(b), len(b), off)
    central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(cx), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cx
cd_off = len(body)
z64 = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_off)
loc = struct.pack('<IIQI', 0x07064b50, 0, cd_off + len(central), 1)
eocd = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
with open(os.path.join(out, 'zip64.pt'), 'wb') as f:
    f.write(body + central + z64 + loc + eocd)
with zipfile.ZipFile(os.path.join(out, 'zip64.pt')) as z:  # python's zipfile agrees it is valid
    assert [z.read(n) for n, _ in entries] == [b for _, b in entries]

torch.save(OrderedDict(w=torch.ones(2)), os.path.join(out, 'legacy.pt'), _use_new_zipfile_serialization=False)
print('ok', [n for n, _ in entries])
