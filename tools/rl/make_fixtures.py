#!/usr/bin/env python3
"""Writes the committed fixtures of tests/fixtures/rl/ from MiniMind's own code (see minimind_code.py):

  unicode   Python's own text semantics that MiniMind's rewards rely on, for every code point Python assigns:
            re's \\w and \\s, str.lower() (incl. U+0130 -> 'i̇'), and the two properties of its final-sigma rule
            (case-ignorable, cased), probed through str.lower() itself.            -> unicode.json
  rewards   1,000 seeded completions (texts.py) scored by train_grpo.py's calculate_rewards (and train_ppo.py's,
            checked equal) with a reward model whose raw scores are seeded and pass through trainer_utils.py's real
            LMForRewardModel.get_score (history formatting, the +-3 clip); rep_penalty of each whole text.
                                                                                     -> rewards.json.gz
  losses    GRPO/CISPO (train_grpo.py), agent (train_agent.py: packing, rows without tokens) and PPO (train_ppo.py:
            masks, GAE, whitening, minibatch epochs with early stop) steps on seeded log-probs, rewards and values:
            loss_ref.py's replays give loss and gradients, and each case is first checked against MiniMind's own
            training function run on leaf-tensor mocks (the gradient on the logits/values must agree).
                                                                                     -> losses.json
Usage: python3 tools/rl/make_fixtures.py [unicode|rewards|losses|all] [MINIMIND_MIRROR]
(mirror default /work/.mirror/jingyaogong+minimind/repo; run with /usr/bin/python3, torch 1.13).
"""
import gzip
import json
import os
import random
import re
import sys
import types
import unicodedata

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chat"))
from minimind_code import MiniMindCode  # noqa: E402
import texts as seeded  # noqa: E402
import loss_ref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "rl")
SHARED = os.environ.get("MM_SHARED", "/work/shared/minimind")


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    opener = (lambda p: gzip.open(p, "wt", encoding="utf-8", compresslevel=9)) if name.endswith(".gz") else (
        lambda p: open(p, "w", encoding="utf-8"))
    with opener(os.path.join(OUT, name)) as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote tests/fixtures/rl/{name}")


def ranges(pred):
    """[[first, last], ...] of the code points where pred holds."""
    out = []
    for cp in range(0x110000):
        if pred(cp):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def make_unicode():
    word, space = re.compile(r"\w"), re.compile(r"\s")
    final = "\u03c2"

    def probe(before, after=""):  # what str.lower() makes of a capital sigma between `before` and `after`
        return (before + "\u03a3" + after).lower()[len(before.lower())]

    def case_ignorable(cp):
        # handle_capital_sigma skips case-ignorable code points on both sides: "AΣc" and "AcΣ" both end in ς then
        return probe("A", chr(cp)) == final and probe("A" + chr(cp)) == final

    def cased(cp):  # meaningful for code points that are not case-ignorable
        return probe(chr(cp)) == final

    assigned = lambda cp: unicodedata.category(chr(cp)) != "Cn"
    lower = {}
    for cp in range(0x110000):
        if cp == 0x3A3 or not assigned(cp):
            continue
        low = chr(cp).lower()
        if low != chr(cp):
            lower[str(cp)] = [ord(c) for c in low]
    write("unicode.json", {
        "python": sys.version.split()[0], "unidata_version": unicodedata.unidata_version,
        "assigned": ranges(assigned),
        "word": ranges(lambda cp: word.match(chr(cp)) is not None),
        "space": ranges(lambda cp: space.match(chr(cp)) is not None),
        "case_ignorable": ranges(lambda cp: assigned(cp) and cp != 0x3A3 and case_ignorable(cp)),
        "cased": ranges(lambda cp: assigned(cp) and cp != 0x3A3 and not case_ignorable(cp) and cased(cp)),
        "lower": lower,
    })


