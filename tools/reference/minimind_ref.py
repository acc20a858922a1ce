"""Independent PyTorch model of every MiniMind generation, used to write the C# model's test fixtures.

Written from the published architecture (read in jingyaogong/minimind's history), not copied from it:
  v2024     2024 Transformer/LMConfig: tok_embeddings, layers.N.attention.wq/.., feed_forward.w1/w2/w3,
            interleaved (complex) RoPE, one shared expert, top-k renormalised only when k > 1.
  minimind2 2025 MiniMindLM: same keys and formulas as v2024 (theta 1e6, GQA 8/2).
  hf        2025 MiniMindForCausalLM: model.layers.N.self_attn.q_proj/.., mlp.gate_proj/down_proj/up_proj,
            rotate-half RoPE, a list of shared experts.
  minimind3 2026 MiniMindForCausalLM: hf keys plus per-head q_norm/k_norm, router gate before the experts,
            no shared experts, top-k renormalised whenever norm_topk_prob, token-level aux loss.
Everything runs in float32. (MiniMind's 2024/minimind2 MoE casts expert outputs to fp16 while training;
this reference, like the C# model, keeps float32.)
Run with the system interpreter that has torch 1.13: /usr/bin/python3.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def hidden_dim_of(cfg):
    """FFN width: explicit, or the generation's formula."""
    if cfg.get("hidden_dim"):
        return cfg["hidden_dim"]
    d = cfg["dim"]
    if cfg["gen"] == "minimind3":
        return math.ceil(d * math.pi / 64) * 64
    h = int(2 * (4 * d) / 3)
    return 64 * ((h + 63) // 64)


def hf_keys(cfg):
    return cfg["gen"] in ("hf", "minimind3")


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        rstd = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * (x * rstd)


def rope_tables(head_dim, n_pos, theta):
    """float32 angles as torch computes them: 1/theta^(2i/hd), outer with the positions."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    ang = torch.outer(torch.arange(n_pos).float(), inv).float()
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x, cos, sin, interleaved):
    """x [B, T, H, hd]; cos/sin [T, hd/2]."""
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    if interleaved:
        # pairs (2i, 2i+1): complex multiply by e^{i angle}
        xr = x.reshape(*x.shape[:-1], -1, 2)
        a, b = xr[..., 0], xr[..., 1]
        return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(3)
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat((a * c - b * s, b * c + a * s), dim=-1)


class FFN(nn.Module):
    def __init__(self, cfg, names):
        super().__init__()
        d, h = cfg["dim"], hidden_dim_of(cfg)
        g, dn, up = names
        # registration order gate, down, up (w1, w2, w3) as MiniMind does
        setattr(self, g, nn.Linear(d, h, bias=False))
        setattr(self, dn, nn.Linear(h, d, bias=False))
        setattr(self, up, nn.Linear(d, h, bias=False))
        self.names = names

    def forward(self, x):
        g, dn, up = (getattr(self, n) for n in self.names)
        return dn(F.silu(g(x)) * up(x))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, H, K = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
        hd = d // H
        self.H, self.K, self.hd = H, K, hd
        self.pn = ("q_proj", "k_proj", "v_proj", "o_proj") if hf_keys(cfg) else ("wq", "wk", "wv", "wo")
        for n, (i, o) in zip(self.pn, ((d, H * hd), (d, K * hd), (d, K * hd), (H * hd, d))):
            setattr(self, n, nn.Linear(i, o, bias=False))
        if cfg["gen"] == "minimind3":
            self.q_norm = RMSNorm(hd, cfg["eps"])
            self.k_norm = RMSNorm(hd, cfg["eps"])

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        wq, wk, wv, wo = (getattr(self, n) for n in self.pn)
        q = wq(x).view(B, T, self.H, self.hd)
        k = wk(x).view(B, T, self.K, self.hd)
        v = wv(x).view(B, T, self.K, self.hd)
        if self.cfg["gen"] == "minimind3":
            q, k = self.q_norm(q), self.k_norm(k)
        inter = self.cfg["gen"] in ("v2024", "minimind2")
        q, k = apply_rope(q, cos, sin, inter), apply_rope(k, cos, sin, inter)
        rep = self.H // self.K
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        return wo(self.attend(q, k, v).transpose(1, 2).reshape(B, T, -1))

    def attend(self, q, k, v):
        """Causal softmax(q·kᵀ/√hd)·v over [B, H, T, hd] (kv heads already repeated); tools may override it."""
        if self.cfg.get("sdpa"):  # MiniMind's flash path (torch >= 2.0), used by the benchmarks and autocast runs
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        T = q.shape[2]
        s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        mask = torch.full((T, T), float("-inf"), device=q.device).triu(1)
        return torch.softmax(s + mask, dim=-1) @ v


class MoE(nn.Module):
    def __init__(self, cfg, names):
        super().__init__()
        self.cfg = cfg
        E = cfg["n_experts"]
        if cfg["gen"] == "minimind3":  # router registered first there
            self.gate = nn.Linear(cfg["dim"], E, bias=False)
            self.experts = nn.ModuleList([FFN(cfg, names) for _ in range(E)])
        else:
            self.experts = nn.ModuleList([FFN(cfg, names) for _ in range(E)])
            self.gate = nn.Linear(cfg["dim"], E, bias=False)  # a bare Parameter 'gate.weight' in MiniMind; same key
            ns = cfg["n_shared"]
            if ns > 0:
                if cfg["gen"] == "hf":
                    self.shared_experts = nn.ModuleList([FFN(cfg, names) for _ in range(ns)])
                else:
                    assert ns == 1
                    self.shared_experts = FFN(cfg, names)

    def forward(self, x):
        cfg = self.cfg
        B, T, D = x.shape
        xf = x.reshape(-1, D)
        E, k = cfg["n_experts"], cfg["top_k"]
        probs = torch.softmax(self.gate(xf), dim=-1)
        w, idx = torch.topk(probs, k, dim=-1)
        renorm = cfg["norm_topk"] and (k > 1 or cfg["gen"] == "minimind3")
        if renorm:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        y = torch.zeros_like(xf)
        for e in range(E):
            sel = idx == e  # [N, k]
            rows = sel.any(-1).nonzero().flatten()
            if rows.numel() == 0:
                continue
            we = (w * sel).sum(-1)[rows].unsqueeze(-1)
            y = y.index_add(0, rows, self.experts[e](xf[rows]) * we)
        if hasattr(self, "shared_experts"):
            sh = self.shared_experts if isinstance(self.shared_experts, nn.ModuleList) else [self.shared_experts]
            for f in sh:
                y = y + f(xf)
        # load-balancing loss (training mode)
        alpha = cfg["aux_alpha"]
        counts = F.one_hot(idx.reshape(-1), E).float()  # [N*k, E]
        if cfg["gen"] == "minimind3":
            aux = (counts.sum(0) / (B * T) * probs.mean(0)).sum() * E * alpha
        else:  # sequence-level
            ce = counts.view(B, T * k, E).sum(1) / (T * k / E)
            aux = (ce * probs.view(B, T, E).mean(1)).sum(1).mean() * alpha
        return y.view(B, T, D), aux


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ffn_names = ("gate_proj", "down_proj", "up_proj") if hf_keys(cfg) else ("w1", "w2", "w3")
        if hf_keys(cfg):
            self.self_attn = Attention(cfg)
            self.input_layernorm = RMSNorm(cfg["dim"], cfg["eps"])
            self.post_attention_layernorm = RMSNorm(cfg["dim"], cfg["eps"])
            self.mlp = MoE(cfg, ffn_names) if cfg["use_moe"] else FFN(cfg, ffn_names)
        else:
            self.attention = Attention(cfg)
            self.attention_norm = RMSNorm(cfg["dim"], cfg["eps"])
            self.ffn_norm = RMSNorm(cfg["dim"], cfg["eps"])
            self.feed_forward = MoE(cfg, ffn_names) if cfg["use_moe"] else FFN(cfg, ffn_names)

    def forward(self, x, cos, sin):
        if hf_keys(self.cfg):
            att, n1, n2, ff = self.self_attn, self.input_layernorm, self.post_attention_layernorm, self.mlp
        else:
            att, n1, n2, ff = self.attention, self.attention_norm, self.ffn_norm, self.feed_forward
        h = x + att(n1(x), cos, sin)
        out = ff(n2(h))
        if isinstance(out, tuple):
            return h + out[0], out[1]
        return h + out, torch.zeros(())


class Inner(nn.Module):
    """MiniMindModel of the HF layouts (keys under 'model.')."""

    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab"], cfg["dim"])
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["n_layers"])])
        self.norm = RMSNorm(cfg["dim"], cfg["eps"])


class Ref(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        if hf_keys(cfg):
            self.model = Inner(cfg)
            self.lm_head = nn.Linear(cfg["dim"], cfg["vocab"], bias=False)
            self.model.embed_tokens.weight = self.lm_head.weight
        else:
            self.tok_embeddings = nn.Embedding(cfg["vocab"], cfg["dim"])
            self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["n_layers"])])
            self.norm = RMSNorm(cfg["dim"], cfg["eps"])
            self.output = nn.Linear(cfg["dim"], cfg["vocab"], bias=False)
            self.tok_embeddings.weight = self.output.weight
        cos, sin = rope_tables(cfg["dim"] // cfg["n_heads"], cfg["max_seq_len"], cfg["theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def parts(self):
        """(embedding, blocks, final norm, head) without registering aliases (they would enter the state dict)."""
        if hf_keys(self.cfg):
            m = self.model
            return m.embed_tokens, m.layers, m.norm, self.lm_head
        return self.tok_embeddings, self.layers, self.norm, self.output

    def forward(self, ids):
        T = ids.shape[1]
        emb, blocks, norm, head = self.parts()
        h = emb(ids)
        aux = torch.zeros(())
        for b in blocks:
            h, a = b(h, self.cos[:T], self.sin[:T])
            aux = aux + a
        return head(norm(h)), aux

    def loss(self, ids, targets, mask):
        """Σ w·CE / Σ w with w = mask·[target != -100], plus the summed aux loss (training mode)."""
        logits, aux = self(ids)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="none")
        w = mask.reshape(-1) * (targets.reshape(-1) != -100).float()
        main = (ce * w).sum() / w.sum()
        if not self.cfg["use_moe"]:
            aux = torch.zeros(())
        return logits, main, aux
