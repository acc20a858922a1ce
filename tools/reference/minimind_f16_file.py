"""MiniMind-style half-precision weight files and greedy decoding with the reference model, for the C# tests.

  make OUT.pth          a minimind3-layout model (dim 32, 2 layers, vocab 259) saved as MiniMind's trainer saves
                        it: {k: v.half() for k, v in state_dict().items()}, so the tied embedding and head become two
                        separate storages with equal values. Prints {"tied_params": N} (model.parameters() count).
  greedy W.pth IDS N    loads W.pth strictly into the reference model and prints the N greedy ids after IDS.

Run with /usr/bin/python3 (torch 1.13) or a torch 2.x interpreter.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import make_cfg  # noqa: E402
from minimind_ref import Ref  # noqa: E402


def cfg():
    c = make_cfg("minimind3", False)
    c.update(vocab=259, max_seq_len=128)
    return c


def main():
    mode = sys.argv[1]
    if mode == "make":
        torch.manual_seed(3)
        model = Ref(cfg())
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn(p.shape))
        sd = {k: v.half() for k, v in model.state_dict().items()}
        torch.save(sd, sys.argv[2])
        print(json.dumps({"tied_params": sum(p.numel() for p in model.parameters())}))
    elif mode == "greedy":
        model = Ref(cfg())
        sd = torch.load(sys.argv[2], map_location="cpu")
        model.load_state_dict(sd, strict=True)
        ids = [int(i) for i in sys.argv[3].split(",")]
        with torch.no_grad():
            for _ in range(int(sys.argv[4])):
                logits, _ = model(torch.tensor([ids]))
                ids.append(int(logits[0, -1].argmax()))
        print(json.dumps({"ids": ids[len(sys.argv[3].split(",")):]}))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
