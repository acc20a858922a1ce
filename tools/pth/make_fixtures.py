#!/usr/bin/python3
"""Writes the .pth fixtures of tests/fixtures/pth with real PyTorch (1.13 under /usr/bin/python3),
plus expected.json: every value of every file, flattened, so the C# tests compare against what torch
itself wrote and read back.

Run:  /usr/bin/python3 tools/pth/make_fixtures.py   (from the repository root; seeded, deterministic)
The torch 2.x set (tests/fixtures/pth/torch2: only the files torch itself saves, no hand-made ones):
      "$MM_TORCH2_PYTHON" tools/pth/make_fixtures.py --out tests/fixtures/pth/torch2 --torch-only
      (MM_TORCH2_PYTHON from tools/torch2/setup.sh; torch 2.x also writes a random .data/serialization_id,
      so regenerating that set changes those bytes)

Flattening (mirrored by the C# test): a path is '/'-joined segments; a str dict key is itself, an int
key is '#<n>', a list/tuple index is '[<i>]'. Each node is recorded as
  containers: {"kind": "dict"|"odict"|"list"|"tuple", "len": n}
  scalars:    {"kind": "int", "value": "<decimal>"} / {"kind": "float", "bits": "<big-endian hex of the double>"}
              {"kind": "str", "value": s} / {"kind": "bool", "value": b} / {"kind": "none"}
  tensors:    {"kind": "tensor", "dtype", "shape", "stride", "offset", "storage_key",
               "bytes": hex of the contiguous elements in their own dtype (little-endian),
               "f32": hex of t.float() contiguous (only for float/int/bool tensors)}
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

from pthflat import flatten_grouped

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "pth")
TORCH_ONLY = False
def record(name, **meta):
    """Loads the written file back with torch and records every value as torch sees it."""
    path = os.path.join(OUT, name)
    obj = torch.load(path, weights_only=False)  # our own files; torch >= 2.6 would default to weights_only=True
    EXPECTED[name] = dict(meta, values=flatten_grouped(obj), size=os.path.getsize(path))


def record_source(name, obj, **meta):
    """Records the values of the object a hand-made file was built from (torch cannot read the file back)."""
    EXPECTED[name] = dict(meta, values=flatten_grouped(obj, grouped=False), size=os.path.getsize(os.path.join(OUT, name)))


def minimind_2024(g, v=32, d=16, hidden=24):
    sd = collections.OrderedDict()
    emb = torch.randn(v, d, generator=g)
    sd["tok_embeddings.weight"] = emb
    for i in range(2):
        p = "layers.%d." % i
        for w in ("wq", "wk", "wv", "wo"):
            sd[p + "attention.%s.weight" % w] = torch.randn(d, d, generator=g)
        sd[p + "attention_norm.weight"] = torch.rand(d, generator=g) + 0.5
        sd[p + "feed_forward.w1.weight"] = torch.randn(hidden, d, generator=g)
        sd[p + "feed_forward.w2.weight"] = torch.randn(d, hidden, generator=g)
        sd[p + "feed_forward.w3.weight"] = torch.randn(hidden, d, generator=g)
        sd[p + "ffn_norm.weight"] = torch.rand(d, generator=g) + 0.5
    sd["norm.weight"] = torch.rand(d, generator=g) + 0.5
    sd["output.weight"] = emb.detach()  # a distinct tensor object on the same storage, as model.state_dict() gives
    return sd


def minimind_hf(g, qk_norm, v=32, d=16, kv=8, hidden=24, head=4):
    sd = collections.OrderedDict()
    emb = torch.randn(v, d, generator=g)
    sd["model.embed_tokens.weight"] = emb
    p = "model.layers.0."
    sd[p + "self_attn.q_proj.weight"] = torch.randn(d, d, generator=g)
    sd[p + "self_attn.k_proj.weight"] = torch.randn(kv, d, generator=g)
    sd[p + "self_attn.v_proj.weight"] = torch.randn(kv, d, generator=g)
    sd[p + "self_attn.o_proj.weight"] = torch.randn(d, d, generator=g)
    if qk_norm:
        sd[p + "self_attn.q_norm.weight"] = torch.rand(head, generator=g) + 0.5
        sd[p + "self_attn.k_norm.weight"] = torch.rand(head, generator=g) + 0.5
    sd[p + "input_layernorm.weight"] = torch.rand(d, generator=g) + 0.5
    sd[p + "post_attention_layernorm.weight"] = torch.rand(d, generator=g) + 0.5
    sd[p + "mlp.gate_proj.weight"] = torch.randn(hidden, d, generator=g)
    sd[p + "mlp.down_proj.weight"] = torch.randn(d, hidden, generator=g)
    sd[p + "mlp.up_proj.weight"] = torch.randn(hidden, d, generator=g)
    sd["model.norm.weight"] = torch.rand(d, generator=g) + 0.5
    sd["lm_head.weight"] = emb.detach()
    return sd


def cast(sd, dtype):
    out = collections.OrderedDict()
    done = {}
    for k, t in sd.items():
        ptr = t.data_ptr()
        if ptr not in done:
            done[ptr] = t.to(dtype)
            out[k] = done[ptr]
        else:
            out[k] = done[ptr].detach()  # keep the tie after the cast
    return out


def zwrite(z, name, data):
    """writestr with a fixed timestamp, so regenerating the fixtures changes no bytes."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = z.compression
    z.writestr(info, data)


