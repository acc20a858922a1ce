#!/usr/bin/python3
"""Side-by-side load/save bandwidth: torch 1.13 vs the C# reader/writer, plus dd's fsync bandwidth,
on one ~120 MB fp32 state dict in one run.

Run from the repository root:
    /usr/bin/python3 tools/pth/bench_load_save.py
It writes artifacts/pth-bench/model.pth with torch, times torch.load (page cache warm, best of 5),
torch.save (+ fsync) and `dd conv=fsync` (mean and best of 8 / 10 runs, dd half before and half after the C# run), then runs the BenchmarkDotNet class
CheckpointBenchmarks on the same file and prints every rate in GB/s (1e9 bytes/s).
"""
import csv
import glob
import os
import re
import subprocess
import sys
import time

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIR = os.path.join(ROOT, "artifacts", "pth-bench")


def make_model(path):
    g = torch.Generator().manual_seed(0)
    sd = {}
    v, d, h = 6400, 512, 1408
    emb = torch.randn(v, d, generator=g)
    sd["tok_embeddings.weight"] = emb
    for i in range(9):
        for w in ("wq", "wk", "wv", "wo"):
            sd["layers.%d.attention.%s.weight" % (i, w)] = torch.randn(d, d, generator=g)
        sd["layers.%d.attention_norm.weight" % i] = torch.ones(d)
        sd["layers.%d.feed_forward.w1.weight" % i] = torch.randn(h, d, generator=g)
        sd["layers.%d.feed_forward.w2.weight" % i] = torch.randn(d, h, generator=g)
        sd["layers.%d.feed_forward.w3.weight" % i] = torch.randn(h, d, generator=g)
        sd["layers.%d.ffn_norm.weight" % i] = torch.ones(d)
    sd["norm.weight"] = torch.ones(d)
    sd["output.weight"] = emb.detach()
    torch.save(sd, path)
    # MiniMind saves its checkpoints in half precision: {k: v.half() for k, v in state_dict.items()}.
    torch.save({k: v.half() for k, v in sd.items()}, os.path.join(os.path.dirname(path), "model_f16.pth"))
    return sd


def timed(fn, reps):
    """(mean, best) seconds over reps runs."""
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return sum(ts) / len(ts), min(ts)


def seconds(text):
    val, unit = text.replace(",", "").split()
    return float(val) * {"s": 1, "ms": 1e-3, "us": 1e-6, "μs": 1e-6, "ns": 1e-9}[unit]


