"""Writes tests/fixtures/training/: a MiniMind-layout resume file produced by real torch.optim.AdamW,
the batches of the next optimizer step, and the weights PyTorch reaches after that step.

Run with the system python that has torch 1.13:  /usr/bin/python3 tools/training/make_resume_fixture.py
Mirrors trainer/train_pretrain.py + trainer_utils.lm_checkpoint: loss / accumulation_steps,
clip_grad_norm_(1.0) at each optimizer step, resume dict {'model' (float16), 'optimizer', 'epoch',
'step', 'world_size', 'wandb_id', 'scaler'}; on resume the float16 weights are loaded back into the
float32 model (load_state_dict) before the next step, as MiniMind does.
"""
import json
import os
import sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_torch import MiniMindV1  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "training")
CFG = dict(dim=32, n_layers=1, n_heads=4, n_kv=2, vocab=259, max_len=24)
B, T, ACCUM, CLIP = 2, 16, 2, 1.0


def batch(g):
    x = torch.randint(0, CFG["vocab"], (B, T), generator=g)
    y = torch.randint(0, CFG["vocab"], (B, T), generator=g)
    y[1, T - 3:] = -100  # padding targets
    return x, y


def step(model, opt, batches, lr):
    for group in opt.param_groups:
        group["lr"] = lr
    for x, y in batches:
        (model(x, y) / ACCUM).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    opt.zero_grad(set_to_none=True)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = MiniMindV1(**CFG)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    for s in range(3):
        step(model, opt, [batch(g) for _ in range(ACCUM)], 2e-3 - 3e-4 * s)
    sd = {k: v.half().cpu() for k, v in model.state_dict().items()}
    resume = {"model": sd, "optimizer": opt.state_dict(), "epoch": 0, "step": 6, "world_size": 2, "wandb_id": None, "scaler": {}}
    os.makedirs(OUT, exist_ok=True)
    torch.save(resume, os.path.join(OUT, "minimind_resume.pth"))

    # What a resumed PyTorch run does next: fresh model + optimizer, load the dict, one more step.
    model2 = MiniMindV1(**CFG)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-3)
    loaded = torch.load(os.path.join(OUT, "minimind_resume.pth"))
    model2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["optimizer"])
    nxt = [batch(g) for _ in range(ACCUM)]
    lr = 1.25e-3
    step(model2, opt2, nxt, lr)
    torch.save({k: v.clone() for k, v in model2.state_dict().items()}, os.path.join(OUT, "expected_next_weights.pth"))
    meta = {
        "config": CFG, "accumulation_steps": ACCUM, "grad_clip": CLIP, "lr": lr, "batch": B, "seq": T,
        "batches": [{"inputs": x.flatten().tolist(), "targets": y.flatten().tolist()} for x, y in nxt],
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "next_step.json"), "w") as f:
        json.dump(meta, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
