"""PyTorch baseline for `minimind bench train`: the same model (tools/reference/minimind_ref.py, the project's PyTorch
MiniMind), the same step (forward, backward, clip_grad_norm_(1.0), AdamW), random tokens, warm-up steps first.

usage: /usr/bin/python3 tools/training/bench_torch.py [--arch minimind-v1|minimind3] [--use-moe] [--batch-size 4]
       [--max-seq-len 256] [--steps 5] [--threads 2] [--attention auto|sdpa|matmul] [--device cpu|cuda]
       [--autocast none|bf16|fp16] [--compile]
Rows are max-seq-len - 1 tokens, as `minimind bench train` uses. --attention auto takes MiniMind's own choice:
F.scaled_dot_product_attention(is_causal=True) where torch has it (>= 2.0), else the explicit softmax(QKᵀ)V.
--autocast runs forward and loss under torch.autocast(device, dtype) as MiniMind's train_*.py do; --compile wraps
the model in torch.compile (the first warm-up steps include the compile time, never timed).
Prints "tokens/s: N" as its last line. benchmarks/gpu/torch_ref.py imports build/make_step/measure from here.
"""
import argparse
import contextlib
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from minimind_ref import Ref  # noqa: E402

# The C# presets (src/Minimind.Model/ModelConfig.cs) in minimind_ref's config keys.
PRESETS = {
    "minimind-v1": dict(gen="v2024", dim=512, n_layers=8, n_heads=16, n_kv_heads=8, theta=1e4, eps=1e-5,
                        n_experts=4, top_k=2, n_shared=1, aux_alpha=0.01),
    "minimind3": dict(gen="minimind3", dim=768, n_layers=8, n_heads=8, n_kv_heads=4, theta=1e6, eps=1e-6,
                      n_experts=4, top_k=1, n_shared=0, aux_alpha=5e-4),
}
VOCAB = 6400
AUTOCAST = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def build(arch, use_moe=False, max_seq_len=256, sdpa=True, device="cpu", **overrides):
    """The preset's model on `device` (config keys in `overrides` replace the preset's), MiniMind's _init_weights:
    N(0, 0.02) for Linear and Embedding."""
    torch.manual_seed(0)
    cfg = dict(PRESETS[arch], vocab=VOCAB, max_seq_len=max(512, max_seq_len), hidden_dim=0, use_moe=use_moe,
               norm_topk=True, sdpa=sdpa)
    cfg.update(overrides)
    model = Ref(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.02)
    model = model.to(device)
    model.train()
    return model


def make_step(model, batch_size, t, use_moe=False, autocast=None, compiled=False):
    """One optimizer step on fresh random tokens (drawn on the model's device): returns the loss tensor (not synced)."""
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
    fwd = torch.compile(model) if compiled else model
    g = torch.Generator(device=device).manual_seed(1)

    def step():
        x = torch.randint(3, VOCAB, (batch_size, t), generator=g, device=device)
        y = torch.randint(3, VOCAB, (batch_size, t), generator=g, device=device)
        with torch.autocast(device_type=device.type, dtype=autocast) if autocast else contextlib.nullcontext():
            logits, aux = fwd(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-100)
            if use_moe:
                loss = loss + aux.to(loss.device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(step, device, steps, tokens_per_step, warmup=1, log=print):
    """Warm-up steps, then `steps` timed ones (synchronised at the end); returns tokens/s."""
    device = torch.device(device)
    for w in range(warmup):
        t0 = time.perf_counter()
        loss = step()
        _sync(device)
        log(f"warm-up step {w + 1}: {time.perf_counter() - t0:.3f} s, loss {loss.item():.4f}")
    t0 = time.perf_counter()
    for s in range(steps):
        loss = step()
    _sync(device)
    secs = time.perf_counter() - t0
    log(f"{steps} timed steps: {secs / steps:.4f} s/step, last loss {loss.item():.4f}")
    return steps * tokens_per_step / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=sorted(PRESETS), default="minimind-v1")
    ap.add_argument("--use-moe", action="store_true")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", choices=("auto", "sdpa", "matmul"), default="auto")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--autocast", choices=sorted(AUTOCAST), default="none")
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    sdpa = hasattr(F, "scaled_dot_product_attention") if a.attention == "auto" else a.attention == "sdpa"
    torch.set_num_threads(a.threads)
    t = a.max_seq_len - 1  # rows are shifted by one, as in training
    model = build(a.arch, a.use_moe, a.max_seq_len, sdpa, a.device)
    step = make_step(model, a.batch_size, t, a.use_moe, AUTOCAST[a.autocast], a.compile)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}, {a.arch}{' MoE' if a.use_moe else ''}, "
          f"attention {'sdpa' if sdpa else 'matmul'}, autocast {a.autocast}{', torch.compile' if a.compile else ''}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; batch {a.batch_size} x {t} tokens")
    tps = measure(step, a.device, a.steps, a.batch_size * t, warmup=2 if a.compile else 1)
    print(f"tokens/s: {tps:.1f}")


if __name__ == "__main__":
    main()
