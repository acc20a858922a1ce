"""Replays a GRPO/CISPO or agent step from a rollout log (`minimind train --stage grpo|agent --log-rollouts FILE`) with MiniMind's code.

usage: rollout_replay.py SPEC.json [MINIMIND_MIRROR]
SPEC.json: "log" (the rollout log), "step" (the step to replay), "config" (MiniMindConfig keyword arguments),
"policy" (the step's starting weights: a .pth, or the model.f32 of the step folder before it, the trained buffer in
the reference's key order with a tied lm_head left out), "reference" (the frozen reference's .pth), "pad", "eos",
"loss_type", "beta", "epsilon", "epsilon_high", and "byte_tokenizer" (true: check the decoded texts with the byte
tokenizer's rules: ids 0-255 are UTF-8 bytes, 256 <pad>, 257 <|im_start|>, 258 <|im_end|>, invalid UTF-8 replaced
by U+FFFD as Python's bytes.decode(errors="replace") does); agent steps: "stage": "agent" and "max_total_len".

For each micro-batch of the step it rebuilds train_grpo.py's tensors from the logged lines: the prompts padded on the
left with pad to the longest (P), the completions filled with eos to the longest (R, as MiniMind's generate leaves
finished rows), outputs = [prompts | completions], full_mask = outputs != pad. It then runs MiniMind's own
MiniMindForCausalLM (model/model_minimind.py from the mirror) on the policy and reference weights exactly as
grpo_train_epoch does (per_token_logps gathered at P - 1 + arange(R)) and MiniMind's loss formulas (tools/rl/loss_ref.py,
itself checked against grpo_train_epoch) on the logged rewards and old log-probs. Prints one JSON object: per
micro-batch the logged and replayed loss, the largest |logged old log-prob - replayed policy log-prob| over the mask,
whether the logged mask equals MiniMind's completion mask; plus counts of decoded texts that differ from the logged
ones and of logged floats that are not exactly float32 values.

Agent steps ("stage": "agent"): each micro-batch's rollouts (every completion's own prompt_ids, its response ids, mask
and old log-probs, as rollout_batch returns them) and logged rewards go through train_agent.py's own rl_train_epoch
(tools/rl/model_check.py agent_step: rollout_batch and calculate_rewards replaced by the logged values, MiniMind's
model code and rollout_engine.compute_per_token_logps for the reference); it prints the logged and replayed loss per
micro-batch, whether each completion's text is its ids decoded with special tokens kept, and whether its turn and
observation spans cover its mask's ones and zeros. Run with /usr/bin/python3 (torch 1.13).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_code import MiniMindCode  # noqa: E402
from loss_ref import completion_mask, group_advantages, policy_loss  # noqa: E402

BYTE_SPECIALS = {256: b"<pad>", 257: b"<|im_start|>", 258: b"<|im_end|>"}


def byte_decode(ids, skip_special):
    out = b"".join(bytes([i]) if i < 256 else (b"" if skip_special else BYTE_SPECIALS[i]) for i in ids)
    return out.decode("utf-8", errors="replace")


def not_float32(values):
    return sum(1 for v in values if isinstance(v, float) and float(np.float32(v)) != v)


def policy_state(spec, ref_sd, cfg):
    """The step's starting weights: a .pth, or a step folder's model.f32 (the trained buffer in the reference's key order)."""
    if spec["policy"].endswith(".f32"):
        flat, o, sd = np.fromfile(spec["policy"], dtype=np.float32), 0, {}
        for k, v in ref_sd.items():
            if k == "lm_head.weight" and cfg.tie_word_embeddings:
                continue
            sd[k] = torch.from_numpy(flat[o:o + v.numel()].copy()).view(v.shape)
            o += v.numel()
        assert o == flat.size, f"{spec['policy']}: {flat.size} floats, the reference's parameters take {o}"
        if cfg.tie_word_embeddings:
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    else:
        sd = torch.load(spec["policy"], map_location="cpu")
    return sd


def spans_cover_mask(c):
    """Turn spans hold exactly the mask's ones, observation spans its zeros, and together they tile the ids in order."""
    spans = sorted([(a, b, 1) for a, b in c["turns"]] + [(a, b, 0) for a, b in c["observations"]])
    at = 0
    for a, b, v in spans:
        if a != at or any(m != v for m in c["mask"][a:b]):
            return False
        at = b
    return at == len(c["ids"])


def replay_agent(code, mm, cfg, spec, step):
    from model_check import agent_step
    sd = policy_state(spec, torch.load(spec["reference"], map_location="cpu"), cfg)
    res = {"micro_batches": [], "decode_mismatches": 0, "not_float32": 0, "spans_mismatches": 0, "lines": len(step)}
    for l in step:
        res["not_float32"] += not_float32([l["micro_batch_loss"]])
        for c in l["completions"]:
            res["not_float32"] += not_float32([c["reward"], c["advantage"]] + c["old_logprobs"])
            res["spans_mismatches"] += not spans_cover_mask(c)
            if spec.get("byte_tokenizer"):
                res["decode_mismatches"] += byte_decode(c["ids"], False) != c["text"]
        if spec.get("byte_tokenizer"):
            res["decode_mismatches"] += byte_decode(l["prompt_ids"], False) != l["prompt_text"]
    for mb in sorted({l["micro_batch"] for l in step}):
        rows = sorted((l for l in step if l["micro_batch"] == mb), key=lambda l: l["index"])
        comps = [c for l in rows for c in l["completions"]]
        one = dict(spec, ref_weights=spec["reference"], prompt_ids=[c["prompt_ids"] for c in comps], response_ids=[c["ids"] for c in comps],
                   response_masks=[[int(m) for m in c["mask"]] for c in comps], old_logps=[c["old_logprobs"] for c in comps],
                   rewards=[c["reward"] for c in comps], num_generations=len(rows[0]["completions"]), pad_id=spec["pad"], eos_id=spec["eos"])
        loss, _, _ = agent_step(code, mm, cfg, sd, one)
        res["micro_batches"].append({"micro_batch": mb, "logged_loss": rows[0]["micro_batch_loss"], "replayed_loss": loss.item(),
                                     "tokens": sum(sum(c["mask"]) for c in comps)})
    return res


def main():
    spec = json.load(open(sys.argv[1]))
    code = MiniMindCode(sys.argv[2] if len(sys.argv) > 2 else "/work/.mirror/jingyaogong+minimind/repo")
    mm = code.model_module()
    cfg = mm.MiniMindConfig(**spec["config"])
    lines = [json.loads(l) for l in open(spec["log"], encoding="utf-8")]
    step = [l for l in lines if l["step"] == spec["step"]]
    if spec.get("stage") == "agent":
        print(json.dumps(replay_agent(code, mm, cfg, spec, step)))
        return

    def load(sd):
        m = mm.MiniMindForCausalLM(cfg)
        m.load_state_dict(sd, strict=True)
        return m

    ref_sd = torch.load(spec["reference"], map_location="cpu")
    policy, reference = load(policy_state(spec, ref_sd, cfg)).train(), load(ref_sd).eval()
    pad, eos = spec["pad"], spec["eos"]
    res = {"micro_batches": [], "decode_mismatches": 0, "not_float32": 0, "lines": len(step)}
    for l in step:
        res["not_float32"] += not_float32([l["micro_batch_loss"]])
        for c in l["completions"]:
            res["not_float32"] += not_float32([c["reward"], c["advantage"]] + c["old_logprobs"])
        if spec.get("byte_tokenizer"):
            res["decode_mismatches"] += byte_decode(l["prompt_ids"], False) != l["prompt_text"]
            res["decode_mismatches"] += sum(byte_decode(c["ids"], True) != c["text"] for c in l["completions"])
    for mb in sorted({l["micro_batch"] for l in step}):
        rows = sorted((l for l in step if l["micro_batch"] == mb), key=lambda l: l["index"])
        comps = [c for l in rows for c in l["completions"]]
        g = len(rows[0]["completions"])
        P = max(len(l["prompt_ids"]) for l in rows)
        R = max(len(c["ids"]) for c in comps)
        prompt_ids = torch.tensor([[pad] * (P - len(l["prompt_ids"])) + l["prompt_ids"] for l in rows]).repeat_interleave(g, dim=0)
        completion_ids = torch.tensor([c["ids"] + [eos] * (R - len(c["ids"])) for c in comps])
        outputs = torch.cat([prompt_ids, completion_ids], dim=1)
        full_mask = (outputs != pad).long()
        n_pad_sampled = int((completion_ids == pad).sum())
        logp_pos = (P - 1 + torch.arange(R)).unsqueeze(0).expand(outputs.size(0), -1)
        old = torch.tensor([c["old_logprobs"] + [0.0] * (R - len(c["ids"])) for c in comps], dtype=torch.float32)
        rewards = torch.tensor([c["reward"] for c in comps], dtype=torch.float32)
        # grpo_train_epoch's two forwards, line for line
        res_ = policy(outputs, attention_mask=full_mask)
        aux_loss = res_.aux_loss if cfg.use_moe else torch.tensor(0.0)
        per_token_logps = F.log_softmax(res_.logits[:, :-1, :], dim=-1).gather(2, outputs[:, 1:].unsqueeze(-1)).squeeze(-1).gather(1, logp_pos)
        with torch.no_grad():
            ref_per_token_logps = F.log_softmax(reference(outputs, attention_mask=full_mask).logits[:, :-1, :], dim=-1).gather(
                2, outputs[:, 1:].unsqueeze(-1)).squeeze(-1).gather(1, logp_pos)
        mask = completion_mask(completion_ids, torch.ones_like(completion_ids), eos)
        adv = group_advantages(rewards, g)
        loss = policy_loss(per_token_logps, old, ref_per_token_logps, adv, mask, spec["loss_type"], spec["beta"],
                           spec["epsilon"], spec["epsilon_high"], False) + aux_loss
        logged_mask = torch.tensor([c["mask"] + [0.0] * (R - len(c["ids"])) for c in comps])
        diff = ((per_token_logps.detach() - old).abs() * mask).max().item()
        res["micro_batches"].append({
            "micro_batch": mb, "logged_loss": rows[0]["micro_batch_loss"], "replayed_loss": loss.item(),
            "max_old_logprob_diff": diff, "mask_equal": bool(torch.equal(logged_mask, mask.float())),
            "pad_tokens_sampled": n_pad_sampled, "advantages_max_diff": (adv - torch.tensor([c["advantage"] for c in comps])).abs().max().item(),
        })
    print(json.dumps(res))


if __name__ == "__main__":
    main()
