#!/usr/bin/env python3
"""A Qwen3 / Qwen3-MoE / Llama forward written from a HuggingFace folder's config.json alone (float64 torch),
reading model.safetensors with tools/safetensors/st_torch.py's own reader; the reference for `minimind convert --to hf`.

  hf_forward.py logits DIR IDS            print {"logits": [T*V floats]} for comma-separated ids
  hf_forward.py check DIR SRC.pth ARCH    compare every exported tensor with MiniMind's .pth bit for bit, mapping
                                          the keys and layouts independently (HF's own Meta->HF q/k permutation for
                                          interleaved-RoPE generations, torch.cat/stack for fused experts)
"""
import json, math, os, sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "safetensors"))
import st_torch  # noqa: E402


def load(d):
    cfg = json.load(open(os.path.join(d, "config.json"), encoding="utf-8"))
    w, _ = st_torch.read(os.path.join(d, "model.safetensors"))
    return cfg, {k: v.to(torch.float64) for k, v in w.items()}


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):  # x: [H, T, hd], rotate-half (HF Llama/Qwen3)
    hd, T = x.shape[-1], x.shape[-2]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward(cfg, w, ids):
    mt = cfg["model_type"]
    H, KV, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    hd = cfg.get("head_dim") or D // H
    eps, theta = cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    T = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, H, hd).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        if mt in ("qwen3", "qwen3_moe"):
            q = rms(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = rope(q, theta), rope(k, theta)
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
        o = (att @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        m = p + "mlp."
        if mt == "qwen3_moe":
            probs = torch.softmax(h @ w[m + "gate.weight"].T, -1)
            top_w, top_i = probs.topk(cfg["num_experts_per_tok"], -1)
            if cfg.get("norm_topk_prob"):
                top_w = top_w / top_w.sum(-1, keepdim=True)
            gu, dn = w[m + "experts.gate_up_proj"], w[m + "experts.down_proj"]
            y = torch.zeros_like(h)
            for t in range(T):
                for j in range(top_i.shape[1]):
                    e = int(top_i[t, j])
                    g, u = (gu[e] @ h[t]).chunk(2, -1)
                    y[t] += top_w[t, j] * (dn[e] @ (torch.nn.functional.silu(g) * u))
        else:
            y = (torch.nn.functional.silu(h @ w[m + "gate_proj.weight"].T) * (h @ w[m + "up_proj.weight"].T)) @ w[m + "down_proj.weight"].T
        x = x + y
    x = rms(x, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    assert "lm_head.weight" in w or cfg.get("tie_word_embeddings", True)
    return x @ head.T


def meta_to_hf(t, heads):  # HF's convert_llama_weights_to_hf permutation (interleaved -> rotate-half rows)
    d1, d2 = t.shape
    return t.view(heads, d1 // heads // 2, 2, d2).transpose(1, 2).reshape(d1, d2)


def check(d, src, arch):
    cfg = json.load(open(os.path.join(d, "config.json"), encoding="utf-8"))
    out, _ = st_torch.read(os.path.join(d, "model.safetensors"))
    sd = torch.load(src, map_location="cpu")
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    exp = {}
    if arch in ("minimind-v1", "minimind2"):
        ren = {"tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
        for k, v in sd.items():
            if k in ren:
                exp[ren[k]] = v
                continue
            if not k.startswith("layers."):
                continue
            _, l, rest = k.split(".", 2)
            name = {"attention.wq.weight": "self_attn.q_proj.weight", "attention.wk.weight": "self_attn.k_proj.weight",
                    "attention.wv.weight": "self_attn.v_proj.weight", "attention.wo.weight": "self_attn.o_proj.weight",
                    "attention_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
                    "feed_forward.w1.weight": "mlp.gate_proj.weight", "feed_forward.w2.weight": "mlp.down_proj.weight",
                    "feed_forward.w3.weight": "mlp.up_proj.weight"}[rest]
            if rest == "attention.wq.weight":
                v = meta_to_hf(v, H)
            if rest == "attention.wk.weight":
                v = meta_to_hf(v, KV)
            exp[f"model.layers.{l}.{name}"] = v
    else:
        exp = {k: v for k, v in sd.items() if "mlp.experts." not in k or "gate.weight" in k}
        E = cfg.get("num_experts")
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}.mlp.experts"
            if f"{p}.0.gate_proj.weight" in sd:
                exp[f"{p}.gate_up_proj"] = torch.cat([torch.stack([sd[f"{p}.{e}.gate_proj.weight"] for e in range(E)]),
                                                      torch.stack([sd[f"{p}.{e}.up_proj.weight"] for e in range(E)])], dim=1)
                exp[f"{p}.down_proj"] = torch.stack([sd[f"{p}.{e}.down_proj.weight"] for e in range(E)])
    if cfg.get("tie_word_embeddings", True):
        exp.pop("lm_head.weight", None)
    bad = [k for k in exp if k not in out or out[k].dtype != exp[k].dtype or not torch.equal(out[k], exp[k])]
    extra = sorted(set(out) - set(exp))
    print(json.dumps({"checked": len(exp), "different": bad, "unexpected": extra}))
    sys.exit(1 if bad or extra else 0)


if __name__ == "__main__":
    if sys.argv[1] == "logits":
        cfg, w = load(sys.argv[2])
        ids = [int(s) for s in sys.argv[3].split(",")]
        print(json.dumps({"logits": forward(cfg, w, ids).reshape(-1).tolist()}))
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: hf_forward.py logits DIR IDS | check DIR SRC.pth ARCH")
