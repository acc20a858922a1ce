"""Renders tests/fixtures/chat/cases.json with Python jinja2 as HuggingFace does (the reference where
@huggingface/jinja differs). Writes the renderings to stdout as JSON; make_fixtures.js merges them."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import hf_jinja2  # noqa: E402

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "minimind")
fixtures = os.path.join(root, "tests", "fixtures", "chat")
cases = json.load(open(os.path.join(fixtures, "cases.json"), encoding="utf-8"))["cases"]

templates = {}
for v in ("v1", "v3"):
    cfg = json.load(open(os.path.join(shared, v, "tokenizer_config.json"), encoding="utf-8"))
    templates[v] = (hf_jinja2.compile_template(cfg["chat_template"]), hf_jinja2.special_tokens_map(cfg))
templates["builtin"] = (hf_jinja2.compile_template(open(os.path.join(fixtures, "builtin.jinja"), encoding="utf-8").read()),
                        {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"})

out = []
for c in cases:
    try:
        if "template_source" in c:
            text = hf_jinja2.compile_template(c["template_source"]).render(**c["vars"])
        else:
            tpl, special = templates[c["template"]]
            text = hf_jinja2.render(tpl, special, c["messages"], c["tools"], c["add_generation_prompt"], **c["kwargs"])
        out.append({"name": c["name"], "text": text})
    except Exception as e:  # the C# renderer must fail on the same cases
        out.append({"name": c["name"], "error": f"{type(e).__name__}: {e}"})
json.dump(out, sys.stdout, ensure_ascii=False)