def main():
    os.makedirs(DIR, exist_ok=True)
    path = os.path.join(DIR, "model.pth")
    sd = make_model(path)
    size = os.path.getsize(path)
    print("file: %s, %.1f MB, torch %s" % (path, size / 1e6, torch.__version__))

    torch.load(path)  # warm the page cache
    t_load = timed(lambda: torch.load(path), 8)

    # torch.load as a new process meets it: the call alone, timed inside 5 fresh interpreters (fresh memory).
    fresh = []
    for _ in range(5):
        r = subprocess.run([sys.executable, "-c", "import time, torch; t = time.perf_counter(); torch.load(%r); "
                            "print(time.perf_counter() - t)" % path], capture_output=True, text=True, check=True)
        fresh.append(float(r.stdout.strip().splitlines()[-1]))
    t_load_fresh = (sum(fresh) / len(fresh), min(fresh))

    # The whole job of model.load_state_dict(torch.load(path)): torch.load, then one copy_ per parameter into
    # the model's existing (already touched) tensors, which is what load_state_dict does under no_grad.
    params = {k: torch.zeros_like(v) for k, v in sd.items()}

    def load_into_params():
        loaded = torch.load(path)
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(loaded[k])
    load_into_params()
    t_load_sd = timed(load_into_params, 8)

    half = os.path.join(DIR, "model_f16.pth")
    torch.load(half)
    t_load16 = timed(lambda: {k: v.float() for k, v in torch.load(half).items()}, 8)

    out = os.path.join(DIR, "torch_save.pth")

    def save():
        with open(out, "wb") as f:
            torch.save(sd, f)
            f.flush()
            os.fsync(f.fileno())
    t_save = timed(save, 8)

    dd_times = []
    mb = size // 2 ** 20

    def dd_runs(n):  # the disk is shared: runs before and after the C# benchmarks bracket it
        for _ in range(n):
            dd = subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(DIR, "dd.bin"), "bs=1M", "count=%d" % mb,
                                 "conv=fsync"], capture_output=True, text=True)
            m = re.search(r"([\d.]+) s, ", dd.stderr)
            if m:
                dd_times.append(float(m.group(1)) * size / (mb * 2 ** 20))  # scaled to the file's size
    dd_runs(5)

    env = dict(os.environ, MM_PTH_BENCH_FILE=path, MM_SLOT=os.environ.get("MM_SLOT", "bench"))
    art = os.path.join(DIR, "bdn")
    subprocess.run(["dotnet", "run", "-c", "Release", "--project", os.path.join(ROOT, "benchmarks", "Minimind.Benchmarks"), "--",
                    "--filter", "*CheckpointBenchmarks*", "--artifacts", art], env=env, check=True,
                   stdout=subprocess.DEVNULL if "--quiet" in sys.argv else None)
    dd_runs(5)
    t_dd = (sum(dd_times) / len(dd_times), min(dd_times))
    os.remove(os.path.join(DIR, "dd.bin"))
    report = glob.glob(os.path.join(art, "results", "*CheckpointBenchmarks-report.csv"))[0]
    cs = {}
    with open(report) as f:
        for row in csv.DictReader(f):
            if row["Mean"] == "NA":
                sys.exit("BenchmarkDotNet produced no result for %s (build or run failed; rerun without --quiet)" % row["Method"])
            cs[row["Method"]] = (seconds(row["Mean"]), seconds(row["Min"]))

    def line(name, t):
        print("%-34s %8.3f %8.3f %8.2f %8.2f" % (name, t[0], t[1], size / t[0] / 1e9, size / t[1] / 1e9))
    print()
    print("%-34s %8s %8s %8s %8s" % ("operation (%.1f MB)" % (size / 1e6), "mean s", "best s", "GB/s", "best"))
    line("torch.load (page cache)", t_load)
    line("torch.load, fresh interpreter (5)", t_load_fresh)
    line("torch.load + copy_ into params", t_load_sd)
    line("C# Read + Load into model buffer", cs["Load"])
    line("C# Read + Load into new buffer", cs["LoadIntoNewBuffer"])
    line("torch.load f16 file + .float()", t_load16)
    line("C# Read + Load f16 into f32 buffer", cs["LoadFloat16"])
    line("torch.save + fsync", t_save)
    line("C# PthWriter (atomic, fsync)", cs["Save"])
    line("C# write+fsync in place (as dd)", cs["RawWriteFsync"])
    line("dd bs=1M conv=fsync (10 runs)", t_dd)
    print()
    print("load: C# vs torch.load = %.2fx (mean/mean), %.2fx (best/best); into a new buffer %.2fx / %.2fx"
          % (t_load[0] / cs["Load"][0], t_load[1] / cs["Load"][1], t_load[0] / cs["LoadIntoNewBuffer"][0], t_load[1] / cs["LoadIntoNewBuffer"][1]))
    print("load: C# vs torch.load in a fresh interpreter = %.2fx (mean/mean), %.2fx (best/best)"
          % (t_load_fresh[0] / cs["Load"][0], t_load_fresh[1] / cs["Load"][1]))
    print("load into a model: C# vs torch.load + copy_ into the parameters = %.2fx (mean/mean), %.2fx (best/best)"
          % (t_load_sd[0] / cs["Load"][0], t_load_sd[1] / cs["Load"][1]))
    print("load of the f16 file into float32: C# vs torch.load + .float() = %.2fx (mean/mean), %.2fx (best/best)"
          % (t_load16[0] / cs["LoadFloat16"][0], t_load16[1] / cs["LoadFloat16"][1]))
    print("save: C# bandwidth = %.0f%% of dd's fsync bandwidth (mean/mean), %.0f%% (best/best)"
          % (100 * t_dd[0] / cs["Save"][0], 100 * t_dd[1] / cs["Save"][1]))
    print("save: C# bandwidth = %.0f%% of a plain write+fsync of the same bytes in the same run (mean/mean), %.0f%% (best/best)"
          % (100 * cs["RawWriteFsync"][0] / cs["Save"][0], 100 * cs["RawWriteFsync"][1] / cs["Save"][1]))
    print("load average during the run: %.1f (2 cores)" % os.getloadavg()[0])

if __name__ == "__main__":
    main()
