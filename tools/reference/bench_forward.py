"""PyTorch 1.13 baseline for benchmarks/Minimind.Benchmarks/ModelBenchmarks.cs: minimind-v1 at full size
(dim 512, 8 layers, 16/8 heads, vocab 6400) with the reference model, float32, torch.no_grad, 2 threads.
Prints forward tokens/s at batch 1 and 8 (seq 256) and KV-less greedy generation is not measured here
(the reference has no KV cache); median of 5 timed runs after 2 warm-ups.
Usage: /usr/bin/python3 tools/reference/bench_forward.py [threads]
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_ref import Ref  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
cfg = dict(gen="v2024", theta=1e4, eps=1e-5, top_k=2, n_shared=1, dim=512, n_layers=8, n_heads=16, n_kv_heads=8,
           vocab=6400, max_seq_len=512, use_moe=False, n_experts=4, norm_topk=True, aux_alpha=0.0, hidden_dim=None)
torch.manual_seed(0)
model = Ref(cfg).eval()
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {sum(p.numel() for p in model.parameters())} parameters")
for batch in (1, 8):
    ids = torch.randint(0, 6400, (batch, 256))
    with torch.no_grad():
        for _ in range(2):
            model(ids)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            model(ids)
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(f"forward batch {batch} seq 256: {med * 1000:.1f} ms, {batch * 256 / med:.0f} tokens/s")
