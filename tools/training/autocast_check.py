"""PyTorch side of the bf16 training test (tests/Minimind.Training.Tests/AutocastTrainingTests.cs).

usage: autocast_check.py SPEC.json OUT.pth      (torch >= 2.x: MM_TORCH2_PYTHON)
SPEC.json: the reference config (minimind_ref's dict), the initial weights the C# side wrote ('weights'), the
micro-batch of every optimizer step in the trainer's order ('batches': inputs/targets/mask as [B][T] lists), the
recipe ('lr' peak, 'total_steps', 'grad_clip', 'weight_decay') and the C# bf16 run's weights before each step
('teacher_weights'). Free runs train from the same weights with AdamW(betas 0.9/0.999, eps 1e-8), clip_grad_norm_
and MiniMind's cosine lr (get_lr: lr·(0.1 + 0.45·(1 + cos(π·step/total))), step 1-based as the C# trainer documents):
  fp32         plain float32.
  emulated     our --dtype bf16 semantics (IBackend's contract) in float32: every linear rounds x and W to bf16
               (.to(bfloat16).float(), round-to-nearest-even) and multiplies in float32; its backward rounds the
               incoming gradient and multiplies it by the same rounded x and W. Attention rounds q, k, v, computes
               softmax(q·kᵀ/√hd)·v in float32, and its backward rounds dO. Everything else float32.
  emulated_f64 the same rounded operands with float64 accumulation: how far two exact implementations of these
               semantics drift apart from summation order alone (an operand that lands on the other side of a bf16
               rounding boundary changes by 2^-8, and AdamW's early steps, ~lr·sign(g), amplify that).
  autocast     real torch.autocast(device_type='cpu', dtype=torch.bfloat16) around forward + loss, attention through
               F.scaled_dot_product_attention as MiniMind does. What torch 2.6 does on the CPU (probed, see `probe`
               in the JSON): linear, matmul and SDPA return bf16, so bf16 then flows through RoPE products, SiLU·up,
               the softmax inside SDPA and the residual adds until float32 promotes it; cross-entropy is on
               autocast's fp32 list (the loss is float32); embedding stays float32; backward runs the same bf16
               kernels, so weight gradients are bf16 products cast back to float32. It rounds at more points than
               we do (outputs too), the documented gap: only a loose comparison holds.
Teacher-forced: at each 'teacher_weights' file the emulated, emulated_f64 and fp32 models' loss and gradients on that step's
batch (no optimizer), so one step is compared without the drift of the free runs.
Prints one JSON line: {"torch", "probe", "losses": {run: [per step]}, "grad_norms": {run: [...]}}; OUT.pth gets
the final weights of the fp32/emulated/emulated_f64 runs as '<run>/<key>' and the teacher-forced gradients as
'teacher<step>/<emulated|emulated_f64|fp32>/<key>'.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import minimind_ref  # noqa: E402
from minimind_ref import Ref  # noqa: E402


ACC = torch.float32  # accumulation dtype of the emulated products (float64 for the emulated_f64 run)


def bf16(t):
    """t rounded to bf16 (nearest, ties to even) and held in float32."""
    return t.to(torch.bfloat16).float()


class RoundedLinearFn(torch.autograd.Function):
    """y = bf16(x)·bf16(W)ᵀ in float32; dx = bf16(dy)·bf16(W), dW = bf16(dy)ᵀ·bf16(x)."""

    @staticmethod
    def forward(ctx, x, w):
        xr, wr = bf16(x), bf16(w)
        ctx.save_for_backward(xr, wr)
        return (xr.to(ACC) @ wr.to(ACC).t()).float()

    @staticmethod
    def backward(ctx, dy):
        xr, wr = ctx.saved_tensors
        g = bf16(dy)
        g2, x2 = g.reshape(-1, g.shape[-1]).to(ACC), xr.reshape(-1, xr.shape[-1]).to(ACC)
        return (g.to(ACC) @ wr.to(ACC)).float(), (g2.t() @ x2).float()


class RoundedAttentionFn(torch.autograd.Function):
    """Causal attention on bf16(q), bf16(k), bf16(v) in float32; the backward differentiates the same float32 math
    at those rounded operands with the incoming gradient rounded."""

    @staticmethod
    def forward(ctx, q, k, v):
        qr, kr, vr = bf16(q), bf16(k), bf16(v)
        ctx.save_for_backward(qr, kr, vr)
        return causal_attention(qr, kr, vr)

    @staticmethod
    def backward(ctx, do):
        qr, kr, vr = (t.detach().requires_grad_(True) for t in ctx.saved_tensors)
        with torch.enable_grad():
            o = causal_attention(qr, kr, vr)
            return torch.autograd.grad(o, (qr, kr, vr), bf16(do))


def causal_attention(q, k, v):
    T, hd = q.shape[2], q.shape[3]
    q, k, v = q.to(ACC), k.to(ACC), v.to(ACC)
    s = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
    return (torch.softmax(s + torch.full((T, T), float("-inf"), dtype=ACC).triu(1), dim=-1) @ v).float()


class RoundedLinear(torch.nn.Linear):
    def forward(self, x):
        return RoundedLinearFn.apply(x, self.weight)


class RoundedAttention(minimind_ref.Attention):
    def attend(self, q, k, v):
        return RoundedAttentionFn.apply(q, k, v)


def build(cfg, weights, run):
    model = Ref(dict(cfg, sdpa=(run == "autocast")))
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    if run.startswith("emulated"):  # same modules and parameters (ties kept), our rounding in their forward/backward
        for m in model.modules():
            if type(m) is torch.nn.Linear:
                m.__class__ = RoundedLinear
            elif type(m) is minimind_ref.Attention:
                m.__class__ = RoundedAttention
    return model


def batch_tensors(b):
    ids = torch.tensor(b["inputs"], dtype=torch.long)
    targets = torch.tensor(b["targets"], dtype=torch.long)
    mask = torch.tensor(b["mask"], dtype=torch.float32) if b.get("mask") else torch.ones_like(targets, dtype=torch.float32)
    return ids, targets, mask


def train(spec, run):
    global ACC
    ACC = torch.float64 if run == "emulated_f64" else torch.float32
    model = build(spec["cfg"], spec["weights"], run)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=spec["weight_decay"])
    total = spec["total_steps"]
    losses, norms = [], []
    for step, b in enumerate(spec["batches"], start=1):
        for g in opt.param_groups:
            g["lr"] = spec["lr"] * (0.1 + 0.45 * (1 + math.cos(math.pi * step / total)))
        ids, targets, mask = batch_tensors(b)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=(run == "autocast")):
            _, loss, _ = model.loss(ids, targets, mask)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), spec["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        norms.append(norm.item())
    return model, losses, norms


def teacher_forced(spec, saved):
    """Loss and gradients of the emulated, emulated_f64 and fp32 models at the C# run's weights before each step."""
    global ACC
    losses = []
    for step, (path, b) in enumerate(zip(spec["teacher_weights"], spec["batches"]), start=1):
        ids, targets, mask = batch_tensors(b)
        for run in ("emulated", "emulated_f64", "fp32"):
            ACC = torch.float64 if run == "emulated_f64" else torch.float32
            model = build(spec["cfg"], path, run)
            _, loss, _ = model.loss(ids, targets, mask)
            loss.backward()
            if run == "emulated":
                losses.append(loss.item())
            for k, p in model.named_parameters():
                saved[f"teacher{step}/{run}/{k}"] = p.grad.detach().clone()
    return losses


