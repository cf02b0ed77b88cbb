#!/usr/bin/env python3
"""SparseGPT's step on one layer, written independently of Sparrow in PyTorch (FP64), for
tests/compress/test_one_shot_pruning.cpp: reads W [out, in] and X [n, in] from a safetensors file, prunes W as
docs/one_shot.md states the method, and writes W' beside them.

usage: sparsegpt_reference.py IN.safetensors OUT.safetensors SPARSITY MASK BLOCK_SIZE DAMPENING_FRAC [quantize]
MASK: unstructured, N:M (e.g. 2:4) or RxC blocks (1x4, 4x4). With `quantize`, the kept weights are also rounded
to INT8 (GPTQ in Sparrow's scheme): the mask is the one a pass without rounding chooses; each row's scale is the
largest |w| that pass ends with / 127 (in FP32), that weight is set to +-127 * scale, the others to
clamp(round(w / scale), -127, 127) * scale."""
import json
import struct
import sys

import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F64", info["dtype"]
        begin, end = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.float64).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        raw = bytes(t.to(torch.float64).reshape(-1).view(torch.uint8).tolist())
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def prune_lowest(scores, count):
    """Mask [rows, n] (1 kept) pruning, per row, the `count` lowest scores; ties go to the earlier index."""
    mask = torch.ones_like(scores)
    for r in range(scores.shape[0]):
        ranked = sorted(range(scores.shape[1]), key=lambda j: (scores[r, j].item(), j))
        for j in ranked[:count]:
            mask[r, j] = 0
    return mask


def block_mask(scores, sparsity, mask_kind, first, last):
    """The mask of the column block [first, last) from its scores [out, last - first]. Each row (group of rows)
    prunes round(sparsity * units up to last) - round(sparsity * units before first) weights or blocks, so
    that a row prunes round(sparsity * its units) over all the column blocks (round: half to even)."""
    rows, width = scores.shape
    if mask_kind == "unstructured":
        return prune_lowest(scores, round(sparsity * last) - round(sparsity * first))
    br, bc = (int(v) for v in mask_kind.split("x"))
    blocks = (width + bc - 1) // bc
    count = round(sparsity * ((last + bc - 1) // bc)) - round(sparsity * (first // bc))
    mask = torch.ones_like(scores)
    for r0 in range(0, rows, br):
        sums = torch.stack([scores[r0:r0 + br, b * bc:(b + 1) * bc].sum() for b in range(blocks)]).unsqueeze(0)
        kept = prune_lowest(sums, count)[0]
        for b in range(blocks):
            mask[r0:r0 + br, b * bc:(b + 1) * bc] = kept[b]
    return mask


def sparsegpt(w, x, sparsity, mask_kind, block_size, dampening_frac, quantize=False):
    w = w.clone()
    n, cols = x.shape
    h = 2.0 * x.T @ x / n
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    rows = w.shape[0]
    if quantize:
        kept = sparsegpt(w, x, sparsity, mask_kind, block_size, dampening_frac)
        fixed = kept != 0
        largest = [max(range(cols), key=lambda j: (abs(kept[r, j].item()), -j)) for r in range(rows)]
        scale = []
        for r in range(rows):
            top = torch.tensor(abs(kept[r, largest[r]].item()), dtype=torch.float32)
            scale.append(1.0 if top.item() == 0 else (top / torch.tensor(127.0, dtype=torch.float32)).item())
        pinned_value = [(1.0 if kept[r, largest[r]] > 0 else -1.0 if kept[r, largest[r]] < 0 else 0.0) * 127.0 * scale[r]
                        for r in range(rows)]
    h += dampening_frac * torch.mean(torch.diag(h)) * torch.eye(cols, dtype=h.dtype)
    hinv = torch.cholesky_inverse(torch.linalg.cholesky(h))
    u = torch.linalg.cholesky(hinv, upper=True)
    n_of_m = ":" in mask_kind
    if n_of_m:
        keep_n, group_m = (int(v) for v in mask_kind.split(":"))
    mask = torch.ones_like(w)
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        w1 = w[:, i1:i2].clone()
        err1 = torch.zeros_like(w1)
        u1 = u[i1:i2, i1:i2]
        d = torch.diag(u1)
        m1 = torch.ones_like(w1)
        if quantize:
            m1 = fixed[:, i1:i2].to(w1.dtype)
        elif not n_of_m:
            m1 = block_mask(w1 ** 2 / d.unsqueeze(0) ** 2, sparsity, mask_kind, i1, i2)
        for i in range(i2 - i1):
            if n_of_m and not quantize and i % group_m == 0:
                stop = min(i + group_m, i2 - i1)
                # A narrower last group prunes its share of M - N.
                count = group_m - keep_n if stop - i == group_m else round(sparsity * (stop - i))
                m1[:, i:stop] = prune_lowest(w1[:, i:stop] ** 2 / d[i:stop].unsqueeze(0) ** 2, count)
            col = w1[:, i]
            q = col * m1[:, i]
            if quantize:
                for r in range(rows):
                    if largest[r] == i1 + i:
                        q[r] = pinned_value[r]
                    else:
                        q[r] = min(127.0, max(-127.0, torch.round(q[r] / scale[r]).item())) * scale[r]
            e = (col - q) / d[i]
            w1[:, i:] -= e.unsqueeze(1) @ u1[i, i:].unsqueeze(0)
            w1[:, i] = q
            err1[:, i] = e
        w[:, i1:i2] = w1
        mask[:, i1:i2] = m1
        w[:, i2:] -= err1 @ u[i1:i2, i2:]
    return w * mask


def main():
    source, target, sparsity, mask_kind, block_size, dampening_frac = sys.argv[1:7]
    quantize = sys.argv[7:] == ["quantize"]
    t = read_safetensors(source)
    pruned = sparsegpt(t["weight"], t["inputs"], float(sparsity), mask_kind, int(block_size), float(dampening_frac),
                       quantize)
    write_safetensors(target, {"weight": pruned})


if __name__ == "__main__":
    main()
