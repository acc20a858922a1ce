"""PyTorch side of the multiple-choice scoring tests (tests/Minimind.Model.Tests/Evaluation/McScoringTorchTests.cs).

usage: mc_reference.py SPEC.json OUT.json
SPEC.json: {"cfg": minimind_ref's config dict, "weights": a .pth the C# side wrote, "max_length": the model's context,
            "items": [{"context": ids | "contexts": [ids per choice], "continuations": [ids per choice],
                       "choices": [str], "gold": int}]}
Each request is scored as lm-evaluation-harness's HFLM._loglikelihood_tokens does for a causal model, one at a time:
input (context + continuation)[-(max_length + 1):][:-1], float32 log_softmax over the vocabulary, the continuation's
tokens gathered from the last len(continuation) positions and summed; is_greedy = every one is its row's argmax. Then
process_results' multiple_choice metrics: acc (argmax of the sums), acc_norm (sum / len(choice) in characters),
acc_bytes (sum / UTF-8 bytes), numpy argmax. OUT.json gets every item's log-likelihoods, flags and metrics.
Run with /usr/bin/python3 (torch 1.13).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from minimind_ref import Ref  # noqa: E402


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    model = Ref(spec["cfg"])
    model.load_state_dict(torch.load(spec["weights"], map_location="cpu"), strict=True)
    model = model.float().eval()
    max_length = spec["max_length"]
    out = []
    with torch.no_grad():
        for it in spec["items"]:
            conts = it["continuations"]
            ctxs = it["contexts"] if "contexts" in it else [it["context"]] * len(conts)
            lls, greedy = [], []
            for ctx, cont in zip(ctxs, conts):
                inp = (ctx + cont)[-(max_length + 1):][:-1]
                logits, _ = model(torch.tensor([inp], dtype=torch.long))
                lp = F.log_softmax(logits[0], dim=-1)[-len(cont):]
                c = torch.tensor(cont, dtype=torch.long)
                greedy.append(bool((lp.argmax(-1) == c).all()))
                lls.append(float(torch.gather(lp, 1, c.unsqueeze(-1)).sum()))
            lls_np = np.array(lls)
            chars = np.array([float(len(c)) for c in it["choices"]])
            nbytes = np.array([float(len(c.encode("utf-8"))) for c in it["choices"]])
            gold = it["gold"]
            out.append({"lls": lls, "is_greedy": greedy,
                        "acc": float(np.argmax(lls_np) == gold), "acc_norm": float(np.argmax(lls_np / chars) == gold),
                        "acc_bytes": float(np.argmax(lls_np / nbytes) == gold),
                        "truncated": any(len(c) + len(x) > max_length + 1 for c, x in zip(ctxs, conts))})
    json.dump({"items": out}, open(sys.argv[2], "w", encoding="utf-8"))
    print("OK", len(out))


if __name__ == "__main__":
    main()
