"""Loads a C#-exported state dict into the reference model (strict) and prints its logits as JSON.

Usage: /usr/bin/python3 tools/reference/check_export.py WEIGHTS.pth PRESET dense|moe IDS(comma-separated)
Used by the C# tests to prove ExportStateDict writes the exact PyTorch keys, shapes and tying.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import make_cfg  # noqa: E402
from minimind_ref import Ref  # noqa: E402

path, preset, kind, ids = sys.argv[1:5]
cfg = make_cfg(preset, kind == "moe")
model = Ref(cfg)
sd = torch.load(path, map_location="cpu")
model.load_state_dict(sd, strict=True)
emb, _, _, head = model.parts()
tied = emb.weight.data_ptr() == head.weight.data_ptr()
x = torch.tensor([[int(i) for i in ids.split(",")]])
with torch.no_grad():
    logits, _ = model(x)
print(json.dumps({"tied": tied, "keys": list(sd.keys()), "logits": logits.flatten().tolist()}))
