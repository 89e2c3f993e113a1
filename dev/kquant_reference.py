"""Goldens for the GGML k-quant / iq4_nl dequantizers (test/fixtures/kquant/blocks.json).

Blocks of random bytes (seeded) with sane f16 scales, plus edge blocks (zero scales, subnormal and
negative scales, all-0x00 / all-0xff payloads), dequantized by gguf-py's `quants.py` (llama.cpp's own
Python package; pass its folder with GGUF_PY=/path/to/unpacked/wheel) or, when it is absent, by the
numpy transcription of ggml's dequantize_row_* formulas below (the two agree bit for bit; the
script checks that whenever gguf-py is importable). Output: per type, the block bytes and the
expected f32 values (little-endian), both base64. Tests never need Python: the JSON is committed.

  GGUF_PY=/work/refs/gguf-py /usr/bin/python3 dev/kquant_reference.py > test/fixtures/kquant/blocks.json
"""
import base64
import json
import os
import sys

import numpy as np

QK_K = 256
# name: (ggml type id, block elements, block bytes, offsets of f16 scale fields)
TYPES = {
    "q2_k": (10, 256, 84, [80, 82]),
    "q3_k": (11, 256, 110, [108]),
    "q4_k": (12, 256, 144, [0, 2]),
    "q5_k": (13, 256, 176, [0, 2]),
    "q6_k": (14, 256, 210, [208]),
    "iq4_nl": (20, 32, 18, [0]),
}
KVALUES = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.int8)


def f16(b, off):
    return b[:, off:off + 2].copy().view(np.float16).astype(np.float32)


def scale_min_k4(s):
    n = s.shape[0]
    sc = np.zeros((n, 8), np.float32)
    mn = np.zeros((n, 8), np.float32)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            mn[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4)
            mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, mn


