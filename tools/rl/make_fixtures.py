#!/usr/bin/env python3
"""Writes the committed fixtures of tests/fixtures/rl/ from MiniMind's own code (see minimind_code.py):

  unicode   Python's own text semantics that MiniMind's rewards rely on, for every code point Python assigns:
            re's \\w and \\s, str.lower() (incl. U+0130 -> 'i̇'), and the two properties of its final-sigma rule
            (case-ignorable, cased), probed through str.lower() itself.            -> unicode.json
  rewards   1,000 seeded completions (texts.py) scored by train_grpo.py's calculate_rewards (and train_ppo.py's,
            checked equal) with a reward model whose raw scores are seeded and pass through trainer_utils.py's real
            LMForRewardModel.get_score (history formatting, the +-3 clip); rep_penalty of each whole text.
                                                                                     -> rewards.json.gz
Usage: python3 tools/rl/make_fixtures.py [unicode|rewards|all] [MINIMIND_MIRROR]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chat"))
from minimind_code import MiniMindCode  # noqa: E402
import texts as seeded  # noqa: E402

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


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    code = MiniMindCode(sys.argv[2] if len(sys.argv) > 2 else "/work/.mirror/jingyaogong+minimind/repo")
    if what in ("unicode", "all"):
        make_unicode()
    if what in ("rewards", "all"):
        make_rewards(code)


if __name__ == "__main__":
    main()
