"""PyTorch baseline for `minimind bench train`: the same minimind-v1 model (tools/training/minimind_torch.py),
the same step (forward, backward, clip_grad_norm_(1.0), AdamW), random tokens, one warm-up step.

usage: /usr/bin/python3 tools/training/bench_torch.py [--batch-size 4] [--max-seq-len 256] [--steps 5] [--threads 2]
Prints "tokens/s: N" as its last line.
"""
import argparse
import os
import sys
import time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_torch import MiniMindV1  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = MiniMindV1()
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
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")
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
