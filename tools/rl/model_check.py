"""PyTorch side of the RL model tests (tests/Minimind.Training.Tests/Rl/RlModelTorchTests.cs).

usage: model_check.py MODE SPEC.json OUT.pth [MINIMIND_MIRROR]
SPEC.json: "config" (the model's config.json: MiniMindConfig keyword arguments), "weights" (a .pth the C# side wrote),
"inputs" [B][T], plus per mode:
  policy   "targets" [B][T] (-100 ignored), "dlogp" [B][T]: the per-token log-probs log_softmax(logits)[target] of
           MiniMindForCausalLM (training mode) and the gradients of sum(dlogp * logp) + aux_scale * aux_loss.
  critic   "dvalues" [B][T]: the values of train_ppo.py's own CriticModel (value_head(norm(norm(h)))) loaded strictly
           from the weights, and the gradients of sum(dvalues * values).
  agent_step  "ref_weights", "prompt_ids"/"response_ids"/"response_masks"/"old_logps" (one list per rollout, as
           rollout_batch returns them), "rewards", "num_generations", "loss_type", "beta", "epsilon", "epsilon_high",
           "pad_id", "eos_id", "max_total_len": one step of train_agent.py's own rl_train_epoch (rollout_batch and
           calculate_rewards replaced by those values, rollout_engine.py's real compute_per_token_logps for the
           reference) on MiniMindForCausalLM policy/reference models; "loss" is what it backpropagates, "grad/<key>"
           the policy's gradients at its optimizer step.
Both run MiniMind's own model_minimind.py (and train_ppo.py / train_agent.py) from the mirror. OUT.pth receives "logp" or "values",
"loss" and "grad/<key>" for every parameter. Run with /usr/bin/python3 (torch 1.13).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimind_code import MiniMindCode  # noqa: E402


def agent_step(code, mm, cfg, sd, spec):
    """One rl_train_epoch step of train_agent.py on real models: (the loss backpropagated, the policy's gradients, the policy)."""
    import types
    from loss_ref import _Optimizer, _captured_backward, _quiet
    agent = code.module("trainer/train_agent.py")
    engine_mod = code.module("trainer/rollout_engine.py")
    policy = mm.MiniMindForCausalLM(cfg)
    policy.load_state_dict(sd, strict=True)
    policy.train()
    ref = mm.MiniMindForCausalLM(cfg)
    ref.load_state_dict(torch.load(spec["ref_weights"], map_location="cpu"), strict=True)
    ref = ref.eval().requires_grad_(False)
    n, g = len(spec["prompt_ids"]), spec["num_generations"]
    _quiet(agent)
    agent.lm_config = types.SimpleNamespace(use_moe=bool(cfg.use_moe), hidden_size=cfg.hidden_size)
    agent.args = types.SimpleNamespace(device="cpu", num_generations=g, max_gen_len=8, max_total_len=spec["max_total_len"], thinking_ratio=0.0,
                                       beta=spec["beta"], loss_type=spec["loss_type"], epsilon=spec["epsilon"], epsilon_high=spec["epsilon_high"],
                                       accumulation_steps=1, grad_clip=0, epochs=1, log_interval=10 ** 9, save_interval=10 ** 9, debug_mode=False)
    agent.tokenizer = types.SimpleNamespace(pad_token_id=spec["pad_id"], eos_token_id=spec["eos_id"], apply_chat_template=lambda *a, **k: "")
    rollout = (spec["prompt_ids"], spec["response_ids"], spec["response_masks"], spec["old_logps"])
    agent.rollout_batch = lambda *a, **k: ([""] * n, [""] * n, *rollout, [[""]] * n, [False] * n)
    agent.calculate_rewards = lambda *a, **k: torch.tensor(spec["rewards"], dtype=torch.float32)
    agent.compute_per_token_logps = engine_mod.compute_per_token_logps
    agent.model = policy
    agent.optimizer = _Optimizer(list(policy.parameters()))
    agent.scheduler = types.SimpleNamespace(step=lambda: None)
    engine = types.SimpleNamespace(update_policy=lambda m: None)
    batch = {"messages": [[]] * (n // g), "tools": [None] * (n // g), "gt": [[]] * (n // g)}
    losses = []
    with _captured_backward(losses):
        agent.rl_train_epoch(0, [batch], 1, engine, ref, None)
    return losses[0].reshape(1), agent.optimizer.steps[0], policy


def main():
    mode, spec_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    code = MiniMindCode(sys.argv[4] if len(sys.argv) > 4 else "/work/.mirror/jingyaogong+minimind/repo")
    spec = json.load(open(spec_path))
    mm = code.model_module()
    cfg = mm.MiniMindConfig(**spec["config"])
    ids = torch.tensor(spec["inputs"], dtype=torch.long)
    sd = torch.load(spec["weights"], map_location="cpu")
    res = {}
    if mode == "policy":
        model = mm.MiniMindForCausalLM(cfg)
        model.load_state_dict(sd, strict=True)
        model.train()
        targets = torch.tensor(spec["targets"], dtype=torch.long)
        out_ = model(ids)
        keep = targets != -100
        logp = torch.gather(F.log_softmax(out_.logits, dim=-1), 2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep
        loss = (torch.tensor(spec["dlogp"]) * logp).sum() + spec["aux_scale"] * out_.aux_loss
        res["logp"] = logp.detach()
        res["aux"] = out_.aux_loss.detach().reshape(1)
        params = model
    elif mode == "critic":
        ppo = code.module("trainer/train_ppo.py")
        model = ppo.CriticModel(cfg)
        missing, unexpected = model.load_state_dict(sd, strict=True), None
        model.train()
        values = model(input_ids=ids)
        loss = (torch.tensor(spec["dvalues"]) * values).sum()
        res["values"] = values.detach()
        params = model
    elif mode == "agent_step":
        res["loss"], grads, params = agent_step(code, mm, cfg, sd, spec)
        for (k, _), gr in zip(params.named_parameters(), grads):
            res["grad/" + k] = gr if gr is not None else torch.zeros(0)
        torch.save(res, out)
        print(f"OK {mode} loss {res['loss'].item():.6f}")
        return
    else:
        sys.exit(f"unknown mode {mode}")
    loss.backward()
    for k, p in params.named_parameters():
        res["grad/" + k] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
    res["loss"] = loss.detach().reshape(1)
    torch.save(res, out)
    print(f"OK {mode} loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
