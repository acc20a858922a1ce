"""torch.amp.GradScaler on a sequence of overflow flags: prints 'scale tracker skipped' after every update.

Usage: python grad_scaler_sequence.py FLAGS   (FLAGS: a string of 0/1, 1 = that step's gradient is inf)
The loss is p·1 (or p·inf), so the scaled gradient is the scale (or inf) and only the scaler's own rules are
exercised: unscale_ (via step), skip on inf, update's backoff/growth.
"""
import sys
import torch

flags = sys.argv[1]
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=1.0)
scaler = torch.amp.GradScaler("cpu")
out = []
for f in flags:
    before = p.detach().clone()
    opt.zero_grad()
    loss = (p * (float("inf") if f == "1" else 1.0)).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    skipped = bool(torch.equal(before, p.detach()))
    out.append(f"{scaler.get_scale():.1f} {scaler._growth_tracker.item()} {int(skipped)}")
print("\n".join(out))
