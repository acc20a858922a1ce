#!/usr/bin/python3
"""Checks the C# reader and writer against checkpoints this repository did not write (e.g. files saved by torch 2.x).

    /usr/bin/python3 tools/pth/check_foreign_files.py FILE_OR_FOLDER... [--minimind "dotnet path/to/minimind.dll"]

For every .pt/.pth file: torch.load (this machine's torch) gives the reference; `minimind inspect --json` must name the
same tensors, and each tensor rebuilt by hand from its raw zip record with the dtype/shape/stride/offset that inspect
reports must equal torch's bits; `minimind convert FILE OUT` must give a file whose every value (tensors bit for bit,
plain values by ==) and storage sharing equal the original's under torch.load. Prints one line per file and a total;
exits 1 if anything differs. Files torch itself cannot load are listed and skipped. Nothing is written outside a
temporary folder. Without --minimind the CLI is built with `dotnet build src/Minimind.Cli -c Release`.
"""
import collections
import json
import os
import shlex
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pthflat import tensor_bytes  # noqa: E402  (the fixtures' own byte view of a tensor)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NUMPY = {"f32": "<f4", "f64": "<f8", "f16": "<f2", "bf16": "<u2", "i64": "<i8", "i32": "<i4", "i16": "<i2",
         "i8": "i1", "u8": "u1", "bool": "u1"}


def leaves(x, path=""):
    """(path, tensor or ('value', repr)) for every leaf of a nested checkpoint."""
    if isinstance(x, torch.Tensor):
        yield path, x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, "%s/%s" % (path, k) if path else str(k))
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from leaves(v, "%s/%d" % (path, i) if path else str(i))
    else:
        yield path, ("value", repr(x))


def sharing(m):
    groups = collections.defaultdict(list)
    for k, v in m.items():
        if isinstance(v, torch.Tensor):
            groups[v.storage().data_ptr()].append(k)
    return sorted(sorted(g) for g in groups.values())


def load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch 1.13's weights_only has no BINFLOAT: fall back to the full unpickler for reference values
        return torch.load(path, map_location="cpu")


def check(path, cli, tmp):
    problems = []
    try:
        ref = load(path)
    except Exception as e:
        return None, "torch cannot load it either (%s)" % str(e)[:100]
    a = dict(leaves(ref))
    out = os.path.join(tmp, "converted.pth")
    r = subprocess.run(cli + ["convert", path, out], capture_output=True, text=True)
    if r.returncode != 0:
        return False, "convert failed: " + r.stderr.strip()[:300]
    b = dict(leaves(load(out)))
    if list(a) != list(b):
        problems.append("keys differ: %s" % sorted(set(a) ^ set(b))[:5])
    tensors = 0
    for k, x in a.items():
        y = b.get(k)
        if isinstance(x, torch.Tensor):
            tensors += 1
            if not isinstance(y, torch.Tensor) or x.dtype != y.dtype or x.shape != y.shape or tensor_bytes(x) != tensor_bytes(y):
                problems.append("%s: converted tensor differs" % k)
        elif x != y:  # plain values compare by repr, so nan equals nan
            problems.append("%s: %s vs %s" % (k, x, y))
    if sharing(a) != sharing(b):
        problems.append("storage sharing differs after convert")
    r = subprocess.run(cli + ["inspect", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        return False, "inspect failed: " + r.stderr.strip()[:300]
    js = json.loads(r.stdout)
    if len(js["tensors"]) != tensors:
        problems.append("inspect lists %d tensors, torch %d" % (len(js["tensors"]), tensors))
    raw_checked = 0
    if js["format"] == "zip":
        z = zipfile.ZipFile(path)
        for t in js["tensors"]:
            x = a.get(t["key"])
            if not isinstance(x, torch.Tensor):
                problems.append("inspect key %s is not a tensor for torch" % t["key"])
                continue
            arr = np.frombuffer(z.read("%s/data/%s" % (js["top_folder"], t["storage_key"])), dtype=NUMPY[t["dtype"]])
            o = t["storage_offset"]
            v = (np.lib.stride_tricks.as_strided(arr[o:], shape=t["shape"], strides=[s * arr.itemsize for s in t["stride"]])
                 if t["shape"] else arr[o:o + 1].reshape(()))
            if np.ascontiguousarray(v).tobytes().hex() != tensor_bytes(x) or list(x.stride()) != t["stride"] or x.storage_offset() != o:
                problems.append("%s: raw record bytes differ from torch's tensor" % t["key"])
            raw_checked += 1
    note = "%s, %d tensors (%d rebuilt from raw records)" % (js["format"], tensors, raw_checked)
    return (not problems), note + ("; " + "; ".join(problems[:5]) if problems else "")


def main():
    args = sys.argv[1:]
    cli = None
    if "--minimind" in args:
        i = args.index("--minimind")
        cli = shlex.split(args[i + 1])
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    if cli is None:
        slot = os.environ.get("MM_SLOT", "foreign")
        subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "Minimind.Cli"), "-c", "Release"], check=True,
                       env=dict(os.environ, MM_SLOT=slot), stdout=subprocess.DEVNULL)
        cli = ["dotnet", os.path.join(ROOT, "artifacts", slot, "bin", "Minimind.Cli", "release", "minimind.dll")]
    files = []
    for a in args:
        if os.path.isdir(a):
            files += sorted(os.path.join(a, f) for f in os.listdir(a) if f.endswith((".pt", ".pth")))
        else:
            files.append(a)
    print("torch", torch.__version__)
    bad, skipped, ok = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            good, note = check(f, cli, tmp)
            print("%-4s %s: %s" % ({True: "OK", False: "DIFF", None: "SKIP"}[good], os.path.basename(f), note))
            if good is None:
                skipped.append(f)
            elif good:
                ok += 1
            else:
                bad.append(f)
    print("%d files agree, %d differ, %d skipped (torch cannot load them)" % (ok, len(bad), len(skipped)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
