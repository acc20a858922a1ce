"""Checks a MiniMind-layout resume file written by `minimind train --export-minimind-resume` in real PyTorch.

usage: check_resume.py FILE_resume.pth DIM N_LAYERS N_HEADS N_KV VOCAB
Loads it with torch.load as MiniMind does, then does what MiniMind's train_pretrain.py does on resume:
model.load_state_dict(ckp['model']), AdamW.load_state_dict(ckp['optimizer']), GradScaler.load_state_dict(ckp['scaler']),
and takes one optimizer step. Prints "OK epoch=<e> step=<s> world_size=<w> adam_step=<n>".
"""
import os
import sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_torch import MiniMindV1  # noqa: E402


def main():
    path = sys.argv[1]
    dim, layers, heads, kv, vocab = (int(x) for x in sys.argv[2:7])
    # As MiniMind loads it. From torch 2.6 on this call is weights_only=True by default, so there the file must
    # pass the restricted unpickler; torch 1.13's has no BINFLOAT (which lr/betas need) and loads it unrestricted.
    ckp = torch.load(path, map_location="cpu")
    for key in ("model", "optimizer", "epoch", "step", "world_size", "wandb_id"):
        if key not in ckp:
            sys.exit(f"missing key {key}")
    model = MiniMindV1(dim=dim, n_layers=layers, n_heads=heads, n_kv=kv, vocab=vocab, max_len=64)
    model.load_state_dict(ckp["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    opt.load_state_dict(ckp["optimizer"])
    scaler = torch.cuda.amp.GradScaler(enabled=False)
    scaler.load_state_dict(ckp["scaler"])
    steps = {float(s["step"]) for s in opt.state_dict()["state"].values()}
    x = torch.randint(0, vocab, (2, 8))
    model(x, x).backward()
    opt.step()
    g = ckp["optimizer"]["param_groups"][0]
    # the hyper-parameters exactly as torch's own AdamW(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01) stores them
    print(f"hyper betas={tuple(g['betas'])} eps={g['eps']!r} weight_decay={g['weight_decay']!r} params={len(g['params'])}")
    print(f"OK epoch={ckp['epoch']} step={ckp['step']} world_size={ckp['world_size']} adam_step={int(steps.pop())}")


if __name__ == "__main__":
    main()
