"""Flattens a torch.load result into {path: node} (format documented in make_fixtures.py).
Shared by make_fixtures.py and torch_dump.py; the C# tests flatten their own trees the same way."""
import collections
import struct

import torch

DT = {torch.float64: "f64", torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
      torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool"}


def tensor_bytes(t):
    c = t.detach().contiguous()
    if c.dtype == torch.bfloat16:
        c = c.view(torch.int16)
    return c.numpy().tobytes().hex()


def flatten(obj, path, out):
    if isinstance(obj, torch.Tensor):
        # torch 2.x deprecates Tensor.storage(); both give the storage's data pointer.
        st = obj.untyped_storage() if hasattr(obj, "untyped_storage") else obj.storage()
        out[path] = {"kind": "tensor", "dtype": DT[obj.dtype], "shape": list(obj.shape), "stride": list(obj.stride()),
                     "offset": obj.storage_offset(), "storage_key": None, "bytes": tensor_bytes(obj),
                     "f32": obj.detach().float().contiguous().numpy().tobytes().hex(), "_ptr": st.data_ptr()}
        return
    if isinstance(obj, dict):
        out[path] = {"kind": "odict" if isinstance(obj, collections.OrderedDict) else "dict", "len": len(obj),
                     "keys": [k if isinstance(k, str) else "#%d" % k for k in obj.keys()]}
        for k, v in obj.items():
            seg = k if isinstance(k, str) else "#%d" % k
            flatten(v, path + "/" + seg if path else seg, out)
        return
    if isinstance(obj, (list, tuple)):
        out[path] = {"kind": "list" if isinstance(obj, list) else "tuple", "len": len(obj)}
        for i, v in enumerate(obj):
            flatten(v, "%s/[%d]" % (path, i) if path else "[%d]" % i, out)
        return
    if isinstance(obj, bool):
        out[path] = {"kind": "bool", "value": obj}
    elif isinstance(obj, int):
        out[path] = {"kind": "int", "value": str(obj)}
    elif isinstance(obj, float):
        out[path] = {"kind": "float", "bits": struct.pack(">d", obj).hex()}
    elif isinstance(obj, str):
        out[path] = {"kind": "str", "value": obj}
    elif obj is None:
        out[path] = {"kind": "none"}
    else:
        raise TypeError(type(obj))


def flatten_grouped(obj, grouped=True):
    """flatten(obj), then each tensor's "storage_group" in place of its data pointer: tensors that share a pointer
    get one number, in the order the flattening met them (torch numbers storages in order of first pickling, so
    this recovers that order). Zero-byte storages (address 0) share nothing: None. With grouped=False every tensor
    gets None (values recorded from a source object, whose sharing says nothing about the file)."""
    flat = {}
    flatten(obj, "", flat)
    groups = {}
    for node in flat.values():
        if node["kind"] == "tensor":
            ptr = node.pop("_ptr")
            node["storage_group"] = groups.setdefault(ptr, len(groups)) if grouped and ptr != 0 else None
    return flat