def probe():
    """The dtypes torch's CPU autocast gives the ops the model uses (recorded with the results)."""
    x = torch.randn(1, 2, 4, 8, requires_grad=True)
    lin = torch.nn.Linear(8, 8, bias=False)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        y = lin(x)
        res = {
            "linear": y.dtype, "sdpa": F.scaled_dot_product_attention(x, x, x, is_causal=True).dtype,
            "softmax_of_bf16": torch.softmax(y, -1).dtype, "silu_mul": (F.silu(y) * y).dtype,
            "embedding": F.embedding(torch.zeros(2, dtype=torch.long), lin.weight).dtype,
            "cross_entropy": F.cross_entropy(y.reshape(-1, 8), torch.zeros(8, dtype=torch.long)).dtype,
        }
        F.cross_entropy(y.reshape(-1, 8), torch.zeros(8, dtype=torch.long)).backward()
    res["weight_grad"] = lin.weight.grad.dtype
    return {k: str(v).replace("torch.", "") for k, v in res.items()}


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(1)  # fixed reduction order run to run
    out = {"torch": torch.__version__, "probe": probe(), "losses": {}, "grad_norms": {}}
    saved = {}
    for run in ("fp32", "emulated", "emulated_f64", "autocast"):
        model, losses, norms = train(spec, run)
        out["losses"][run], out["grad_norms"][run] = losses, norms
        if run != "autocast":
            for k, v in model.state_dict().items():
                saved[f"{run}/{k}"] = v.detach().clone()
    out["losses"]["teacher_emulated"] = teacher_forced(spec, saved)
    torch.save(saved, sys.argv[2])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
