#!/usr/bin/env python3
"""Writes tests/fixtures/rollout/<fixture>/expected.pth from MiniMind's own code: a left-padded rollout batch.

Loads the minimind-3 fixture models (tests/fixtures/model/minimind3-{dense,moe}: weights and config.json) into MiniMind's
MiniMindForCausalLM (model/model_minimind.py; transformers replaced by a stub that only supplies the base classes), then
runs exactly what trainer/train_grpo.py runs for one rollout batch, greedily (do_sample=False, so it is reproducible):
  prompts of different lengths padded on the left with pad id 0 (as the tokenizer's padding_side="left"),
  model.generate(...) (rollout_engine.py's TorchRolloutEngine: after a row's eos every later token is eos),
  compute_per_token_logps(...) from rollout_engine.py (the old log-probs: a separate forward with full_mask),
  and the policy forward model(outputs, attention_mask=full_mask).logits with a masked mean CE over the completions
  (up to and including each row's first eos) and its gradients.
expected.pth holds: prompt_ids/attention_mask [B,P] (left padded), outputs [B,P+R], eos, per_token_logps [B,R],
logits [B,P+R,V], completion_mask [B,R], loss and grad/<key> for every parameter.
Usage: /usr/bin/python3 tools/rollout/minimind_leftpad.py MINIMIND_CHECKOUT_OR_MIRROR [OUT_ROOT]
"""
import json, os, subprocess, sys, types

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
PROMPT_LENS = (3, 7, 5)
NEW_TOKENS = 10


def source(repo, path):
    try:
        return open(f"{repo}/{path}", encoding="utf-8").read()
    except FileNotFoundError:
        return subprocess.check_output(["git", "-C", repo, "show", f"HEAD:{path}"]).decode("utf-8")


def stub_modules():
    """transformers (base classes only) and requests: what model_minimind.py and rollout_engine.py import."""
    class PretrainedConfig:
        def __init__(self, **kwargs):
            pass

    class PreTrainedModel(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config

        def post_init(self):
            pass

    class Output(dict):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.__dict__.update(kw)

    tf = types.ModuleType("transformers")
    tf.PretrainedConfig, tf.PreTrainedModel, tf.GenerationMixin = PretrainedConfig, PreTrainedModel, type("GenerationMixin", (), {})
    tf.AutoTokenizer = None
    act = types.ModuleType("transformers.activations")
    act.ACT2FN = {"silu": F.silu}
    outs = types.ModuleType("transformers.modeling_outputs")
    outs.MoeCausalLMOutputWithPast = Output
    sys.modules.update({"transformers": tf, "transformers.activations": act, "transformers.modeling_outputs": outs,
                        "requests": types.ModuleType("requests")})


def load(repo, fixture_dir):
    ns = {"__name__": "model_minimind"}
    exec(compile(source(repo, "model/model_minimind.py"), "model_minimind.py", "exec"), ns)
    cfg = json.load(open(os.path.join(fixture_dir, "config.json")))
    model = ns["MiniMindForCausalLM"](ns["MiniMindConfig"](**cfg))
    model.load_state_dict(torch.load(os.path.join(fixture_dir, "model.pth")), strict=True)
    eng = {"__name__": "rollout_engine", "__file__": os.path.join(repo, "trainer", "rollout_engine.py")}
    exec(compile(source(repo, "trainer/rollout_engine.py"), "rollout_engine.py", "exec"), eng)
    return model.eval(), eng["compute_per_token_logps"], cfg


def left_pad(prompts, pad):
    P = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), P), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), P), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, P - len(p):] = torch.tensor(p)
        mask[i, P - len(p):] = 1
    return ids, mask


def greedy_gap(model, outputs, P):
    """Smallest top-2 logit gap over the generated positions (decisive argmax for another implementation)."""
    with torch.no_grad():
        logits = model(outputs, attention_mask=(outputs != 0).long()).logits[:, P - 1:-1]
    top2 = logits.topk(2, dim=-1).values
    return (top2[..., 0] - top2[..., 1]).min().item()


def build(repo, name, out_root):
    model, per_token_logps, cfg = load(repo, os.path.join(ROOT, "tests", "fixtures", "model", name))
    V = cfg["vocab_size"]
    for seed in range(1, 500):
        g = torch.Generator().manual_seed(seed)
        prompts = [torch.randint(3, V, (n,), generator=g).tolist() for n in PROMPT_LENS]
        ids, mask = left_pad(prompts, 0)
        P = ids.shape[1]
        with torch.no_grad():
            free = model.generate(ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None)
        # the eos: a token row 0 first produces at step 4, so that row stops early and is filled with eos after
        eos = free[0, P + 4].item()
        if eos in free[0, P:P + 4].tolist():
            continue
        with torch.no_grad():
            outputs = model.generate(ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=eos)
        outputs = outputs.clone()  # out of inference mode, as TorchRolloutEngine.rollout does
        R = outputs.shape[1] - P
        gen = outputs[:, P:]
        if R != NEW_TOKENS or (gen == 0).any() or greedy_gap(model, outputs, P) < 1e-3:
            continue  # pad id sampled (MiniMind would mask it), or a near tie
        break
    else:
        raise SystemExit(f"{name}: no seed gave a decisive batch")
    full_mask = (outputs != 0).long()
    with torch.no_grad():
        old = per_token_logps(model, outputs, R, attention_mask=full_mask)
    # completion mask up to and including the first eos (train_grpo.py)
    is_eos = gen == eos
    eos_idx = torch.full((gen.shape[0],), R - 1, dtype=torch.long)
    eos_idx[is_eos.any(1)] = is_eos.int().argmax(1)[is_eos.any(1)]
    cmask = (torch.arange(R).expand(gen.shape[0], -1) <= eos_idx.unsqueeze(1)).float()
    model.train()
    res = model(outputs, attention_mask=full_mask)
    ce = F.cross_entropy(res.logits[:, P - 1:-1].reshape(-1, V), gen.reshape(-1), reduction="none").view(gen.shape)
    loss = (ce * cmask).sum() / cmask.sum()
    loss.backward()
    exp = {"prompt_ids": ids, "attention_mask": mask, "outputs": outputs, "eos": torch.tensor(eos),
           "per_token_logps": old.float(), "logits": res.logits.detach(), "completion_mask": cmask, "loss": loss.detach()}
    for k, p in model.named_parameters():
        exp["grad/" + k] = p.grad.detach().clone()
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    torch.save(exp, os.path.join(d, "expected.pth"))
    print(f"{name}: seed {seed}, P {P}, R {R}, eos {eos}, completion lengths {cmask.sum(1).tolist()}, loss {loss.item():.6f}")


def main():
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "fixtures", "rollout")
    stub_modules()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for name in ("minimind3-dense", "minimind3-moe"):
        build(repo, name, out)


if __name__ == "__main__":
    main()