def save(obj, name, **kw):
    torch.save(obj, os.path.join(OUT, name), **kw)


def rezip(src, dst, top, compress, byteorder=None, swap=False):
    """Re-packs a torch zip under another top folder, optionally deflated / marked big-endian."""
    with zipfile.ZipFile(os.path.join(OUT, src)) as zin, \
            zipfile.ZipFile(os.path.join(OUT, dst), "w", compression=compress) as zout:
        names = zin.namelist()
        old_top = names[0].split("/")[0]
        for n in names:
            data = zin.read(n)
            rel = n[len(old_top) + 1:]
            if swap and rel.startswith("data/"):
                data = bytes(b for i in range(0, len(data), 4) for b in reversed(data[i:i + 4]))
            zwrite(zout, top + "/" + rel, data)
            if rel == "data.pkl" and byteorder:
                zwrite(zout, top + "/byteorder", byteorder)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class EvalEvil:
    def __reduce__(self):
        return (eval, ("1+1",))


def raw_zip(name, pickle_bytes, top="evil"):
    with zipfile.ZipFile(os.path.join(OUT, name), "w") as z:
        zwrite(z, top + "/data.pkl", pickle_bytes)
        zwrite(z, top + "/version", "3\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1234)

    sd24 = minimind_2024(g)
    save(sd24, "minimind2024_f32.pth")
    record("minimind2024_f32.pth", format="zip", top="minimind2024_f32")

    hf = minimind_hf(g, qk_norm=False)
    save(cast(hf, torch.float16), "minimind2_hf_f16.pth")
    record("minimind2_hf_f16.pth", format="zip", top="minimind2_hf_f16")

    v3 = minimind_hf(g, qk_norm=True)
    save(cast(v3, torch.bfloat16), "minimind3_bf16.pth")
    record("minimind3_bf16.pth", format="zip", top="minimind3_bf16")

    pref = collections.OrderedDict()
    for i, (k, t) in enumerate(sd24.items()):
        pref[("_orig_mod." if i % 3 == 0 else "module._orig_mod." if i % 3 == 1 else "module.") + k] = t
    save(pref, "prefixed_f32.pth")
    record("prefixed_f32.pth", format="zip", top="prefixed_f32")

    legacy = collections.OrderedDict(sd24)
    big = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    legacy["view.offset"] = big[1:]
    legacy["view.transposed"] = big.t()
    save(legacy, "minimind2024_legacy.pth", _use_new_zipfile_serialization=False)
    record("minimind2024_legacy.pth", format="legacy", top=None)

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3
    views = collections.OrderedDict()
    views["base"] = base
    views["offset"] = base[2:]
    views["transposed"] = base.t()
    views["strided"] = base[:, 1::2]
    views["expand"] = torch.tensor([1.5, -2.0, 3.25]).unsqueeze(0).expand(4, 3)
    views["scalar"] = torch.tensor(2.75)
    views["empty"] = torch.zeros(0, 3)
    views["empty_1d"] = torch.zeros(0)
    views["narrow_row"] = base[3]
    save(views, "views.pth")
    record("views.pth", format="zip", top="views")

    dt = collections.OrderedDict()
    vals = [0.0, -0.0, 1.0, -2.5, 3.140625, 65504.0, 6.1e-5, 5.96e-8, 1e-30, 1e30, float("inf"), -float("inf"), float("nan"), 1 / 3]
    dt["f64"] = torch.tensor(vals, dtype=torch.float64)
    dt["f32"] = torch.tensor(vals, dtype=torch.float32)
    dt["f16"] = torch.tensor(vals, dtype=torch.float32).to(torch.float16)
    dt["bf16"] = torch.tensor(vals, dtype=torch.float32).to(torch.bfloat16)
    dt["i64"] = torch.tensor([0, 1, -1, 2 ** 40, -2 ** 40, 2 ** 63 - 1, -2 ** 63], dtype=torch.int64)
    dt["i32"] = torch.tensor([0, 1, -1, 2 ** 31 - 1, -2 ** 31], dtype=torch.int32)
    dt["i16"] = torch.tensor([0, 1, -1, 32767, -32768], dtype=torch.int16)
    dt["i8"] = torch.tensor([0, 1, -1, 127, -128], dtype=torch.int8)
    dt["u8"] = torch.tensor([0, 1, 128, 255], dtype=torch.uint8)
    dt["bool"] = torch.tensor([True, False, True])
    dt["i64_2d"] = torch.arange(6, dtype=torch.int64).reshape(2, 3).t()
    save(dt, "dtypes.pth")
    record("dtypes.pth", format="zip", top="dtypes")

    # A real AdamW state after two steps on a tiny model with a tied weight.
    model = torch.nn.Sequential(torch.nn.Embedding(8, 4), torch.nn.Linear(4, 8, bias=False))
    model[1].weight = model[0].weight
    with torch.no_grad():
        model[0].weight.copy_(torch.randn(8, 4, generator=g))
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.95), weight_decay=0.1)
    for _ in range(2):
        loss = model(torch.tensor([1, 2, 3])).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
    save(opt.state_dict(), "adamw.pth")
    record("adamw.pth", format="zip", top="adamw")

    resume = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "step": 12345, "world_size": 1,
              "wandb_id": None, "lr": 5e-4, "name": "minimind", "flag": True, "off": False,
              "big": 2 ** 40, "neg": -2 ** 40, "huge": 2 ** 63 - 1, "hugeneg": -2 ** 63, "int31": 2 ** 31, "m129": -129,
              "tuple": (1, "a", 2.5), "list": [1, 2, [3, -4.0]], "nested": {1: {"x": -1}, 2: []},
              "size": torch.Size([2, 3]), "unicode": "中文 ✓"}
    save(resume, "resume.pth")
    record("resume.pth", format="zip", top="resume")

    save(torch.nn.Parameter(torch.arange(6, dtype=torch.float32).reshape(2, 3)), "parameter.pth")
    record("parameter.pth", format="zip", top="parameter")

    if not TORCH_ONLY:
        handmade()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"torch": torch.__version__, "files": EXPECTED, "malicious": MALICIOUS}, f, indent=None, separators=(",", ":"), sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT) if os.path.isfile(os.path.join(OUT, n)))
    print("wrote %d files, %d bytes in %s with torch %s" % (len(os.listdir(OUT)), total, OUT, torch.__version__), file=sys.stderr)


