#!/usr/bin/env python3
"""An independent safetensors reader/writer over torch (the `safetensors` package is not used; Debian has none).

  st_torch.py to-pth   IN.safetensors OUT.pth   read IN by hand (header length, JSON, offsets), torch.save the tensors
  st_torch.py from-pth IN.pth OUT.safetensors   torch.load(weights_only=True) IN, write it as safetensors by hand
  st_torch.py dump     IN.safetensors           print {"metadata": ..., "tensors": {name: [dtype, shape, sha256]}}

Works with torch 1.13 and 2.x (torch.frombuffer, Tensor.view(torch.uint8)).
"""
import hashlib, json, struct, sys
from collections import OrderedDict

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}


def raw_bytes(t):
    t = t.detach().contiguous().reshape(-1)
    if t.numel() == 0:
        return b""
    return bytes(t.view(torch.uint8).numpy().tobytes())


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert 0 < n <= 100_000_000 and 8 + n <= len(blob), f"{path}: bad header length {n}"
    header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    out = OrderedDict()
    spans = []
    for name, e in header.items():
        assert set(e) == {"dtype", "shape", "data_offsets"}, f"{name}: fields {sorted(e)}"
        dt = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        numel = 1
        for d in e["shape"]:
            numel *= d
        assert end - b == numel * torch.tensor([], dtype=dt).element_size(), f"{name}: size"
        spans.append((b, end))
        chunk = bytearray(data[b:end])
        t = torch.frombuffer(chunk, dtype=dt) if numel else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    spans.sort()
    at = 0
    for b, end in spans:
        assert b == at, f"gap/overlap at {b} (expected {at})"
        at = end
    assert at == len(data), f"tensors cover {at} of {len(data)} bytes"
    return out, meta


def write(path, tensors, meta=None):
    header, at, blobs = OrderedDict(), 0, []
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        at += len(b)
        blobs.append(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    mode = sys.argv[1]
    if mode == "to-pth":
        tensors, _ = read(sys.argv[2])
        torch.save(tensors, sys.argv[3])
    elif mode == "from-pth":
        try:
            sd = torch.load(sys.argv[2], weights_only=True)
        except TypeError:
            sd = torch.load(sys.argv[2])
        write(sys.argv[3], OrderedDict(sd), {"format": "pt", "writer": "st_torch.py"})
    elif mode == "dump":
        tensors, meta = read(sys.argv[2])
        print(json.dumps({"torch": torch.__version__, "metadata": meta, "tensors": {
            k: [NAMES[t.dtype], list(t.shape), hashlib.sha256(raw_bytes(t)).hexdigest()] for k, t in tensors.items()}}))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
