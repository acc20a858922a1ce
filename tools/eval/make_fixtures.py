"""Writes tests/fixtures/eval: small seeded benchmark-shaped sample sets, and what lm-evaluation-harness makes of them.

1. data/: a generic multiple-choice jsonl ({"context", "choices", "label"}) with its few-shot file, HellaSwag-layout
   jsonl (validation + train), C-Eval-layout csv folders (val/, dev/) and CMMLU-layout ones (test/, dev/). The rows are
   generated here from a seeded random.Random and small word lists (nothing is copied from the benchmarks); they carry
   the quirks the templates handle: trailing whitespace (ASCII, newline, U+3000) in contexts, an empty context, CJK and
   astral-plane choices, HellaSwag's [title]/[header] markup and double spaces, csv fields with commas, quotes and line
   breaks, questions with surrounding whitespace, labels given as strings.
2. prompts.json: for each case (task, files, num_fewshot, delimiter, limit), the requests lm-eval's real task code
   builds: lm_eval.api.task.ConfigurableTask with the task's own YAML (hellaswag.yaml with its utils.process_docs,
   ceval-valid_<subject>.yaml, cmmlu_<subject>.yaml; for the generic rows a config with every default), the real
   samplers (first_n, and the default random sampler seeded with set_fewshot_seed(1234)), build_all_requests:
   every doc's context and continuations, its choices and gold.
3. tokens_v3.json: lm-eval's real TemplateLM.loglikelihood (_encode_pair, the empty-context rule) over those requests
   with MiniMind's v3 tokenizer.json run by HuggingFace's tokenizers (tools/eval/encode.js), without and with
   add_bos_token (HFLM.tok_encode's rule restated below).

lm-eval is read from its git mirror (never copied into this repository); the packages its modules import but these
code paths never use (datasets, dill, sacrebleu, tqdm, ...) are stubbed.

Usage (repository root; needs python3-yaml, python3-jinja2, node with tools/tokenizer's npm install):
  python3 tools/eval/make_fixtures.py [--lmeval-repo /work/.mirror/EleutherAI+lm-evaluation-harness/repo] [--shared ../shared]
"""
import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import types

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "fixtures", "eval")
DATA = os.path.join(OUT, "data")

EN = ("the a man woman dog child team player chef river ball garden window kitchen road guitar bicycle rope ladder "
      "paint box table chair rain snow sun wind boat car train bridge street music song voice light shadow").split()
VERBS = ("walks runs jumps paints cuts opens closes lifts throws catches pours mixes holds turns climbs plays sings "
         "washes folds pulls pushes carries drops builds ties").split()
ZH = ("学生 老师 问题 答案 时间 地方 城市 国家 天气 春天 秋天 山水 河流 书本 文字 数学 历史 地理 物理 化学 音乐 "
      "美术 体育 经济 法律 医学 工程 计算 网络 系统 程序 数据 会计 审计 税收 农业 植物 动物 细胞 能量").split()
ASTRAL = ["𠀀", "𠀋", "𪚥", "𝔸"]


def sentence(r, n):
    return " ".join(r.choice(EN) if i % 2 == 0 else r.choice(VERBS) for i in range(n))


def zh(r, n):
    return "".join(r.choice(ZH) for _ in range(n))


# ---- 1. sample sets ---------------------------------------------------------------------------------------------

def generic_rows(r, n, shots=False):
    rows = []
    tails = ["", " ", "\n", "\u3000", "  ", ":"]
    for i in range(n):
        kind = i % 5
        if kind == 0:
            ctx = "Question: " + sentence(r, r.randint(4, 9)) + "?" + "\nAnswer:"
        elif kind == 1:
            ctx = zh(r, r.randint(3, 6)) + "：" + zh(r, 2)
        elif kind == 2:
            ctx = sentence(r, r.randint(5, 12)).capitalize() + r.choice(tails)
        elif kind == 3:
            ctx = "问题：" + zh(r, r.randint(2, 5)) + "是什么？" + r.choice(["\u3000", "\n", " "])
        else:
            ctx = "" if not shots and i == 4 else sentence(r, 3)
        nch = r.choice([2, 3, 4, 4, 5])
        choices = []
        for j in range(nch):
            c = (j + i) % 4
            if c == 0:
                choices.append(sentence(r, r.randint(1, 4)))
            elif c == 1:
                choices.append(zh(r, r.randint(1, 3)))
            elif c == 2:
                choices.append(r.choice(EN) + " " + zh(r, 1) + r.choice(ASTRAL))
            else:
                choices.append(str(r.randint(0, 999)))
        if i % 7 == 6:
            choices[0] = " " + choices[0]  # a choice that starts with whitespace
        row = {"context": ctx, "choices": choices, "label": r.randrange(nch)}
        if i % 6 == 5:
            row["id"] = f"q{i}"  # extra fields are kept as part of the row
        rows.append(row)
    return rows