def chat_prompts():
    """Rendered RLAIF prompts (v3 chat template, as RLAIFDataset renders them) of several shapes."""
    import hf_jinja2
    cfg = json.load(open(os.path.join(SHARED, "v3", "tokenizer_config.json"), encoding="utf-8"))
    tpl, special = hf_jinja2.compile_template(cfg["chat_template"]), hf_jinja2.special_tokens_map(cfg)
    convs = [
        [{"role": "user", "content": "你好，请介绍一下自己。"}],
        [{"role": "system", "content": "You are a helpful AI assistant."}, {"role": "user", "content": "What is 2+2?  "}],
        [{"role": "user", "content": "写一首诗"}, {"role": "assistant", "content": "床前明月光"}, {"role": "user", "content": "\n再写一首\n"}],
        [{"role": "system", "content": "你是minimind"}, {"role": "user", "content": "Explain <|im_end|> tokens"}],
        [{"role": "user", "content": "  多行\n问题\n\n第二段  "}],
    ]
    out = []
    for c in convs:
        for thinking in (False, True):
            out.append(hf_jinja2.render(tpl, special, c, None, True, open_thinking=thinking))
    return out


class FakeRewardModel:
    """The inner transformers model of LMForRewardModel: returns seeded raw scores, records what it was asked."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.calls = []

    def get_score(self, tokenizer, eval_messages):
        self.calls.append(eval_messages)
        return self.scores[len(self.calls) - 1]


def make_rewards(code, count=1000, seed=20260522, gens=4):
    grpo = code.module("trainer/train_grpo.py")
    ppo = code.module("trainer/train_ppo.py")
    utils = code.module("trainer/trainer_utils.py")
    responses = seeded.texts(seed, count)
    prompts = chat_prompts()
    rng = random.Random(seed + 1)
    batch_prompts = [rng.randrange(len(prompts)) for _ in range(count // gens)]
    raw = [round(rng.uniform(-4.5, 4.5), 4) if rng.random() < 0.9 else rng.choice([3.0, -3.0, 0.0]) for _ in range(count)]

    def reward_model():
        rm = object.__new__(utils.LMForRewardModel)
        rm.model, rm.tokenizer, rm.device = FakeRewardModel(raw), None, "cpu"
        outer_calls = []
        inner_get = rm.get_score

        def get_score(messages, response):
            outer_calls.append({"messages": messages, "response": response})
            return inner_get(messages, response)
        rm.get_score = get_score
        return rm, outer_calls

    grpo.args = types.SimpleNamespace(device="cpu", num_generations=gens)
    rm, outer = reward_model()
    rewards = grpo.calculate_rewards([prompts[i] for i in batch_prompts], responses, rm)
    ppo.args = types.SimpleNamespace(device="cpu")
    rm_ppo, _ = reward_model()
    rewards_ppo = ppo.calculate_rewards([prompts[batch_prompts[i // gens]] for i in range(count)], responses, rm_ppo)
    assert torch.equal(rewards, rewards_ppo), "train_grpo.py and train_ppo.py score differently"
    assert rewards.dtype == torch.float32

    cases, prompt_messages = [], {}
    for i, text in enumerate(responses):
        cases.append({
            "prompt": batch_prompts[i // gens], "response": text,
            "reward": float(rewards[i]), "raw_score": raw[i],
            "rm_response": outer[i]["response"], "rep_penalty_text": grpo.rep_penalty(text),
        })
        messages = outer[i]["messages"]
        assert prompt_messages.setdefault(batch_prompts[i // gens], messages) == messages
    write("rewards.json.gz", {
        "minimind_commit": code.commit, "python": sys.version.split()[0], "unidata_version": unicodedata.unidata_version,
        "seed": seed, "num_generations": gens, "prompts": prompts,
        # what calculate_rewards passes to get_score besides the answer: the prompt's messages (its im_start regex)
        "prompt_messages": [prompt_messages.get(i) for i in range(len(prompts))],
        # how LMForRewardModel.get_score turns them into the reward model's two messages (docs/rl.md), a few cases
        "rm_eval_examples": rm.model.calls[:8],
        "cases": cases,
    })


def _l(t):
    return t.tolist()


def _close(a, b, what, atol=2e-6, rtol=1e-5):
    if not torch.allclose(a, b, atol=atol, rtol=rtol):
        raise SystemExit(f"replay differs from MiniMind's own code: {what} (max |diff| {(a - b).abs().max().item():.3g})")


def _completions(g, n, r, v, eos, generate_like):
    """Sampled completion ids: eos somewhere or nowhere; after it eos again (as generate) or anything."""
    ids = torch.randint(3, v, (n, r), generator=g)
    for i in range(n):
        k = int(torch.randint(0, r + 2, (1,), generator=g))
        if k < r:
            ids[i, k] = eos
            if generate_like:
                ids[i, k:] = eos
            elif k + 1 < r and torch.rand(1, generator=g).item() < 0.5:
                ids[i, k + 1] = eos  # a second eos: only the first counts
        if torch.rand(1, generator=g).item() < 0.15:
            ids[i, int(torch.randint(0, r, (1,), generator=g))] = 0  # the pad id sampled as a token
    return ids


def _rewards(g, n, gens):
    vals = torch.tensor([-1.25, -0.5, 0.0, 0.25, 0.5, 1.0, 1.75, 2.3])
    r = vals[torch.randint(0, len(vals), (n,), generator=g)] + torch.randn(n, generator=g) * 0.1
    r[:gens] = 0.75  # one group where every completion scores the same: advantage 0
    return r


def grpo_cases(grpo, g):
    pad, eos, v = 0, 2, 11
    specs = [("cispo", 2, 3, 7, 4, 0.1, 0.2, 5.0, True), ("grpo", 2, 3, 7, 4, 0.1, 0.2, 5.0, True),
             ("cispo", 3, 4, 9, 5, 0.04, 0.2, 1.5, False), ("grpo", 3, 4, 9, 5, 0.0, 0.3, 5.0, False),
             ("grpo", 2, 6, 12, 3, 0.1, 0.2, 5.0, True)]
    cases = []
    for loss_type, b, gens, r, p, beta, eps, eps_high, gen_like in specs:
        n = b * gens
        prompts = torch.randint(3, v, (b, p), generator=g)
        prompts[0, :2] = pad  # a left-padded prompt
        output_ids = torch.cat([prompts.repeat_interleave(gens, dim=0), _completions(g, n, r, v, eos, gen_like)], dim=1)
        assert len({tuple(x) for x in output_ids.tolist()}) == n
        logits = torch.randn(n, p + r, v, generator=g) * 1.5
        ref_logits = logits + torch.randn(n, p + r, v, generator=g) * 0.4
        pos = torch.arange(p - 1, p + r - 1)
        targets = output_ids[:, p:]
        logp = torch.gather(F.log_softmax(logits[:, pos], -1), 2, targets.unsqueeze(-1)).squeeze(-1)
        ref = torch.gather(F.log_softmax(ref_logits[:, pos], -1), 2, targets.unsqueeze(-1)).squeeze(-1)
        old = logp + torch.randn(n, r, generator=g) * 0.2
        far = torch.rand(n, r, generator=g) < 0.15
        old[far] -= 2.0  # ratios past 1 + epsilon and past epsilon_high
        rewards = _rewards(g, n, gens)
        loss, dlogp, adv, mask, kl_logged = loss_ref.grpo_replay(logp, old, ref, rewards, targets, torch.ones(n, r), eos, gens,
                                                                 loss_type, beta, eps, eps_high)
        mm_loss, mm_dlogits = loss_ref.minimind_grpo_step(grpo, output_ids, p, logits, ref_logits, old, rewards, gens, loss_type,
                                                          beta, eps, eps_high, pad, eos)
        _close(loss.reshape(1), mm_loss.reshape(1), f"{loss_type} loss")
        expected = torch.zeros_like(logits)
        expected[:, pos] = loss_ref.logits_grad(logits[:, pos], targets, dlogp)
        _close(expected, mm_dlogits, f"{loss_type} d loss / d logits")
        cases.append({"loss_type": loss_type, "num_generations": gens, "beta": beta, "epsilon": eps, "epsilon_high": eps_high,
                      "eos_id": eos, "completion_ids": _l(targets), "logp": _l(logp), "old_logp": _l(old), "ref_logp": _l(ref),
                      "rewards": _l(rewards), "expected": {"advantages": _l(adv), "mask": _l(mask), "loss": loss.item(),
                                                           "dlogp": _l(dlogp), "kl_logged": kl_logged}})
    return cases


def agent_cases(agent, g):
    pad, eos, v = 0, 2, 13
    specs = [("cispo", 2, 2, 40), ("grpo", 2, 3, 14), ("cispo", 1, 4, 18)]
    cases = []
    for loss_type, b, gens, max_total in specs:
        n = b * gens
        prompt_ids, response_ids, response_masks, old_logps = [], [], [], []
        for i in range(n):
            plen = 4 + (i // gens) * 3
            prompt = [1] + [int(x) for x in torch.randint(3, v, (plen - 1,), generator=g)]
            resp, mask = [], []
            turns = 0 if i == 1 else int(torch.randint(1, 4, (1,), generator=g))  # row 1: nothing generated
            for t in range(turns):
                k = int(torch.randint(1, 6, (1,), generator=g))
                resp += [int(x) for x in torch.randint(3, v, (k,), generator=g)]
                mask += [1] * k
                if t < turns - 1:  # an observation: the re-rendered template's tokens, eos among them
                    obs = [eos, 1] + [int(x) for x in torch.randint(3, v, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g)]
                    resp += obs
                    mask += [0] * len(obs)
            old = [(-2.4 + float(torch.randn(1, generator=g)) * 0.5) if m else 0.0 for m in mask]
            prompt_ids.append(prompt); response_ids.append(resp); response_masks.append(mask); old_logps.append(old)
        rollout = (prompt_ids, response_ids, response_masks, old_logps)
        packed = [loss_ref.agent_pack(*x, max_total) for x in zip(*rollout)]
        max_len = max(len(ids) for ids, _, _, _ in packed)
        logits = torch.randn(n, max_len, v, generator=g) * 1.5
        ref_logits = logits + torch.randn(n, max_len, v, generator=g) * 0.4
        ids = torch.tensor([p[0] + [pad] * (max_len - len(p[0])) for p in packed])
        logp = torch.gather(F.log_softmax(logits[:, :-1], -1), 2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        ref = torch.gather(F.log_softmax(ref_logits[:, :-1], -1), 2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        rewards = _rewards(g, n, gens)
        loss, dlogp, adv, mask, input_ids, old = loss_ref.agent_replay(packed, logp, ref, rewards, pad, eos, gens, loss_type, 0.1, 0.2, 5.0)
        mm_loss, mm_dlogits = loss_ref.minimind_agent_step(agent, rollout, logits, ref_logits, rewards, gens, loss_type, 0.1, 0.2, 5.0,
                                                           pad, eos, max_total)
        _close(loss.reshape(1), mm_loss.reshape(1), f"agent {loss_type} loss")
        expected = torch.zeros_like(logits)
        expected[:, :-1] = loss_ref.logits_grad(logits[:, :-1], ids[:, 1:], dlogp)
        _close(expected, mm_dlogits, f"agent {loss_type} d loss / d logits")
        cases.append({"loss_type": loss_type, "num_generations": gens, "beta": 0.1, "epsilon": 0.2, "epsilon_high": 5.0, "eos_id": eos,
                      "pad_id": pad, "max_total_len": max_total, "prompt_ids": prompt_ids, "response_ids": response_ids,
                      "response_masks": response_masks, "old_logps": old_logps, "logp": _l(logp), "ref_logp": _l(ref),
                      "rewards": _l(rewards),
                      "expected": {"input_ids": _l(input_ids), "prompt_lens": [p[2] for p in packed], "old_logp": _l(old),
                                   "advantages": _l(adv), "mask": _l(mask), "loss": loss.item(), "dlogp": _l(dlogp)}})
    return cases


def ppo_cases(ppo, g):
    pad, eos, v = 0, 2, 11
    specs = [(4, 2, 6, 3, 0.05, 101), (4, 2, 8, 4, 0.6, 102), (3, 2, 5, 3, 0.1, 103), (2, 2, 7, 3, 0.3, 104)]
    cases = []
    for b, mb, r, p, spread, seed in specs:
        prompts = torch.randint(3, v, (b, p), generator=g)
        prompts[0, 0] = pad
        output_ids = torch.cat([prompts, _completions(g, b, r, v, eos, True)], dim=1)
        logits = torch.randn(b, p + r, v, generator=g) * 1.5
        ref_logits = logits + torch.randn(b, p + r, v, generator=g) * 0.4
        pos = torch.arange(p - 1, p + r - 1)
        targets = output_ids[:, p:]
        logp = torch.gather(F.log_softmax(logits[:, pos], -1), 2, targets.unsqueeze(-1)).squeeze(-1)
        ref = torch.gather(F.log_softmax(ref_logits[:, pos], -1), 2, targets.unsqueeze(-1)).squeeze(-1)
        old = logp + torch.randn(b, r, generator=g) * spread  # spread 0.6: approx KL past 0.25, early stop
        old_values_seq = torch.randn(b, p + r, generator=g)
        values_seq = old_values_seq + torch.randn(b, p + r, generator=g) * 0.3
        rewards = torch.randn(b, generator=g) * 1.5
        prep = loss_ref.ppo_prepare(targets, torch.ones(b, r), eos, old_values_seq[:, pos], rewards, 1.0, 0.95)
        new_values = values_seq[:, pos]
        torch.manual_seed(seed)
        stop, steps = False, []
        for _ in range(2):
            if stop:
                break
            perm = torch.randperm(b)
            for i in range(0, b, mb):
                inds = perm[i:i + mb]
                res = loss_ref.ppo_minibatch(logp[inds], new_values[inds], old[inds], ref[inds], prep["advantages"][inds],
                                             prep["returns"][inds], prep["old_values"][inds], prep["policy_mask"][inds],
                                             prep["value_mask"][inds], 0.2, 0.02, 0.5, 0.2, 0.25, stop)
                stop = res["stop"]
                steps.append((inds, res))
        mm = loss_ref.minimind_ppo_step(ppo, output_ids, p, logits, ref_logits, old, old_values_seq, values_seq, rewards, mb, 2, pad, eos, seed)
        assert len(mm) == len(steps), f"MiniMind made {len(mm)} optimizer steps, the replay {len(steps)}"
        out_steps = []
        for (inds, res), (mm_loss, mm_dl, mm_dv) in zip(steps, mm):
            _close(torch.tensor([res["loss"]]), mm_loss.reshape(1), "ppo loss")
            exp_dl = torch.zeros_like(logits)
            exp_dl[inds.unsqueeze(1), pos.unsqueeze(0)] = loss_ref.logits_grad(logits[inds][:, pos], targets[inds], res["dlogp"])
            _close(exp_dl, mm_dl, "ppo d loss / d logits")
            exp_dv = torch.zeros_like(values_seq)
            exp_dv[inds.unsqueeze(1), pos.unsqueeze(0)] = res["dvalues"]
            _close(exp_dv, mm_dv, "ppo d loss / d values")
            out_steps.append({"rows": _l(inds), "stop": res["stop"], "loss": res["loss"], "policy_loss": res["policy_loss"],
                              "value_loss": res["value_loss"], "approx_kl": res["approx_kl"], "clipfrac": res["clipfrac"],
                              "kl_ref": res["kl_ref"], "dlogp": _l(res["dlogp"]), "dvalues": _l(res["dvalues"])})
        cases.append({"eos_id": eos, "gamma": 1.0, "lam": 0.95, "clip_epsilon": 0.2, "kl_coef": 0.02, "vf_coef": 0.5,
                      "cliprange_value": 0.2, "early_stop_kl": 0.25, "mini_batch_size": mb, "completion_ids": _l(targets),
                      "logp": _l(logp), "old_logp": _l(old), "ref_logp": _l(ref), "old_values": _l(old_values_seq[:, pos]),
                      "values": _l(new_values), "rewards": _l(rewards),
                      "expected": {"policy_mask": _l(prep["policy_mask"]), "token_rewards": _l(prep["token_rewards"]),
                                   "old_values_masked": _l(prep["old_values"]), "advantages": _l(prep["advantages"]),
                                   "returns": _l(prep["returns"]), "steps": out_steps}})
    return cases


def make_losses(code):
    g = torch.Generator().manual_seed(20260523)
    grpo = grpo_cases(code.module("trainer/train_grpo.py"), g)
    agent = agent_cases(code.module("trainer/train_agent.py"), g)
    ppo = ppo_cases(code.module("trainer/train_ppo.py"), g)
    write("losses.json", {"minimind_commit": code.commit, "torch": torch.__version__, "grpo": grpo, "agent": agent, "ppo": ppo})


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    code = MiniMindCode(sys.argv[2] if len(sys.argv) > 2 else "/work/.mirror/jingyaogong+minimind/repo")
    if what in ("unicode", "all"):
        make_unicode()
    if what in ("rewards", "all"):
        make_rewards(code)
    if what in ("losses", "all"):
        make_losses(code)


if __name__ == "__main__":
    main()
