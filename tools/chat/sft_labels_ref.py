"""MiniMind's own SFTDataset / DPODataset code (dataset/lm_dataset.py, read from its git mirror and executed
as is) applied to tests/fixtures/chat/{sft,dpo}_rows.jsonl with the v3 tokenizer, as the reference for the
C# rows and label masks. Only the parts MiniMind gets from libraries are replaced: `datasets.load_dataset`
(rows read with the same schema: every message gets role/content/reasoning_content/tools/tool_calls, None when
absent), the HF tokenizer (its chat template rendered by hf_jinja2, the HF-equivalent environment; token ids
from HF's Rust tokenizers via npm, passed in by make_fixtures.js) and `random` (replaying fixed choices).

  python3 sft_labels_ref.py texts SHARED MIRROR          -> JSON list of every text MiniMind tokenizes
  python3 sft_labels_ref.py labels SHARED MIRROR IDS.json -> tests/fixtures/chat/sft_labels.json
"""
import json
import os
import subprocess
import sys
import types

sys.path.insert(0, os.path.dirname(__file__))
import hf_jinja2  # noqa: E402

MAX_LEN = 256
root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
fixtures = os.path.join(root, "tests", "fixtures", "chat")
mode, shared, mirror = sys.argv[1], sys.argv[2], sys.argv[3]
ids_map = json.load(open(sys.argv[4], encoding="utf-8")) if mode == "labels" else {}
recorded = []

SFT_FIELDS = ("role", "content", "reasoning_content", "tools", "tool_calls")


def read_jsonl(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


def load_dataset(kind, data_files=None, split=None, features=None):
    rows = read_jsonl(data_files)
    if features is not None:  # the SFT schema: every field present, None when missing
        rows = [{"conversations": [{k: m.get(k) for k in SFT_FIELDS} for m in r["conversations"]]} for r in rows]
    return rows


fake_datasets = types.ModuleType("datasets")
fake_datasets.load_dataset = load_dataset
fake_datasets.Features = lambda *a, **k: "features"
fake_datasets.Sequence = lambda *a, **k: None
fake_datasets.Value = lambda *a, **k: None
sys.modules["datasets"] = fake_datasets

source = subprocess.check_output(["git", "-C", mirror, "show", "HEAD:dataset/lm_dataset.py"], text=True)
commit = subprocess.check_output(["git", "-C", mirror, "rev-parse", "HEAD"], text=True).strip()
lm_dataset = types.ModuleType("lm_dataset")
exec(compile(source, "minimind/dataset/lm_dataset.py", "exec"), lm_dataset.__dict__)

cfg = json.load(open(os.path.join(shared, "v3", "tokenizer_config.json"), encoding="utf-8"))
template = hf_jinja2.compile_template(cfg["chat_template"])
special = hf_jinja2.special_tokens_map(cfg)
VOCAB = json.load(open(os.path.join(shared, "v3", "tokenizer.json"), encoding="utf-8"))
PAD_ID = next(t["id"] for t in VOCAB["added_tokens"] if t["content"] == cfg["pad_token"])


class Encoding(dict):
    @property
    def input_ids(self):
        return self["input_ids"]


class Tokenizer:
    """The slice of PreTrainedTokenizerFast MiniMind's datasets use."""
    bos_token = cfg["bos_token"]
    eos_token = cfg["eos_token"]
    pad_token_id = PAD_ID

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False, tools=None, **kwargs):
        return hf_jinja2.render(template, special, messages, tools, add_generation_prompt, **kwargs)

    def __call__(self, text, add_special_tokens=True, truncation=False, max_length=None, padding=False):
        recorded.append(text)
        ids = list(ids_map.get(text, [0]))
        if truncation and max_length is not None:
            ids = ids[:max_length]
        if padding == "max_length":
            ids = ids + [PAD_ID] * (max_length - len(ids))
        return Encoding(input_ids=ids)


class ReplayRandom:
    """random.random()/random.choice() answering for pre_processing_chat and post_processing_chat by caller."""
    def __init__(self):
        self.system, self.drop = -1, False

    def random(self):
        caller = sys._getframe(1).f_code.co_name
        if caller == "pre_processing_chat":
            return 0.1 if self.system >= 0 else 0.5   # < add_system_ratio 0.2 adds a system prompt
        if caller == "post_processing_chat":
            return 0.9 if self.drop else 0.1          # > empty_think_ratio 0.2 removes empty think blocks
        raise RuntimeError("unexpected random() caller " + caller)

    def choice(self, seq):
        return seq[self.system]


rng = ReplayRandom()
lm_dataset.random = rng
tok = Tokenizer()

sft = lm_dataset.SFTDataset(os.path.join(fixtures, "sft_rows.jsonl"), tok, max_length=MAX_LEN)
augment = json.load(open(os.path.join(fixtures, "sft_augment.json")))
out = {"minimind_commit": commit, "max_length": MAX_LEN, "pad_id": PAD_ID, "bos_id": sft.bos_id, "eos_id": sft.eos_id, "sft": [], "dpo": []}
for plain in (True, False):
    for i in range(len(sft)):
        rng.system, rng.drop = (-1, False) if plain else augment[i]
        input_ids, labels = sft[i]
        out["sft"].append({"row": i, "augment": None if plain else augment[i], "input_ids": input_ids.tolist(),
                           "labels": labels.tolist(),
                           # the model's shift (MiniMind: logits[..., :-1, :] vs labels[..., 1:])
                           "x": input_ids[:-1].tolist(), "y": labels[1:].tolist()})

dpo = lm_dataset.DPODataset(os.path.join(fixtures, "dpo_rows.jsonl"), tok, max_length=MAX_LEN)
for i in range(len(dpo)):
    rng.system, rng.drop = -1, False
    d = dpo[i]
    out["dpo"].append({k: v.tolist() for k, v in d.items()})

if mode == "texts":
    json.dump(sorted(set(recorded)), sys.stdout, ensure_ascii=False)
else:
    with open(os.path.join(fixtures, "sft_labels.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")