def handmade():
    """Files torch does not write itself: re-packed zips, the torch 2.x layout by hand, malicious pickles."""
    rezip("views.pth", "deflated_other_top.pth", "some_other_name", zipfile.ZIP_DEFLATED)
    record("deflated_other_top.pth", format="zip", top="some_other_name")

    big_sd = collections.OrderedDict(a=torch.tensor([1.0, -2.0, 3.5], dtype=torch.float32), b=torch.tensor([[7, 8], [9, 10]], dtype=torch.int32))
    save(big_sd, "little_for_swap.pth")
    rezip("little_for_swap.pth", "big_endian.pth", "big_endian", zipfile.ZIP_STORED, byteorder="big", swap=True)
    os.remove(os.path.join(OUT, "little_for_swap.pth"))
    record_source("big_endian.pth", big_sd, format="zip", top="big_endian")  # torch 1.13 cannot read byteorder records

    # torch 2.x layout, written by hand because torch 1.13 cannot: _rebuild_from_type_v2 around
    # _rebuild_tensor_v3 over UntypedStorage (numel counts bytes), plus 2.x's extra records.
    def g(mod, name):
        return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"

    def u(s):
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    def v3(key, nbytes, offset, size, dtype):
        return (g("torch._tensor", "_rebuild_from_type_v2") + b"(" + g("torch._utils", "_rebuild_tensor_v3") + g("torch", "Tensor")
                + b"((" + u("storage") + g("torch", "UntypedStorage") + u(key) + u("cpu") + b"K" + bytes([nbytes]) + b"tQ"
                + b"K" + bytes([offset]) + b"K" + bytes([size]) + b"\x85K\x01\x85\x89" + g("collections", "OrderedDict") + b")R"
                + g("torch", dtype) + b"t}tR")
    pkl = (b"\x80\x02" + g("collections", "OrderedDict") + b")R(" + u("w") + v3("0", 12, 1, 2, "float32")
           + u("h") + v3("1", 4, 0, 2, "bfloat16") + b"u.")
    with zipfile.ZipFile(os.path.join(OUT, "torch2_v3_untyped.pth"), "w") as z:
        zwrite(z, "torch2_v3_untyped/data.pkl", pkl)
        zwrite(z, "torch2_v3_untyped/.format_version", "1")
        zwrite(z, "torch2_v3_untyped/.storage_alignment", "64")
        zwrite(z, "torch2_v3_untyped/byteorder", "little")
        zwrite(z, "torch2_v3_untyped/data/0", struct.pack("<3f", 1.0, 2.0, 3.0))
        zwrite(z, "torch2_v3_untyped/data/1", struct.pack("<2H", 0x3FC0, 0xC000))
        zwrite(z, "torch2_v3_untyped/version", "3\n")
        zwrite(z, "torch2_v3_untyped/.data/serialization_id", "0123456789")
    v3_expected = collections.OrderedDict(w=torch.tensor([1.0, 2.0, 3.0])[1:], h=torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    record_source("torch2_v3_untyped.pth", v3_expected, format="zip", top="torch2_v3_untyped")

    # Malicious and out-of-subset pickles: the reader must refuse each, naming the culprit.
    save({"x": Evil()}, "malicious_os_system.pth")
    save({"x": EvalEvil()}, "malicious_eval.pth")
    raw_zip("malicious_int_opcode.pth", pickle.dumps(5, protocol=0))

    # A protocol-2 pickle whose storage reference is a text PERSID (what weights_only rejects).
    raw_zip("malicious_text_persid.pth", b"\x80\x02]q\x00Pstorage\na.")
    MALICIOUS.update({"malicious_os_system.pth": "posix.system", "malicious_eval.pth": "__builtin__.eval",
                      "malicious_int_opcode.pth": "INT", "malicious_text_persid.pth": "PERSID"})


EXPECTED = {}
MALICIOUS = {}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT, help="folder to write (default tests/fixtures/pth)")
    ap.add_argument("--torch-only", action="store_true", help="only the files torch itself saves")
    a = ap.parse_args()
    OUT, TORCH_ONLY = a.out, a.torch_only
    main()