def deq_numpy(name, b):
    """ggml's dequantize_row_<name>, element by element in ggml's loop order (f32 throughout)."""
    n = b.shape[0]
    y = np.zeros((n, TYPES[name][1]), np.float32)
    if name in ("q4_k", "q5_k"):
        d, dmin = f16(b, 0), f16(b, 2)
        sc, mn = scale_min_k4(b[:, 4:16])
        qs = b[:, 48:] if name == "q5_k" else b[:, 16:]
        for j in range(4):
            for half in range(2):
                d1 = d[:, 0] * sc[:, 2 * j + half]
                m1 = dmin[:, 0] * mn[:, 2 * j + half]
                q = (qs[:, 32 * j:32 * j + 32] >> (4 * half)) & 0xF
                if name == "q5_k":
                    q = q + (((b[:, 16:48] >> (2 * j + half)) & 1) << 4)
                y[:, 64 * j + 32 * half:64 * j + 32 * half + 32] = d1[:, None] * q.astype(np.float32) - m1[:, None]
    elif name == "q6_k":
        d = f16(b, 208)[:, 0]
        sc = b[:, 192:208].view(np.int8).astype(np.float32)
        for n2 in range(2):
            ql, qh = b[:, 64 * n2:64 * n2 + 64], b[:, 128 + 32 * n2:160 + 32 * n2]
            for t in range(4):
                lo = (ql[:, (t & 1) * 32:(t & 1) * 32 + 32] >> (4 * (t >> 1))) & 0xF
                q = (lo | (((qh >> (2 * t)) & 3) << 4)).astype(np.int32) - 32
                for l in range(32):
                    y[:, 128 * n2 + 32 * t + l] = (d * sc[:, 8 * n2 + 2 * t + l // 16]) * np.float32(1) * q[:, l].astype(np.float32)
    elif name == "q2_k":
        d, dmin = f16(b, 80)[:, 0], f16(b, 82)[:, 0]
        k, is_ = 0, 0
        for n2 in range(2):
            q = b[:, 16 + 32 * n2:48 + 32 * n2]
            for shift in range(0, 8, 2):
                for half in range(2):
                    s = b[:, is_]
                    is_ += 1
                    dl, ml = d * (s & 0xF).astype(np.float32), dmin * (s >> 4).astype(np.float32)
                    v = ((q[:, 16 * half:16 * half + 16] >> shift) & 3).astype(np.float32)
                    y[:, k:k + 16] = dl[:, None] * v - ml[:, None]
                    k += 16
    elif name == "q3_k":
        d = f16(b, 108)[:, 0]
        s = b[:, 96:108]
        sc = np.zeros((n, 16), np.int32)
        for i in range(16):
            low = (s[:, i] & 0xF) if i < 8 else (s[:, i - 8] >> 4)
            high = (s[:, 8 + (i & 3)] >> (2 * (i >> 2))) & 3
            sc[:, i] = (low | (high << 4)).astype(np.int32) - 32
        k, is_, bit = 0, 0, 0
        for n2 in range(2):
            q = b[:, 32 + 32 * n2:64 + 32 * n2]
            for shift in range(0, 8, 2):
                for half in range(2):
                    dl = d * sc[:, is_].astype(np.float32)
                    is_ += 1
                    sl = slice(16 * half, 16 * half + 16)
                    v = ((q[:, sl] >> shift) & 3).astype(np.int32) - np.where((b[:, sl] >> bit) & 1, 0, 4)
                    y[:, k:k + 16] = dl[:, None] * v.astype(np.float32)
                    k += 16
                bit += 1
    elif name == "iq4_nl":
        d = f16(b, 0)[:, 0]
        y[:, :16] = d[:, None] * KVALUES[b[:, 2:18] & 0xF].astype(np.float32)
        y[:, 16:] = d[:, None] * KVALUES[b[:, 2:18] >> 4].astype(np.float32)
    return y


def make_blocks(name, rng):
    _, _, bb, scale_offs = TYPES[name]
    blocks = rng.integers(0, 256, size=(12, bb), dtype=np.uint8)
    scales = [rng.normal(0, 0.02, size=12), np.abs(rng.normal(0, 0.01, size=12))]
    for i, off in enumerate(scale_offs):
        v = scales[min(i, 1)].astype(np.float16)
        v[8] = 0.0                      # zero scale
        v[9] = np.float16(-3.0e-6)      # subnormal, negative
        v[10] = np.float16(-1.5)        # large negative
        blocks[:, off:off + 2] = v.view(np.uint8).reshape(12, 2)
    payload = [i for i in range(bb) if not any(o <= i < o + 2 for o in scale_offs)]
    blocks[10, payload] = 0x00
    blocks[11, payload] = 0xFF
    return blocks


def main():
    gguf_quants = None
    path = os.environ.get("GGUF_PY")
    if path:
        sys.path.insert(0, path)
    try:
        from gguf import quants as gguf_quants  # noqa: E402
        from gguf.constants import GGMLQuantizationType
    except ImportError:
        gguf_quants = None
    rng = np.random.default_rng(20)
    out = {"source": "gguf-py quants.py" if gguf_quants else "numpy transcription of ggml dequantize_row_*"}
    for name, (tid, bs, bb, _) in TYPES.items():
        blocks = make_blocks(name, rng)
        mine = deq_numpy(name, blocks)
        if gguf_quants:
            ref = gguf_quants.dequantize(blocks.reshape(-1), GGMLQuantizationType(tid)).astype(np.float32).reshape(mine.shape)
            if not np.array_equal(ref.view(np.uint32), mine.view(np.uint32)):
                bad = np.argwhere(ref.view(np.uint32) != mine.view(np.uint32))[:5]
                raise SystemExit(f"{name}: numpy transcription differs from gguf-py at {bad.tolist()}")
            mine = ref
        out[name] = {
            "ggmlType": tid, "blocks": len(blocks), "blockBytes": bb, "blockSize": bs,
            "bytes": base64.b64encode(blocks.tobytes()).decode(),
            "values": base64.b64encode(mine.astype("<f4").tobytes()).decode(),
        }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
