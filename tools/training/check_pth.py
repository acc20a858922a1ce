"""Checks a weight file written by `minimind train` in real PyTorch.

usage: check_pth.py FILE.pth RAW_F32 "key:offset,key:offset,..."
Loads FILE.pth with torch.load(weights_only=True) and compares every tensor bit for bit with the
float32 values at its offset in RAW_F32, converted by torch itself to the file's dtype (so float16 /
bfloat16 rounding is checked against PyTorch's). Prints "OK <n> tensors" or exits non-zero.
"""
import sys
import numpy as np
import torch


def main():
    path, raw_path, spec = sys.argv[1], sys.argv[2], sys.argv[3]
    sd = torch.load(path, map_location="cpu", weights_only=True)
    raw = torch.from_numpy(np.fromfile(raw_path, dtype=np.float32))
    entries = [(k, int(o)) for k, o in (s.rsplit(":", 1) for s in spec.split(","))]
    if list(sd.keys()) != [k for k, _ in entries]:
        sys.exit(f"key order differs: file {list(sd.keys())} vs model {[k for k, _ in entries]}")
    for k, off in entries:
        t = sd[k]
        ref = raw[off: off + t.numel()].view(t.shape).to(t.dtype)
        if not torch.equal(t.view(-1).view(torch.int16 if t.element_size() == 2 else torch.int32),
                           ref.reshape(-1).view(torch.int16 if t.element_size() == 2 else torch.int32)):
            sys.exit(f"{k}: values differ from the model's weights")
    if "output.weight" in sd and "tok_embeddings.weight" in sd:
        a, b = sd["output.weight"], sd["tok_embeddings.weight"]
        if a.data_ptr() == b.data_ptr():
            print("tied output.weight")
    print(f"OK {len(entries)} tensors, dtype {next(iter(sd.values())).dtype}")


if __name__ == "__main__":
    main()
