#!/usr/bin/env python3
"""PyTorch reference numbers for `minimind kernels bench` on the same GPU, at the same sizes (v1):
cuBLAS fp32 matmul (TF32 off and on) and SDPA causal attention forward/backward. Prints a markdown table."""
import argparse
import time

import torch
import torch.nn.functional as F


def timed(fn, min_seconds=0.5, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 4 == 0:
            torch.cuda.synchronize()
            if time.perf_counter() - t0 >= min_seconds:
                break
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=1408)
    ap.add_argument("--vocab", type=int, default=6400)
    a = ap.parse_args()
    dev = torch.device("cuda")
    rows, hd = a.batch * a.seq, a.dim // a.heads
    rows_out = []

    def add(name, sec, flops):
        rows_out.append((name, sec * 1e3, flops / sec / 1e9))

    x = torch.randn(rows, a.dim, device=dev)
    w = torch.randn(a.hidden, a.dim, device=dev) * 0.05
    dy = torch.randn(rows, a.hidden, device=dev)
    lw = torch.randn(a.vocab, a.dim, device=dev) * 0.05
    mm = 2.0 * rows * a.hidden * a.dim
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        tag = "tf32" if tf32 else "fp32"
        add(f"torch MatMul x@w.T ({tag})", timed(lambda: x @ w.t()), mm)
        add(f"torch MatMulBackwardInput dy@w ({tag})", timed(lambda: dy @ w), mm)
        add(f"torch MatMulBackwardWeight dy.T@x ({tag})", timed(lambda: dy.t() @ x), mm)
        add(f"torch MatMul lm_head ({tag})", timed(lambda: x @ lw.t()), 2.0 * rows * a.vocab * a.dim)
    torch.backends.cuda.matmul.allow_tf32 = False

    # SDPA with GQA expanded (torch 2.x SDPA wants equal heads unless enable_gqa exists).
    q = torch.randn(a.batch, a.heads, a.seq, hd, device=dev, requires_grad=True)
    k = torch.randn(a.batch, a.kv_heads, a.seq, hd, device=dev, requires_grad=True)
    v = torch.randn(a.batch, a.kv_heads, a.seq, hd, device=dev, requires_grad=True)
    rep = a.heads // a.kv_heads

    def fwd():
        return F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), is_causal=True)

    attn = 4.0 * a.batch * a.heads * a.seq * (a.seq + 1) / 2 * hd
    with torch.no_grad():
        add("torch SDPA causal forward (fp32)", timed(fwd), attn)
    o = fwd()
    g = torch.randn_like(o)
    add("torch SDPA causal backward (fp32)", timed(lambda: torch.autograd.grad(o, (q, k, v), g, retain_graph=True)), 2.5 * attn)

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    print()
    print("| op | ms/call | GFLOP/s |")
    print("|---|---:|---:|")
    for name, ms, gf in rows_out:
        print(f"| {name} | {ms:.3f} | {gf:.1f} |")


if __name__ == "__main__":
    main()
