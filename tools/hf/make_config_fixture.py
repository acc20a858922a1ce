#!/usr/bin/env python3
"""Writes tests/fixtures/hf/convert_model_configs.json from MiniMind's own code.

Runs MiniMindConfig from MiniMind's model/model_minimind.py (transformers replaced by a stub that only keeps the
keyword arguments: the values come from MiniMind's code) and evaluates the `common_config = {...}` literal of its
scripts/convert_model.py on it, for the default minimind-3 (dense and MoE), plus the MoE-only fields the script
passes to Qwen3MoeConfig. Usage:
  python3 tools/hf/make_config_fixture.py MINIMIND_CHECKOUT [OUT.json]
(MINIMIND_CHECKOUT: a checkout of jingyaogong/minimind, or `git show`-able mirror with --git)
"""
import ast, json, subprocess, sys, types


def source(repo, path):
    try:
        return open(f"{repo}/{path}", encoding="utf-8").read()
    except FileNotFoundError:
        return subprocess.check_output(["git", "-C", repo, "show", f"HEAD:{path}"]).decode("utf-8")


def stub_transformers():
    class PretrainedConfig:
        def __init__(self, **kwargs):
            pass
    class Dummy:
        pass
    tf = types.ModuleType("transformers")
    tf.PretrainedConfig = PretrainedConfig
    tf.PreTrainedModel = type("PreTrainedModel", (object,), {})
    tf.GenerationMixin = Dummy
    act = types.ModuleType("transformers.activations")
    act.ACT2FN = {"silu": None}
    outs = types.ModuleType("transformers.modeling_outputs")
    outs.MoeCausalLMOutputWithPast = Dummy
    sys.modules.update({"transformers": tf, "transformers.activations": act, "transformers.modeling_outputs": outs})


def main():
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/hf/convert_model_configs.json"
    stub_transformers()
    ns = {}
    exec(compile(source(repo, "model/model_minimind.py"), "model_minimind.py", "exec"), ns)
    script = ast.parse(source(repo, "scripts/convert_model.py"))
    common = moe_kw = None
    for node in ast.walk(script):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "common_config":
            common = node.value
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Qwen3MoeConfig":
            moe_kw = [k for k in node.keywords if k.arg]
    assert common is not None and moe_kw, "convert_model.py changed: no common_config / Qwen3MoeConfig(...) found"
    cases = {}
    for name, moe in (("minimind3-dense", False), ("minimind3-moe", True)):
        lm_config = ns["MiniMindConfig"](hidden_size=768, num_hidden_layers=8, use_moe=moe)
        env = {"lm_config": lm_config}
        cfg = eval(compile(ast.Expression(common), "common_config", "eval"), env)
        if moe:
            for k in moe_kw:
                cfg[k.arg] = eval(compile(ast.Expression(k.value), k.arg, "eval"), env)
        cases[name] = {"use_moe": moe, "expected": cfg}
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"source": "MiniMind model_minimind.py MiniMindConfig + scripts/convert_model.py common_config", "cases": cases}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
