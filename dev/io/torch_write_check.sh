#!/bin/sh
# Independent check of src/io/torch-write.ts: writes two small checkpoints (ZIP64 forced and not)
# with our writer and loads them with torch 1.13 (Debian's python3-torch) and zipfile's CRC test.
# Run after `npm run build`:  sh dev/io/torch_write_check.sh
set -e
d=$(mktemp -d)
node --input-type=module -e "
import { writeTorch } from './dist/src/io/torch-write.js';
for (const z of [false, true]) writeTorch('$d/t' + z + '.bin', [
  { name: 'a.weight', dtype: 'f32', shape: [2, 3], data: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) },
  { name: 'b', dtype: 'f16', shape: [3], data: new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0xc000]).buffer) },
  { name: 'n', dtype: 'i64', shape: [1], data: new Uint8Array(new BigInt64Array([3000000000n]).buffer) },
], { zip64: z });"
/usr/bin/python3 -c "
import torch, zipfile, sys
for z in ['false', 'true']:
    p = '$d/t' + z + '.bin'
    assert zipfile.ZipFile(p).testzip() is None
    d = torch.load(p)
    assert d['a.weight'].tolist() == [[1, 2, 3], [4, 5, 6]] and d['b'].tolist() == [1, 2, -2] and d['n'].tolist() == [3000000000], d
    print(p, 'ok', {k: (v.dtype, list(v.shape)) for k, v in d.items()})
"
rm -rf "$d"
