"""Writes tests/fixtures/model/<preset>-<dense|moe>/{model.pth, expected.pth, config.json}.

model.pth     the state dict exactly as MiniMind saves it (tied keys share one storage)
expected.pth  flat dict: inputs/targets (int64 [B,T]), mask (float [B,T]), logits [B,T,V], loss (CE part),
              aux (summed MoE aux loss), prompt (int64), greedy (int64 [32]: greedy continuation, full
              recomputation, no EOS stop) and 'grad/<key>' for every parameter of model.parameters()
config.json   the generation's own config field names (LMConfig or MiniMindConfig)
Random weights are scaled so attention, routing and the next token are decisive; the script retries
seeds until every top-k routing gap and greedy logit gap exceeds a margin that float32 rounding
differences between implementations cannot cross.
Usage: /usr/bin/python3 tools/reference/make_fixtures.py [outdir]
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_ref import Ref, hidden_dim_of  # noqa: E402

B, T, GREEDY = 2, 16, 32
PRESETS = {
    "minimind-v1": dict(gen="v2024", theta=1e4, eps=1e-5, top_k=2, n_shared=1),
    "minimind2": dict(gen="minimind2", theta=1e6, eps=1e-5, top_k=2, n_shared=1),
    "minimind2-hf": dict(gen="hf", theta=1e6, eps=1e-5, top_k=2, n_shared=1),
    "minimind3": dict(gen="minimind3", theta=1e6, eps=1e-6, top_k=1, n_shared=0),
}


def make_cfg(preset, moe):
    c = dict(PRESETS[preset])
    c.update(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab=96, max_seq_len=64, use_moe=moe,
             n_experts=4, norm_topk=True, aux_alpha=0.5)
    # experts narrower than the dense default to keep the fixtures small; dense uses the formula
    c["hidden_dim"] = 32 if moe else None
    return c


def init_weights(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif "embed" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                scale = 3.0 if name.endswith("gate.weight") else 1.0
                p.copy_(torch.randn(p.shape, generator=g) * scale / math.sqrt(p.shape[1]))


def routing_gap(model, ids):
    """Smallest gap between the k-th and (k+1)-th router prob over all layers and tokens."""
    gaps = []

    def hook(mod, inp, out):
        cfg = mod.cfg
        probs = torch.softmax(mod.gate(inp[0].reshape(-1, inp[0].shape[-1])), -1)
        s = probs.sort(-1, descending=True).values
        gaps.append((s[:, cfg["top_k"] - 1] - s[:, cfg["top_k"]]).min().item())

    hs = [m.register_forward_hook(hook) for m in model.modules() if type(m).__name__ == "MoE"]
    with torch.no_grad():
        model(ids)
    for h in hs:
        h.remove()
    return min(gaps) if gaps else 1.0


def greedy(model, prompt, n):
    ids = prompt.clone()[None]
    gap = 1e9
    worst_route = 1.0
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(ids)
            last = logits[0, -1]
            top2 = last.topk(2).values
            gap = min(gap, (top2[0] - top2[1]).item())
            worst_route = min(worst_route, routing_gap(model, ids))
            ids = torch.cat([ids, last.argmax().view(1, 1)], dim=1)
    return ids[0, prompt.numel():], gap, worst_route


def config_json(preset, c):
    if c["gen"] in ("v2024", "minimind2"):
        j = dict(dim=c["dim"], n_layers=c["n_layers"], n_heads=c["n_heads"], n_kv_heads=c["n_kv_heads"],
                    vocab_size=c["vocab"], hidden_dim=c["hidden_dim"], multiple_of=64, norm_eps=c["eps"],
                    max_seq_len=c["max_seq_len"], rope_theta=c["theta"], use_moe=c["use_moe"],
                    num_experts_per_tok=c["top_k"], n_routed_experts=c["n_experts"],
                    n_shared_experts=bool(c["n_shared"]), aux_loss_alpha=c["aux_alpha"], seq_aux=True,
                    norm_topk_prob=c["norm_topk"], model_type="minimind")
        if c["gen"] == "v2024":
            del j["rope_theta"]  # the 2024 LMConfig has no such field (RoPE base fixed at 1e4)
        return j
    j = dict(hidden_size=c["dim"], num_hidden_layers=c["n_layers"], num_attention_heads=c["n_heads"],
             num_key_value_heads=c["n_kv_heads"], vocab_size=c["vocab"], intermediate_size=hidden_dim_of(c),
             rms_norm_eps=c["eps"], max_position_embeddings=c["max_seq_len"], rope_theta=c["theta"],
             use_moe=c["use_moe"], num_experts_per_tok=c["top_k"], norm_topk_prob=c["norm_topk"],
             model_type="minimind", architectures=["MiniMindForCausalLM"], tie_word_embeddings=True)
    if c["gen"] == "minimind3":
        j.update(num_experts=c["n_experts"], router_aux_loss_coef=c["aux_alpha"], moe_intermediate_size=hidden_dim_of(c),
                 head_dim=c["dim"] // c["n_heads"])
    else:
        j.update(n_routed_experts=c["n_experts"], n_shared_experts=c["n_shared"], aux_loss_alpha=c["aux_alpha"],
                 seq_aux=True, hidden_act="silu")
    return j


def build(preset, moe, out_root):
    c = make_cfg(preset, moe)
    name = f"{preset}-{'moe' if moe else 'dense'}"
    for seed in range(1, 200):
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        model = Ref(c)
        init_weights(model, g)
        ids = torch.randint(0, c["vocab"], (B, T), generator=g)
        targets = torch.randint(0, c["vocab"], (B, T), generator=g)
        targets[0, 3] = -100
        targets[1, 10] = -100
        mask = (torch.rand(B, T, generator=g) > 0.2).float()
        mask[0, 0] = 1.0
        prompt = torch.randint(0, c["vocab"], (4,), generator=g)
        rg = routing_gap(model, ids)
        toks, ggap, groute = greedy(model, prompt, GREEDY)
        if min(rg, groute) > 1e-3 and ggap > 1e-3:
            break
    else:
        raise SystemExit(f"{name}: no seed gave decisive routing/greedy gaps")
    model.train()
    logits, main, aux = model.loss(ids, targets, mask)
    (main + aux).backward()
    exp = {"inputs": ids, "targets": targets, "mask": mask, "logits": logits.detach(),
           "loss": main.detach(), "aux": aux.detach(), "prompt": prompt, "greedy": toks}
    for k, p in model.named_parameters():
        exp["grad/" + k] = p.grad.detach().clone()
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(d, "model.pth"))
    torch.save(exp, os.path.join(d, "expected.pth"))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_json(preset, c), f, indent=2)
    print(f"{name}: seed {seed} loss {main.item():.6f} aux {aux.item():.6f} route-gap {min(rg, groute):.2e} "
          f"greedy-gap {ggap:.2e} params {sum(p.numel() for p in model.parameters())}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "model")
    torch.set_num_threads(1)
    for preset in PRESETS:
        for moe in (False, True):
            build(preset, moe, out)


if __name__ == "__main__":
    main()
