#!/usr/bin/python3
"""Loads .pth files with torch.load(path, weights_only=True) and prints every value, flattened as in
make_fixtures.py, as one JSON object on stdout: {"torch": version, "files": {path: {"mode", "values"}}},
after checking every zip CRC. The C# round-trip tests run this on files they wrote and compare bit for bit.
Usage: /usr/bin/python3 tools/pth/torch_dump.py FILE.pth... [--allow-binfloat]"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from pthflat import flatten_grouped  # noqa: E402


ALLOWED_OPS = {"PROTO", "STOP", "GLOBAL", "REDUCE", "BUILD", "NEWOBJ", "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
               "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "NONE",
               "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT", "BINUNICODE",
               "SHORT_BINSTRING", "BINPERSID", "BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT"}
ALLOWED_GLOBALS = {"collections OrderedDict", "torch._utils _rebuild_tensor_v2"}


def check_subset(path):
    import pickletools
    import zipfile
    with zipfile.ZipFile(path) as z:
        pkl = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
    for op, arg, pos in pickletools.genops(pkl):
        if op.name not in ALLOWED_OPS:
            sys.exit("opcode %s at %d is outside the weights_only subset" % (op.name, pos))
        if op.name == "GLOBAL" and arg not in ALLOWED_GLOBALS and not (arg.startswith("torch ") and arg.endswith("Storage")):
            sys.exit("global %s at %d is outside the weights_only subset" % (arg, pos))


def dump(path, allow_binfloat):
    import zipfile
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()  # checks every record's CRC-32
        if bad is not None:
            sys.exit("%s: CRC mismatch in record %s" % (path, bad))
    mode = "weights_only"
    try:
        obj = torch.load(path, weights_only=True)
    except Exception as e:  # noqa: BLE001
        # torch 1.13's weights_only unpickler lacks BINFLOAT (opcode 71, added in 2.x), so no file holding a
        # Python float (an optimizer's lr) loads that way there. Only then: prove the pickle stays inside
        # torch 2.x's weights_only subset, and load it unrestricted.
        if not (torch.__version__.startswith("1.") and "Unsupported operand 71" in str(e) and allow_binfloat):
            raise
        check_subset(path)
        obj = torch.load(path)
        mode = "binfloat-fallback"
    return {"mode": mode, "values": flatten_grouped(obj)}


def main():
    allow = "--allow-binfloat" in sys.argv
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = {"torch": torch.__version__, "files": {p: dump(p, allow) for p in paths}}
    json.dump(out, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
