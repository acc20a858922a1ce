#!/usr/bin/env python3
"""PyTorch side of benchmarks/gpu/run.sh, on the same GPU, printing markdown tables beside our numbers.

usage: torch_ref.py gemm OURS_BENCH.md [...] [--device cuda] [--seconds 0.3]
         For every MatMul*/Attention* row of `minimind kernels bench` outputs (op, shape, dtype), times the same
         problem in torch: cuBLAS through torch.matmul for the three nn.Linear layouts (y = x·Wᵀ, dx = dy·W,
         dW = dyᵀ·x; fp32 with TF32 off, bf16, fp16), F.scaled_dot_product_attention(is_causal=True) forward and
         backward for attention (kv heads repeated). Prints ours vs torch and the ratio.
       torch_ref.py train --arch minimind-v1|minimind3 --batch-size 16 --max-seq-len 513 --steps 10
                    [--ours BENCH_TRAIN.log ...] [--modes eager-fp32,eager-bf16,compile-bf16] [--device cuda]
         Training tokens/s of the project's PyTorch MiniMind (tools/training/bench_torch.py: minimind_ref's model,
         forward + backward + clip + AdamW) per mode: eager fp32, eager + torch.autocast bf16, torch.compile + bf16;
         one markdown row beside the tokens/s of each `minimind bench train` log given with --ours (its 'dtype:'
         and last 'tokens/s:' lines). A mode that fails, or is still running when --budget seconds (for all
         modes, compile included) are spent, prints its error in its cell; the others still run and the table is
         printed (so the caller's timeout should exceed --budget).
--tiny (both modes) shrinks the model to dim 64 / 2 layers for a CPU dry run of this script (no GPU numbers).
"""
import argparse
import os
import re
import signal
import sys
import time
import traceback

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "training"))
import bench_torch  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, dev, min_seconds, warmup=3):
    for _ in range(warmup):
        fn()
    sync(dev)
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 4 == 0:
            sync(dev)
            if time.perf_counter() - t0 >= min_seconds:
                break
    sync(dev)
    return (time.perf_counter() - t0) / n


# | op | shape | dtype | ms/call | throughput |  (minimind kernels bench)
ROW = re.compile(r"^\|\s*(?P<op>(MatMul\w*|Attention|AttentionBackward)(\([^)]*\))?)\s*\|\s*(?P<shape>[^|]*)\|\s*(?P<dtype>fp32|bf16|fp16)\s*\|"
                 r"\s*(?P<ms>[0-9.]+)\s*\|\s*(?P<tp>[0-9.]+) TFLOP/s\s*\|")
ATTN = re.compile(r"B(\d+) T(\d+) H(\d+)/(\d+) hd(\d+)")


