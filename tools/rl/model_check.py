"""PyTorch side of the RL model tests (tests/Minimind.Training.Tests/Rl/RlModelTorchTests.cs).

usage: model_check.py MODE SPEC.json OUT.pth [MINIMIND_MIRROR]
SPEC.json: "config" (the model's config.json: MiniMindConfig keyword arguments), "weights" (a .pth the C# side wrote),
"inputs" [B][T], plus per mode:
  policy   "targets" [B][T] (-100 ignored), "dlogp" [B][T]: the per-token log-probs log_softmax(logits)[target] of
           MiniMindForCausalLM (training mode) and the gradients of sum(dlogp * logp) + aux_scale * aux_loss.
  critic   "dvalues" [B][T]: the values of train_ppo.py's own CriticModel (value_head(norm(norm(h)))) loaded strictly
           from the weights, and the gradients of sum(dvalues * values).
Both run MiniMind's own model_minimind.py (and train_ppo.py) from the mirror. OUT.pth receives "logp" or "values",
"loss" and "grad/<key>" for every parameter. Run with /usr/bin/python3 (torch 1.13).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_code import MiniMindCode  # noqa: E402


def main():
    mode, spec_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    code = MiniMindCode(sys.argv[4] if len(sys.argv) > 4 else "/work/.mirror/jingyaogong+minimind/repo")
    spec = json.load(open(spec_path))
    mm = code.model_module()
    cfg = mm.MiniMindConfig(**spec["config"])
    ids = torch.tensor(spec["inputs"], dtype=torch.long)
    sd = torch.load(spec["weights"], map_location="cpu")
    res = {}
    if mode == "policy":
        model = mm.MiniMindForCausalLM(cfg)
        model.load_state_dict(sd, strict=True)
        model.train()
        targets = torch.tensor(spec["targets"], dtype=torch.long)
        out_ = model(ids)
        keep = targets != -100
        logp = torch.gather(F.log_softmax(out_.logits, dim=-1), 2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep
        loss = (torch.tensor(spec["dlogp"]) * logp).sum() + spec["aux_scale"] * out_.aux_loss
        res["logp"] = logp.detach()
        res["aux"] = out_.aux_loss.detach().reshape(1)
        params = model
    elif mode == "critic":
        ppo = code.module("trainer/train_ppo.py")
        model = ppo.CriticModel(cfg)
        missing, unexpected = model.load_state_dict(sd, strict=True), None
        model.train()
        values = model(input_ids=ids)
        loss = (torch.tensor(spec["dvalues"]) * values).sum()
        res["values"] = values.detach()
        params = model
    else:
        sys.exit(f"unknown mode {mode}")
    loss.backward()
    for k, p in params.named_parameters():
        res["grad/" + k] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
    res["loss"] = loss.detach().reshape(1)
    torch.save(res, out)
    print(f"OK {mode} loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
