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
  agent     train_agent.py's parse_tool_calls, its six mock tools as rollout_single executes them (the observation
            text), validate_gt_in_text and calculate_rewards on seeded completions — well-formed calls, malformed
            JSON, unbalanced tags, unknown tools, bad arguments, Python arithmetic for calculate_math — and
            AgentRLDataset's rows.                                                  -> agent.json
  rlaif     RLAIFDataset.create_chat_prompt (lm_dataset.py) on varied rows with every combination of its random
            choices replayed (system prompt added or not, which one, thinking open or not), v3 chat template
            rendered as HF does (tools/chat/hf_jinja2.py).                           -> rlaif.json
Usage: python3 tools/rl/make_fixtures.py [unicode|rewards|losses|agent|rlaif|all] [MINIMIND_MIRROR]
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


TOOL_NAMES = ["calculate_math", "unit_converter", "get_current_weather", "get_current_time", "get_exchange_rate", "translate_text"]
EXPRESSIONS = [
    "1+1", "2*3+4", "2+3*4", "(2+3)*4", "10/4", "10//4", "-7//2", "7//-2", "-7%3", "7%-3", "7.5%-2", "-7.5//2", "2**10",
    "2^10", "3×4", "12÷4", "5−3", "（1+2）×3", "2**-1", "-2**2", "(-2)**2", "2**0.5", "0.1+0.2", "1/3", "1e308*10",
    "10**400", "10**4300", "10**4299", "2**100", "2**100/3", "123456789*987654321", "1/0", "1//0", "1%0", "0.0/0",
    "math.sqrt(16)", "math.sqrt(2)", "math.pi", "math.e*2", "math.sqrt(-1)", "math.log(100, 10)", "math.log(8)",
    "math.log10(1000)", "math.log2(1024)", "math.sin(math.pi/6)", "math.cos(0)", "math.exp(1000)", "math.exp(1)",
    "math.floor(3.7)", "math.ceil(-3.2)", "math.factorial(20)", "math.factorial(-1)", "math.pow(2, 10)", "math.fabs(-3)",
    "math.hypot(3, 4)", "math.radians(180)", "math.degrees(math.pi)", "math.trunc(-2.5)", "math.gcd(12, 18)",
    "math.atan2(1, 1)", "math.tan(0.5)", "sqrt(16)", "abs(-3)", "x+1", "1+", "(1+2", "", "  3 + 4", "3 +\t4",
    "1_000 * 2", "0x1F + 1", "1e3", "1.5e-3*2", ".5+.5", "5.", "2*(3+(4-1))**2", "100-3.5*2", "-(-3)", "+5", "~5",
    "3 > 2", "1 == 1.0", "True + 1", "None", "'a'*3", "[1, 2]", "2 ** 3 ** 2", "(-8) ** (1/3)", "1.0/3*3",
    "99999999999999999999/7", "2**53+1.0", "7/7", "0.1*3", "1e16", "1e-5", "123.456", "-0.0", "1e400", "float('nan')",
]


