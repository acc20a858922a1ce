"""minimind-v1 (2024 layout) for the training tools, with the (inputs, targets) -> loss call they use.

The model itself is tools/reference/minimind_ref.py's `Ref` (the one PyTorch model of MiniMind in this
repository, which the C# model's fixtures are checked against); this file only fixes its 2024 config
and adds the training loss: mean cross-entropy over targets != -100.
"""
import os
import sys

import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from minimind_ref import Ref  # noqa: E402


class MiniMindV1(Ref):
    def __init__(self, dim=512, n_layers=8, n_heads=16, n_kv=8, vocab=6400, max_len=512, theta=1e4, eps=1e-5):
        super().__init__(dict(gen="v2024", dim=dim, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv, vocab=vocab,
                              max_seq_len=max_len, theta=theta, eps=eps, hidden_dim=0, use_moe=False,
                              n_experts=4, top_k=2, n_shared=1, norm_topk=True, aux_alpha=0.0))

    def forward(self, inputs, targets):
        logits, _ = Ref.forward(self, inputs)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