def gemm(a):
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are strict fp32, as our SIMT kernels
    rows = []
    for path in a.ours:
        with open(path) as f:
            rows += [m.groupdict() for m in map(ROW.match, f) if m]
    if not rows:
        sys.exit(f"no MatMul/Attention rows with a TFLOP/s column in {a.ours}")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'}; fp32 = TF32 off")
    print()
    print("| op | shape | dtype | ours ms | torch ms | ours TFLOP/s | torch TFLOP/s | ours / torch |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        dt, op, shape = DTYPES[r["dtype"]], r["op"], r["shape"].strip()
        ours_ms, ours_tf = float(r["ms"]), float(r["tp"])
        if op.startswith("MatMul"):
            m, n, k = (int(v) for v in shape.split("x"))
            if a.tiny:
                m, n, k = min(m, 64), min(n, 64), min(k, 64)
            x = torch.randn(m, k, device=dev, dtype=dt)
            w = torch.randn(n, k, device=dev, dtype=dt) * 0.05
            dy = torch.randn(m, n, device=dev, dtype=dt)
            fn = {"MatMul": lambda: x @ w.t(), "MatMulBackwardInput": lambda: dy @ w, "MatMulBackwardWeight": lambda: dy.t() @ x}[op.split("(")[0]]
            flops = 2.0 * m * n * k
        else:
            b, t, h, hk, hd = (int(v) for v in ATTN.match(shape).groups())
            if a.tiny:
                b, t = 1, min(t, 32)
            q = torch.randn(b, h, t, hd, device=dev, dtype=dt, requires_grad=True)
            kv = [torch.randn(b, hk, t, hd, device=dev, dtype=dt, requires_grad=True) for _ in range(2)]

            def fwd():
                return F.scaled_dot_product_attention(q, kv[0].repeat_interleave(h // hk, 1), kv[1].repeat_interleave(h // hk, 1), is_causal=True)

            flops = 4.0 * b * h * t * (t + 1) / 2 * hd  # as the bench counts it (causal half)
            if op == "Attention":
                def fn():
                    with torch.no_grad():
                        return fwd()
            else:
                o = fwd()
                g = torch.randn_like(o)
                flops *= 2.5

                def fn():
                    return torch.autograd.grad(o, [q] + kv, g, retain_graph=True)
        sec = timed(fn, dev, a.seconds)
        tf = flops / sec / 1e12
        ratio = (ours_tf / tf) if not a.tiny else float("nan")
        print(f"| {op} | {shape} | {r['dtype']} | {ours_ms:.3f} | {sec * 1e3:.3f} | {ours_tf:.4f} | {tf:.4f} | {ratio:.2f} |")


def ours_tokens(path):
    """(dtype, tokens/s) of a `minimind bench train` log, or (file name, error text)."""
    try:
        text = open(path).read()
    except OSError as e:
        return os.path.basename(path), f"no log ({e.strerror})"
    dtype = re.findall(r"^dtype: (\w+)", text, re.M)
    tps = re.findall(r"^tokens/s: ([0-9.]+)", text, re.M)
    name = dtype[0] if dtype else os.path.basename(path)
    return name, (float(tps[-1]) if tps else "no tokens/s line (failed or timed out)")


def train(a):
    dev = torch.device(a.device)
    t = a.max_seq_len - 1
    modes = a.modes.split(",")
    res = {}
    def too_long(signum, frame):
        raise TimeoutError(f"--budget {a.budget} s spent")

    signal.signal(signal.SIGALRM, too_long)
    start = time.monotonic()
    for mode in modes:
        comp, _, dt = mode.partition("-")
        signal.alarm(max(1, int(a.budget - (time.monotonic() - start))))
        try:
            if comp not in ("eager", "compile") or dt not in ("fp32", "bf16", "fp16"):
                raise ValueError(f"mode '{mode}' is not eager|compile-fp32|bf16|fp16")
            model = bench_torch.build(a.arch, False, a.max_seq_len, True, dev, **(dict(dim=64, n_layers=2) if a.tiny else {}))
            step = bench_torch.make_step(model, a.batch_size, t, False, None if dt == "fp32" else DTYPES[dt], comp == "compile")
            res[mode] = bench_torch.measure(step, dev, a.steps, a.batch_size * t, warmup=3 if comp == "compile" else 1,
                                            log=lambda s, m=mode: print(f"{m}: {s}", file=sys.stderr))
        except Exception as e:  # one failing mode (e.g. no compiler for torch.compile) leaves the others
            traceback.print_exc(file=sys.stderr)
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            why = next((ln for ln in lines if "Error" in ln), lines[0] if lines else "")  # the inner error of a wrapped one
            res[mode] = f"failed: {type(e).__name__}" + (f": {why[:100]}" if why else "")
        finally:
            signal.alarm(0)
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    ours = [ours_tokens(p) for p in a.ours]

    def cell(v):  # a '|' inside an error text would split the markdown cell
        return f"{v:,.0f}" if isinstance(v, float) else str(v).replace("|", "/")

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'}; {a.arch}, batch {a.batch_size} x {t} tokens, "
          f"{a.steps} timed steps{' (TINY dry run: not the model)' if a.tiny else ''}")
    print()
    cols = [f"ours {n}" for n, _ in ours] + [f"torch {m}" for m in modes]
    vals = [v for _, v in ours] + [res[m] for m in modes]
    ratio = ""
    ob = dict(ours).get("bf16")
    tb = res.get("eager-bf16")
    if isinstance(ob, float) and isinstance(tb, float):
        cols.append("ours bf16 / torch eager-bf16")
        ratio = f"{ob / tb:.2f}"
        vals.append(ratio)
    print("| arch | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    print(f"| {a.arch} B{a.batch_size} T{t} | " + " | ".join(cell(v) for v in vals) + " |")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gemm")
    g.add_argument("ours", nargs="+")
    g.add_argument("--seconds", type=float, default=0.3)
    t = sub.add_parser("train")
    t.add_argument("--arch", choices=sorted(bench_torch.PRESETS), default="minimind-v1")
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--max-seq-len", type=int, default=513)
    t.add_argument("--steps", type=int, default=10)
    t.add_argument("--modes", default="eager-fp32,eager-bf16,compile-bf16")
    t.add_argument("--ours", nargs="*", default=[])
    t.add_argument("--budget", type=int, default=140)
    for p in (g, t):
        p.add_argument("--device", default="cuda")
        p.add_argument("--tiny", action="store_true")
    a = ap.parse_args()
    gemm(a) if a.cmd == "gemm" else train(a)


if __name__ == "__main__":
    main()