def agent_fixture(agent, g):
    import random as _random
    rng = _random.Random(g)
    parse_texts = [
        '<tool_call>{"name": "calculate_math", "arguments": {"expression": "2+2"}}</tool_call>',
        '<tool_call>\n{"name": "get_current_weather", "arguments": {"location": "北京"}}\n</tool_call>',
        'text <tool_call>{"name": "a", "arguments": {}}</tool_call> mid <tool_call>{"name": "b"}</tool_call> end',
        '<tool_call>{"name": "x", "arguments": {"a": 1,}}</tool_call>', "<tool_call>{'name': 'x'}</tool_call>",
        '<tool_call>{name: "x"}</tool_call>', '<tool_call>{"name": "x"', '{"name": "x"}</tool_call>',
        '<tool_call><tool_call>{"name": "x"}</tool_call></tool_call>', '<tool_call>{"name": "x"}</tool_call><tool_call>',
        '<tool_call>{"name": "x", "name": "y"}</tool_call>', '<tool_call>{"v": NaN, "w": Infinity, "z": -Infinity}</tool_call>',
        '<tool_call>{"big": 123456789012345678901234567890, "f": 1e400, "g": 1.0, "h": 1E5, "i": -0.0}</tool_call>',
        '<tool_call>{"s": "\\u4e2d\\u6587\\n\\t\\"q\\"", "e": "😀"}</tool_call>', '<tool_call>[1, 2, 3]</tool_call>',
        '<tool_call>"just a string"</tool_call>', '<tool_call>42</tool_call>', '<tool_call> </tool_call>', '<tool_call></tool_call>',
        '<tool_call>{"name": "x", "arguments": "{\\"expression\\": \\"1+1\\"}"}</tool_call>',
        '<tool_call>\u3000{"name": "x"}\u3000</tool_call>', '<tool_call>{"a": [1, {"b": null}, true, false]}</tool_call>',
        '<TOOL_CALL>{"name": "x"}</TOOL_CALL>', '<tool_call>{"name": "x"} trailing</tool_call>', '<tool_call>{"a": 01}</tool_call>',
        '<tool_call>{"a": "tab\there"}</tool_call>', '<tool_call>{"a": .5}</tool_call>', '<tool_call>{"a": 1.}</tool_call>',
    ]
    parse = [{"text": t, "calls": json.dumps(agent.parse_tool_calls(t), ensure_ascii=False)} for t in parse_texts]

    locations = ["北京", "上海", "Tokyo", "New York", "火星", "", None, 5, True, ["北京"], {"city": "北京"}, "london"]
    calls = [("calculate_math", {"expression": e}) for e in EXPRESSIONS]
    calls += [("calculate_math", {"expression": v}) for v in [5, 2.5, True, None, [1, 2], {"a": 1}]] + [("calculate_math", {})]
    for value in [10, 2.5, "12.5", " 3 ", "1e3", "1_000", "abc", None, True, [1], "inf", "nan", 1e308, 123456789.123456789, -0.00001]:
        for fu, tu in [("km", "miles"), ("KG", "Pounds"), ("celsius", "fahrenheit"), ("m", "ft"), (5, "km")]:
            calls.append(("unit_converter", {"value": value, "from_unit": fu, "to_unit": tu}))
    calls += [("unit_converter", {"from_unit": "km", "to_unit": "miles"}), ("unit_converter", {"value": 2})]
    calls += [("get_current_weather", {"location": loc}) for loc in locations] + [("get_current_weather", {})]
    calls += [("get_current_time", {"timezone": tz}) for tz in ["Asia/Tokyo", "Europe/Paris", "Mars/Base", None, 3, ["x"]]]
    calls += [("get_current_time", {})]
    calls += [("get_exchange_rate", {"from_currency": a, "to_currency": b}) for a, b in
              [("USD", "CNY"), ("EUR", "CNY"), ("CNY", "USD"), ("usd", "cny"), (None, "CNY"), (1, 2), (["USD"], "CNY")]]
    calls += [("translate_text", {"text": t, "target_language": l}) for t, l in
              [("你好世界", "english"), ("Good morning", "chinese"), ("你好世界", "English"), ("unknown", "french"), (None, "x"), (3, 4)]]
    calls += [("translate_text", {}), ("no_such_tool", {"a": 1}), ("calculate_math", [1, 2]), ("get_current_time", "Asia/Tokyo"),
              ("unit_converter", 7), ("", {})]
    execute = []
    for name, args in calls:
        result = agent.execute_tool(name, args)
        result_str = (json.dumps(result, ensure_ascii=False) if result else '{"error": "tool not found"}')[:2048]
        execute.append({"name": name, "arguments": json.dumps(args, ensure_ascii=False), "observation": result_str})

    tools_full = agent.TOOLS
    tools_two = [t for t in agent.TOOLS if t["function"]["name"] in ("calculate_math", "get_current_weather")]
    gts = [["42"], ["28°C", "晴"], [7.21], ["1,234"], [], ["Hello World"], [3, 3.0], ["0.5", "1/2"], ["-12.5"], ["Paris"]]

    def call_text(valid):
        if rng.random() < 0.15 and not valid:
            return rng.choice(['<tool_call>{"name": "calculate_math", "arguments": {"expression": "1+1",}}</tool_call>',
                               "<tool_call>{'name': 'x'}</tool_call>", '<tool_call>{"name": "calculate_math"',
                               '{"name": "get_current_weather"}</tool_call>'])
        name = rng.choice(TOOL_NAMES + ["unknown_tool"]) if not valid else rng.choice(["calculate_math", "get_current_weather"])
        args = {"calculate_math": {"expression": rng.choice(["6*7", "2+2", ""])}, "get_current_weather": {"location": rng.choice(["北京", ""])},
                "unit_converter": {"value": 3, "from_unit": "km"}, "get_current_time": {},
                "get_exchange_rate": {"from_currency": "USD", "to_currency": "CNY"},
                "translate_text": {"text": "hi"}, "unknown_tool": {"q": 1}}[name]
        if rng.random() < 0.3:
            return '<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>' % (name, json.dumps(json.dumps(args, ensure_ascii=False), ensure_ascii=False))
        return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}, ensure_ascii=False) + "\n</tool_call>"

    def answer_text(gt):
        parts = [rng.choice(["答案是", "The result is", "结果：", ""])]
        for x in gt:
            if rng.random() < 0.7:
                parts.append(str(x) if rng.random() < 0.8 else (f"{x:,}" if isinstance(x, (int, float)) else str(x).upper()))
        parts.append(rng.choice(["。", ".", " 42", " 1,234.0", "", " x42", " 7.210"]))
        return " ".join(parts) * (2 if rng.random() < 0.1 else 1)

    completions, turn_outputs, gt_batch, tools_batch, unfinished, prompts = [], [], [], [], [], []
    num_gen = 4
    for b in range(60):
        gt = rng.choice(gts)
        tools = rng.choice([tools_full, tools_two, None])
        gt_batch.append(gt); tools_batch.append(tools)
        prompts.append("<|im_start|>system\n# Tools ...<|im_end|>\n<|im_start|>user\n问题 %d<|im_end|>\n<|im_start|>assistant\n" % b)
        for _ in range(num_gen):
            turns = []
            for t in range(rng.randint(1, 3)):
                think = rng.choice(["", "<think>\n想一想，这个问题需要调用工具来计算结果。\n</think>\n\n", "<think>短</think>", "</think></think>"])
                body = rng.choice(["", "好的，"])
                k = rng.random()
                if k < 0.5:
                    body += " ".join(call_text(rng.random() < 0.6) for _ in range(rng.randint(1, 3)))
                    if rng.random() < 0.3:
                        body += " " + answer_text(gt)
                elif k < 0.6:
                    body += rng.choice(["<tool_call>", "</tool_call>", "<tool_call><tool_call>"]) + answer_text(gt)
                else:
                    body += answer_text(gt)
                turns.append(think + body)
            turn_outputs.append(turns)
            completions.append(turns[-1])
            unfinished.append(len(turns) == 3 and rng.random() < 0.5)
    raw = [round(rng.uniform(-4, 4), 3) for _ in range(len(completions))]
    utils = agent.__dict__["LMForRewardModel"]
    rm = object.__new__(utils)
    rm.model, rm.tokenizer, rm.device = FakeRewardModel(raw), None, "cpu"
    calls_before = []
    get = rm.get_score
    rm.get_score = lambda m, r: calls_before.append((m, r)) or get(m, r)
    rewards = agent.calculate_rewards(prompts, completions, gt_batch, tools_batch, num_gen, rm, device="cpu",
                                      turn_outputs_batch=turn_outputs, unfinished_batch=unfinished)
    rewards_plain = agent.calculate_rewards(prompts, completions, gt_batch, tools_batch, num_gen, None, device="cpu",
                                            turn_outputs_batch=turn_outputs, unfinished_batch=unfinished)
    # which completions asked the reward model, and with what answer (the no-tool-call branch only)
    scored = iter(calls_before)
    reward_cases, asked_count = [], 0
    for i, c in enumerate(completions):
        asked = None
        has_calls = any(agent.parse_tool_calls(t.split("</think>", 1)[-1].strip() if "</think>" in t else t.strip()) for t in turn_outputs[i])
        score = None
        if not has_calls:
            m, r = next(scored)
            asked, score = r, raw[asked_count]  # the fake reward model answers its calls in order
            asked_count += 1
        reward_cases.append({"group": i // num_gen, "turns": turn_outputs[i], "unfinished": unfinished[i], "raw_score": score,
                             "rm_response": asked, "reward": float(rewards[i]), "reward_without_rm": float(rewards_plain[i])})
    assert next(scored, None) is None
    validate = []
    for text in ["答案是 42。", "1,234 apples", "x42 and 42.0", "-12.5°C", "３", "٤٢", "42.", "4.2.1", "score: +7.21", "HELLO WORLD",
                 "nothing", "3 and 3.0", "0.5", "1/2", "7.210", "1e3", "_42", "42_"]:
        for gt in [["42"], ["1234"], [42], ["hello world"], [7.21], ["3", 3, 3.0], ["0.5", "1/2"], ["-12.5"], ["1000"], ["4"]]:
            validate.append({"text": text, "gt": gt, "verified": sorted(json.dumps(x, ensure_ascii=False) for x in agent.validate_gt_in_text(text, gt))})

    dataset_rows = [
        {"conversations": [{"role": "system", "content": "你是助手", "tools": json.dumps(tools_two, ensure_ascii=False)},
                           {"role": "user", "content": "北京天气？"}, {"role": "assistant", "content": "晴"}], "gt": ["28°C"]},
        {"conversations": [{"role": "system", "content": "", "tools": tools_two}, {"role": "user", "content": "6*7?"},
                           {"role": "assistant", "content": "42"}], "gt": ["42"]},
        {"conversations": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "gt": []},
    ]
    ds = object.__new__(agent.AgentRLDataset)
    ds.samples = dataset_rows
    dataset = []
    for i, row in enumerate(dataset_rows):
        item = ds[i]
        dataset.append({"row": row, "messages": item["messages"], "tools": item["tools"], "gt": item["gt"]})
    return {"parse": parse, "execute": execute, "num_generations": num_gen, "gt": gt_batch, "tools": tools_batch,
            "prompts": prompts, "rewards": reward_cases, "validate": validate, "dataset": dataset}


