"""PyTorch baseline for `minimind bench train`: the same model (tools/reference/minimind_ref.py, the project's PyTorch
MiniMind), the same step (forward, backward, clip_grad_norm_(1.0), AdamW), random tokens, one warm-up step.

usage: /usr/bin/python3 tools/training/bench_torch.py [--arch minimind-v1|minimind3] [--use-moe] [--batch-size 4]
       [--max-seq-len 256] [--steps 5] [--threads 2] [--attention auto|sdpa|matmul]
Rows are max-seq-len - 1 tokens, as `minimind bench train` uses. --attention auto takes MiniMind's own choice:
F.scaled_dot_product_attention(is_causal=True) where torch has it (>= 2.0), else the explicit softmax(QKᵀ)V.
Prints "tokens/s: N" as its last line.
"""
import argparse
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=sorted(PRESETS), default="minimind-v1")
    ap.add_argument("--use-moe", action="store_true")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", choices=("auto", "sdpa", "matmul"), default="auto")
    a = ap.parse_args()
    sdpa = hasattr(F, "scaled_dot_product_attention") if a.attention == "auto" else a.attention == "sdpa"
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = dict(PRESETS[a.arch], vocab=6400, max_seq_len=max(512, a.max_seq_len), hidden_dim=0, use_moe=a.use_moe,
               norm_topk=True, sdpa=sdpa)
    model = Ref(cfg)
    model.train()
    with torch.no_grad():  # MiniMind's _init_weights: N(0, 0.02) for Linear and Embedding
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
    t = a.max_seq_len - 1  # rows are shifted by one, as in training
    g = torch.Generator().manual_seed(1)

    def step():
        x = torch.randint(3, 6400, (a.batch_size, t), generator=g)
        y = torch.randint(3, 6400, (a.batch_size, t), generator=g)
        logits, aux = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-100)
        if a.use_moe:
            loss = loss + aux
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {a.arch}{' MoE' if a.use_moe else ''}, "
          f"attention {'sdpa' if sdpa else 'matmul'}, {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"batch {a.batch_size} x {t} tokens")
    t0 = time.perf_counter()
    step()
    print(f"warm-up step: {time.perf_counter() - t0:.3f} s")
    t0 = time.perf_counter()
    for s in range(a.steps):
        t1 = time.perf_counter()
        loss = step()
        print(f"step {s + 1}/{a.steps}: {time.perf_counter() - t1:.3f} s, loss {loss:.4f}")
    secs = time.perf_counter() - t0
    print(f"tokens/s: {a.steps * a.batch_size * t / secs:.1f}")


if __name__ == "__main__":
    main()