def hellaswag_rows(r, n, split):
    rows = []
    for i in range(n):
        a = sentence(r, r.randint(5, 12))
        if i % 4 == 0:
            a = "[header] How to " + sentence(r, 3) + " [title] " + sentence(r, 4).capitalize() + ". [step] " + a
        if i % 5 == 1:
            a = "  " + a.replace(" ", "  ", 1)
        b = r.choice(["then", "the man", "She", "they THEN", "", "A Woman in RED", "[substeps] the dog"])
        endings = []
        for j in range(4):
            e = sentence(r, r.randint(3, 10))
            if j == i % 4:
                e = e + " [step] " + sentence(r, 2)
            if (i + j) % 6 == 0:
                e = " " + e + "  and  " + r.choice(EN) + " "
            endings.append(e)
        label = r.randrange(4)
        rows.append({"ind": 1000 * (split == "train") + i, "activity_label": r.choice(["Roof painting", "Making a cake", "Playing guitar",
                                                                                        "Home and Garden", "Sharpening knives"]),
                     "ctx_a": a, "ctx_b": b, "ctx": (a + " " + b).strip(), "split": split, "split_type": "indomain",
                     "label": str(label) if i % 3 == 0 else label, "endings": endings, "source_id": f"synthetic~{split}_{i}"})
    return rows


def exam_rows(r, n, with_expl):
    rows = []
    for i in range(n):
        q = zh(r, r.randint(3, 8)) + r.choice(["是", "的", "为"]) + "（　　）。"
        if i % 4 == 1:
            q = "  " + q + " \n"
        if i % 5 == 2:
            q = "下列说法，哪一项" + "\u201c正确\u201d" + "，\"是\"：\n" + zh(r, 3)
        opts = []
        for j in range(4):
            k = (i + j) % 5
            opts.append(zh(r, r.randint(1, 4)) if k < 2 else str(r.randint(1, 99)) + "%" if k == 2
                        else sentence(r, 2) + ", " + zh(r, 1) if k == 3 else " " + zh(r, 2))
        row = {"question": q, "A": opts[0], "B": opts[1], "C": opts[2], "D": opts[3], "answer": "ABCD"[r.randrange(4)]}
        if with_expl:
            row["explanation"] = "1. " + zh(r, 5) + "\n2. " + zh(r, 3)
        rows.append(row)
    return rows


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)


def make_data():
    r = random.Random(20261205)
    write_jsonl(os.path.join(DATA, "mc.jsonl"), generic_rows(r, 14))
    write_jsonl(os.path.join(DATA, "mc_shots.jsonl"), generic_rows(r, 9, shots=True))
    write_jsonl(os.path.join(DATA, "hellaswag_val.jsonl"), hellaswag_rows(r, 8, "val"))
    write_jsonl(os.path.join(DATA, "hellaswag_train.jsonl"), hellaswag_rows(r, 30, "train"))
    for subject, n in (("accountant", 5), ("computer_network", 4)):
        val = exam_rows(r, n, False)
        write_csv(os.path.join(DATA, "ceval", "val", f"{subject}_val.csv"), ["id", "question", "A", "B", "C", "D", "answer"],
                  [[i, x["question"], x["A"], x["B"], x["C"], x["D"], x["answer"]] for i, x in enumerate(val)])
        dev = exam_rows(r, 5, True)
        write_csv(os.path.join(DATA, "ceval", "dev", f"{subject}_dev.csv"), ["id", "question", "A", "B", "C", "D", "answer", "explanation"],
                  [[i, x["question"], x["A"], x["B"], x["C"], x["D"], x["answer"], x["explanation"]] for i, x in enumerate(dev)])
    for subject, n in (("agronomy", 4), ("world_history", 5)):
        for split, m in (("test", n), ("dev", 5)):
            rows = exam_rows(r, m, False)
            write_csv(os.path.join(DATA, "cmmlu", split, f"{subject}.csv"), ["", "Question", "A", "B", "C", "D", "Answer"],
                      [[i, x["question"], x["A"], x["B"], x["C"], x["D"], x["answer"]] for i, x in enumerate(rows)])