def make_agent(code):
    agent = code.module("trainer/train_agent.py")
    out = agent_fixture(agent, 20260524)
    write("agent.json", {"minimind_commit": code.commit, "python": sys.version.split()[0], **out})


class _ReplayRandom:
    """random.random()/random.choice() answering lm_dataset's draws from a plan: (add system, prompt index, thinking)."""

    def __init__(self):
        self.plan = (-1, False)

    def random(self):
        caller = sys._getframe(1).f_code.co_name
        if caller == "pre_processing_chat":
            return 0.1 if self.plan[0] >= 0 else 0.5   # < add_system_ratio 0.2 adds a system prompt
        if caller == "create_chat_prompt":
            return 0.0 if self.plan[1] else 0.999999   # < thinking_ratio opens thinking
        raise RuntimeError("unexpected random() caller " + caller)

    def choice(self, seq):
        return seq[self.plan[0]]


def make_rlaif(code):
    import hf_jinja2
    lm = code.module("dataset/lm_dataset.py")
    cfg = json.load(open(os.path.join(SHARED, "v3", "tokenizer_config.json"), encoding="utf-8"))
    tpl, special = hf_jinja2.compile_template(cfg["chat_template"]), hf_jinja2.special_tokens_map(cfg)

    class Tok:
        def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False, tools=None, **kw):
            return hf_jinja2.render(tpl, special, messages, tools, add_generation_prompt, **kw)

    rows = [
        [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}],
        [{"role": "system", "content": "你是minimind"}, {"role": "user", "content": "1+1=?"}, {"role": "assistant", "content": "2"}],
        [{"role": "user", "content": "写诗"}, {"role": "assistant", "content": "<think>想</think>床前明月光"},
         {"role": "user", "content": "再来"}, {"role": "assistant", "content": "疑是地上霜"}],
        [{"role": "system", "content": "tools", "tools": "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]"},
         {"role": "user", "content": "call f"}, {"role": "assistant", "content": "ok"}],
        [{"role": "user", "content": "  spaces \n\n"}, {"role": "assistant", "content": ""}],
    ]
    rng = _ReplayRandom()
    lm.random = rng
    ds = object.__new__(lm.RLAIFDataset)
    ds.tokenizer, ds.thinking_ratio = Tok(), 0.5
    cases = []
    for i, row in enumerate(rows):
        # the datasets schema gives every message every field (None when absent)
        full = [{k: m.get(k) for k in ("role", "content", "reasoning_content", "tools", "tool_calls")} for m in row]
        for system in (-1, 0, 7):
            for thinking in (False, True):
                rng.plan = (system, thinking)
                cases.append({"row": i, "system_prompt": system, "open_thinking": thinking,
                              "prompt": ds.create_chat_prompt([dict(m) for m in full])})
    write("rlaif.json", {"minimind_commit": code.commit, "rows": rows, "cases": cases})


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    code = MiniMindCode(sys.argv[2] if len(sys.argv) > 2 else "/work/.mirror/jingyaogong+minimind/repo")
    if what in ("unicode", "all"):
        make_unicode()
    if what in ("rewards", "all"):
        make_rewards(code)
    if what in ("losses", "all"):
        make_losses(code)
    if what in ("agent", "all"):
        make_agent(code)
    if what in ("rlaif", "all"):
        make_rlaif(code)


if __name__ == "__main__":
    main()
