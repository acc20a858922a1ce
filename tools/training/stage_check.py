"""PyTorch side of the training-stage tests (tests/Minimind.Training.Tests/StageTorchTests.cs).

usage: stage_check.py MODE SPEC.json OUT.pth
SPEC.json holds the reference config (minimind_ref's dict), the batch (inputs, targets as [B][T] lists,
-100 = ignored) and the paths of the weights the C# side wrote. OUT.pth receives 'loss' and
'grad/<key>' for every trained parameter, plus mode-specific tensors. Modes:
  lora     MiniMind's own model_lora.py (SPEC 'model_lora_dir') applied to the reference model: apply_lora,
           load_lora of the C# adapter file, base frozen as train_lora.py does; the masked-CE loss and the
           adapter gradients; merge_lora of the same file into 'merged_out'.
  dpo      train_dpo.py's loss on the batch (first half chosen, second half rejected rows) with a frozen
           reference model ('ref_weights'), beta 'beta'; gradients of the policy.
  distill  train_distillation.py's alpha*CE + (1-alpha)*T^2*KL against a teacher ('teacher_weights',
           'teacher_cfg'); gradients of the student.
Run with /usr/bin/python3 (torch 1.13).
"""
import importlib.util
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from minimind_ref import Ref  # noqa: E402


def load_model(cfg, path):
    m = Ref(cfg)
    m.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
    m.device = torch.device("cpu")  # model_lora.apply_lora reads model.device
    return m.float()


def masked_logps(logits, targets):
    """Per-row Σ log p(target) over non-ignored targets (train_dpo.py's logits_to_log_probs · mask, summed)."""
    mask = (targets != -100).float()
    lp = torch.gather(F.log_softmax(logits, dim=-1), 2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (lp * mask).sum(dim=1)


def main():
    mode, spec_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    spec = json.load(open(spec_path))
    cfg = spec["cfg"]
    ids = torch.tensor(spec["inputs"], dtype=torch.long)
    targets = torch.tensor(spec["targets"], dtype=torch.long)
    res = {}
    model = load_model(cfg, spec["weights"])
    if mode == "lora":
        mspec = importlib.util.spec_from_file_location("model_lora", os.path.join(spec["model_lora_dir"], "model_lora.py"))
        ml = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(ml)
        ml.apply_lora(model, rank=spec["rank"])
        ml.load_lora(model, spec["lora"])
        file_keys = set(torch.load(spec["lora"], map_location="cpu").keys())
        model_keys = {k for k, _ in model.named_parameters() if ".lora." in k}
        if file_keys != model_keys:
            sys.exit(f"adapter keys differ: file only {sorted(file_keys - model_keys)}, model only {sorted(model_keys - file_keys)}")
        for k, p in model.named_parameters():
            p.requires_grad = ".lora." in k
        _, main_loss, aux = model.loss(ids, targets, torch.ones_like(targets, dtype=torch.float32))
        loss = main_loss + aux
        loss.backward()
        for k, p in model.named_parameters():
            if ".lora." in k:
                res["grad/" + k] = p.grad.detach().clone()
            elif p.grad is not None:
                sys.exit(f"{k} got a gradient although frozen")
        ml.merge_lora(model, spec["lora"], spec["merged_out"])
        print(f"OK lora {len(file_keys)} adapter tensors, loss {loss.item():.6f}")
    elif mode == "dpo":
        ref = load_model(cfg, spec["ref_weights"])
        beta = spec["beta"]
        with torch.no_grad():
            ref_lp = masked_logps(ref(ids)[0], targets)
        lp = masked_logps(model(ids)[0], targets)
        n = ids.shape[0] // 2
        logits = (lp[:n] - lp[n:]) - (ref_lp[:n] - ref_lp[n:])
        loss = -F.logsigmoid(beta * logits).mean()
        loss.backward()
        for k, p in model.named_parameters():
            res["grad/" + k] = p.grad.detach().clone()
        print(f"OK dpo loss {loss.item():.6f}")
    elif mode == "distill":
        teacher = load_model(spec["teacher_cfg"], spec["teacher_weights"])
        alpha, T = spec["alpha"], spec["temperature"]
        logits, aux = model(ids)
        with torch.no_grad():
            t_logits = teacher(ids)[0][..., : logits.size(-1)]
        mask = (targets != -100).view(-1)
        ce = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-100)
        if cfg["use_moe"]:
            ce = ce + aux
        s = logits.view(-1, logits.size(-1))[mask]
        t = t_logits.reshape(-1, logits.size(-1))[mask]
        kl = F.kl_div(F.log_softmax(s / T, dim=-1), F.softmax(t / T, dim=-1).detach(), reduction="batchmean") * T * T
        loss = alpha * ce + (1 - alpha) * kl
        loss.backward()
        for k, p in model.named_parameters():
            res["grad/" + k] = p.grad.detach().clone()
        res["ce"] = ce.detach()
        res["kl"] = kl.detach()
        print(f"OK distill loss {loss.item():.6f}")
    else:
        sys.exit(f"unknown mode {mode}")
    res["loss"] = loss.detach().reshape(1)
    torch.save(res, out)


if __name__ == "__main__":
    main()