# ---- 2. lm-eval's real task code ----------------------------------------------------------------------------------

def import_lm_eval(mirror):
    root = tempfile.mkdtemp(prefix="lmeval-")
    tar = subprocess.run(["git", "-C", mirror, "archive", "HEAD", "lm_eval"], check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(root)
    commit = subprocess.run(["git", "-C", mirror, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    class Anything(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Anything(self.__name__ + "." + name)

        def __call__(self, *a, **k):
            return a[0] if a else None

    for m in ("datasets", "sacrebleu", "requests", "evaluate", "dill", "packaging", "packaging.version"):
        sys.modules[m] = Anything(m)
    tq = types.ModuleType("tqdm")
    tq.tqdm = lambda it=None, *a, **k: it
    sys.modules["tqdm"] = tq
    for name, sub in (("lm_eval", "lm_eval"), ("lm_eval.tasks", "lm_eval/tasks"), ("lm_eval.models", "lm_eval/models")):
        pkg = types.ModuleType(name)
        pkg.__path__ = [os.path.join(root, sub)]  # the package without its __init__ (which imports everything)
        sys.modules[name] = pkg
    return root, commit


class FakeDataset(list):
    """What ConfigurableTask reads from a datasets.Dataset: rows, .features, .map (merging the returned dict, as HF does)."""

    @property
    def features(self):
        return {k: None for k in self[0]}

    def map(self, fn):
        return FakeDataset([{**d, **fn(d)} for d in self])


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return FakeDataset(json.loads(line) for line in f if line.strip())


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return FakeDataset(dict(row) for row in csv.DictReader(f))


def render(task, num_fewshot, seed=1234):
    from lm_eval.api.task import ConfigurableTask  # noqa: F401  (imported for its side effects in the caller)
    task.set_fewshot_seed(seed)
    task.config.num_fewshot = num_fewshot
    task.build_all_requests()
    by_doc = {}
    for inst in task.instances:
        by_doc.setdefault(inst.doc_id, []).append(inst)
    items = []
    for doc_id in sorted(by_doc):
        insts = sorted(by_doc[doc_id], key=lambda x: x.idx)
        doc = insts[0].doc
        items.append({"doc_id": doc_id, "group": task.config.dataset_name or task.config.task,
                      "context": insts[0].arguments[0], "continuations": [i.arguments[1] for i in insts],
                      "choices": task.doc_to_choice(doc), "gold": task.doc_to_target(doc)})
    return items


def cases(root):
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    def task_from_yaml(rel, splits):
        cfg = load_yaml(os.path.join(root, "lm_eval", "tasks", rel))
        cfg["custom_dataset"] = lambda **kw: splits
        return ConfigurableTask(config=cfg)

    def generic(fewshot, delimiter=" "):
        test = read_jsonl(os.path.join(DATA, "mc.jsonl"))
        cfg = {"task": "mc", "output_type": "multiple_choice", "test_split": "test", "doc_to_text": "context",
               "doc_to_choice": "choices", "doc_to_target": "label", "target_delimiter": delimiter}
        splits = {"test": test}
        if fewshot == "self":
            cfg["fewshot_split"] = "test"
        elif fewshot:
            cfg["fewshot_split"] = "train"
            splits["train"] = read_jsonl(os.path.join(DATA, fewshot))
        cfg["custom_dataset"] = lambda **kw: splits
        return ConfigurableTask(config=cfg)

    def hellaswag():
        return task_from_yaml("hellaswag/hellaswag.yaml", {"validation": read_jsonl(os.path.join(DATA, "hellaswag_val.jsonl")),
                                                            "train": read_jsonl(os.path.join(DATA, "hellaswag_train.jsonl"))})

    def exam(bench, subject):
        if bench == "ceval":
            splits = {"val": read_csv(os.path.join(DATA, "ceval", "val", f"{subject}_val.csv")),
                      "dev": read_csv(os.path.join(DATA, "ceval", "dev", f"{subject}_dev.csv"))}
            return task_from_yaml(f"ceval/ceval-valid_{subject}.yaml", splits)
        splits = {"test": read_csv(os.path.join(DATA, "cmmlu", "test", f"{subject}.csv")),
                  "dev": read_csv(os.path.join(DATA, "cmmlu", "dev", f"{subject}.csv"))}
        return task_from_yaml(f"cmmlu/cmmlu_{subject}.yaml", splits)

    out = {}

    def case(name, args, items):
        out[name] = {"args": args, "items": items}

    case("mc_0shot", ["--task", "mc", "--data", "data/mc.jsonl"], render(generic(None), 0))
    case("mc_2shot", ["--task", "mc", "--data", "data/mc.jsonl", "--fewshot-data", "data/mc_shots.jsonl", "--num-fewshot", "2"],
         render(generic("mc_shots.jsonl"), 2))
    case("mc_self_3shot", ["--task", "mc", "--data", "data/mc.jsonl", "--fewshot-data", "data/mc.jsonl", "--num-fewshot", "3"],
         render(generic("self"), 3))
    case("mc_nodelim_1shot", ["--task", "mc", "--data", "data/mc.jsonl", "--fewshot-data", "data/mc_shots.jsonl", "--num-fewshot", "1",
                              "--target-delimiter", ""], render(generic("mc_shots.jsonl", ""), 1))
    case("mc_seed7_2shot", ["--task", "mc", "--data", "data/mc.jsonl", "--fewshot-data", "data/mc_shots.jsonl", "--num-fewshot", "2",
                            "--fewshot-seed", "7"], render(generic("mc_shots.jsonl"), 2, seed=7))
    for k in (0, 2, 5):  # 2: Python's set-based sample (30 > 21 docs); 5: its pool-based one (30 <= 85)
        case(f"hellaswag_{k}shot", ["--task", "hellaswag", "--data", "data/hellaswag_val.jsonl", "--fewshot-data", "data/hellaswag_train.jsonl",
                                    "--num-fewshot", str(k)], render(hellaswag(), k))
    for bench, subjects in (("ceval", ("accountant", "computer_network")), ("cmmlu", ("agronomy", "world_history"))):
        for k in (0, 2):
            case(f"{bench}_{k}shot", ["--task", bench, "--data", f"data/{bench}", "--num-fewshot", str(k)],
                 [it for s in subjects for it in render(exam(bench, s), k)])
        first = subjects[0]
        evf = f"data/ceval/val/{first}_val.csv" if bench == "ceval" else f"data/cmmlu/test/{first}.csv"
        case(f"{bench}_file_5shot", ["--task", bench, "--data", evf, "--num-fewshot", "5", "--limit", "3"],
             render(exam(bench, first), 5)[:3])
    # the description of every subject, from every subject's YAML
    descriptions = {}
    for bench, pattern in (("ceval", "ceval-valid_"), ("cmmlu", "cmmlu_")):
        d = os.path.join(root, "lm_eval", "tasks", bench)
        for f in sorted(os.listdir(d)):
            if f.startswith(pattern) and f.endswith(".yaml"):
                cfg = load_yaml(os.path.join(d, f))
                descriptions.setdefault(bench, {})[cfg["dataset_name"]] = cfg["description"]
    return out, descriptions


# ---- 3. lm-eval's real request tokenization -------------------------------------------------------------------------

def tokenize(all_cases, tokenizer_json, add_bos):
    from lm_eval.api.instance import Instance
    from lm_eval.api.model import TemplateLM

    table = {}
    vocab = json.load(open(tokenizer_json, encoding="utf-8"))
    bos_text = json.load(open(os.path.join(os.path.dirname(tokenizer_json), "tokenizer_config.json"), encoding="utf-8"))["bos_token"]
    bos_id = next(t["id"] for t in vocab["added_tokens"] if t["content"] == bos_text)

    class Recorder(TemplateLM):
        backend = "causal"

        def __init__(self, encode):
            super().__init__()
            self.encode = encode
            self.captured = None

        @property
        def eot_token_id(self):
            return bos_id  # unused: prefix_token_id is bos

        @property
        def prefix_token_id(self):
            return bos_id  # HFLM: the tokenizer's bos_token_id

        def tok_encode(self, string, add_special_tokens=None, **kwargs):
            # HFLM.tok_encode: add_special_tokens falls back to add_bos_token; a string already starting with bos gets none;
            # MiniMind's tokenizer adds nothing itself, add_bos_token=True (transformers 5) prepends bos.
            special = add_special_tokens if add_special_tokens is not None else add_bos
            if add_special_tokens is None and string.startswith(bos_text):
                special = False
            ids = self.encode(string)
            return [bos_id] + ids if special else ids

        def _loglikelihood_tokens(self, requests, **kwargs):
            self.captured = [(ctx, cont) for _, ctx, cont in requests]
            return [(0.0, False)] * len(requests)

        def loglikelihood_rolling(self, requests, **kwargs):
            raise NotImplementedError

        def generate_until(self, requests, **kwargs):
            raise NotImplementedError

    requests = [Instance("multiple_choice", {}, (it["context"], c), i)
                for case in all_cases.values() for it in case["items"] for i, c in enumerate(it["continuations"])]
    # First pass: which strings lm-eval encodes (placeholder ids); then encode them all in one node run.
    wanted = set()
    Recorder(lambda s: (wanted.add(s), [1])[1]).loglikelihood(requests, disable_tqdm=True)
    strings = sorted(wanted)
    ids = json.loads(subprocess.run(["node", os.path.join(REPO, "tools", "eval", "encode.js"), tokenizer_json],
                                    input=json.dumps(strings), capture_output=True, text=True, check=True).stdout)
    table.update(zip(strings, ids))
    lm = Recorder(lambda s: list(table[s]))
    lm.loglikelihood(requests, disable_tqdm=True)
    pairs = iter(lm.captured)
    out = {}
    for name, case in all_cases.items():
        items = []
        for it in case["items"]:
            got = [next(pairs) for _ in it["continuations"]]
            ctxs = [c for c, _ in got]
            # one context for all choices except where an empty context gives a choice its own first token
            key = {"context": ctxs[0]} if all(c == ctxs[0] for c in ctxs) else {"contexts": ctxs}
            items.append({**key, "continuations": [c for _, c in got]})
        out[name] = items
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lmeval-repo", default=os.environ.get("MM_LMEVAL_REPO", "/work/.mirror/EleutherAI+lm-evaluation-harness/repo"))
    ap.add_argument("--shared", default=None, help="the shared/ folder with minimind/v3/tokenizer.json (default: found above the repo)")
    a = ap.parse_args()
    shared = a.shared
    if shared is None:
        d = REPO
        while not os.path.isdir(os.path.join(d, "shared", "minimind")):
            if os.path.dirname(d) == d:
                sys.exit("shared/minimind not found above " + REPO + "; pass --shared")
            d = os.path.dirname(d)
        shared = os.path.join(d, "shared")
    make_data()
    root, commit = import_lm_eval(a.lmeval_repo)
    all_cases, descriptions = cases(root)
    with open(os.path.join(OUT, "prompts.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"lm_eval_commit": commit, "cases": all_cases, "descriptions": descriptions}, f, ensure_ascii=False, indent=1)
    tok = os.path.join(shared, "minimind", "v3", "tokenizer.json")
    tokens = {"lm_eval_commit": commit, "tokenizer": "minimind v3 tokenizer.json (HF tokenizers, npm)",
              "no_bos": tokenize(all_cases, tok, False), "add_bos": tokenize(all_cases, tok, True)}
    with open(os.path.join(OUT, "tokens_v3.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(tokens, f, separators=(",", ":"))
    print("wrote", OUT, "from lm-eval", commit)


if __name__ == "__main__":
    main()
