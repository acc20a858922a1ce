"""PyTorch side of the validation-loss and sample tests (tests/Minimind.Training.Tests/HeldOutEvaluationTests.cs).

usage: heldout_reference.py MODE SPEC.json OUT.json   (MODE: loss | greedy)
SPEC.json: {"cfg": minimind_ref's config dict, "weights": a .pth the C# side wrote, ...}
  loss    "inputs", "targets": [rows][T] ids (-100 = ignored). OUT: each row's sum of cross-entropy over its targets
          (float32 log_softmax, summed in float64) and their count, and the mean over all targets.
  greedy  "prompts": [ids], "max_new", "stop": id or -1. OUT: each prompt's argmax continuation, recomputing the whole
          sequence each step (no cache), stopping before the stop id, after max_new tokens or at max_seq_len.
Run with /usr/bin/python3 (torch 1.13).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from minimind_ref import Ref  # noqa: E402


def main():
    mode, spec_path, out_path = sys.argv[1:4]
    spec = json.load(open(spec_path, encoding="utf-8"))
    model = Ref(spec["cfg"])
    model.load_state_dict(torch.load(spec["weights"], map_location="cpu"), strict=True)
    model = model.float().eval()
    out = {}
    with torch.no_grad():
        if mode == "loss":
            rows, total, count = [], 0.0, 0
            for inp, tgt in zip(spec["inputs"], spec["targets"]):
                logits, _ = model(torch.tensor([inp], dtype=torch.long))
                ce = F.cross_entropy(logits[0], torch.tensor(tgt, dtype=torch.long), ignore_index=-100, reduction="none")
                s = float(ce.double().sum())
                n = sum(1 for t in tgt if t != -100)
                rows.append({"nll": s, "tokens": n})
                total += s
                count += n
            out = {"rows": rows, "loss": total / count, "tokens": count}
        elif mode == "greedy":
            res = []
            for p in spec["prompts"]:
                seq = list(p)
                new = []
                while len(new) < spec["max_new"] and len(seq) < spec["cfg"]["max_seq_len"]:
                    logits, _ = model(torch.tensor([seq], dtype=torch.long))
                    nxt = int(logits[0, -1].argmax())
                    if nxt == spec["stop"]:
                        break
                    seq.append(nxt)
                    new.append(nxt)
                res.append(new)
            out = {"continuations": res}
        else:
            sys.exit("unknown mode " + mode)
    json.dump(out, open(out_path, "w", encoding="utf-8"))
    print("OK", mode)


if __name__ == "__main__":
    main()
