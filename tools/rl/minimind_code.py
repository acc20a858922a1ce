"""Loads MiniMind's own RL scripts (trainer/train_grpo.py, train_ppo.py, train_agent.py, trainer_utils.py,
dataset/lm_dataset.py) from its git mirror and executes them as modules, so the reference values of tools/rl come
from MiniMind's real functions. Only what MiniMind takes from libraries that are not installed here is replaced:
`datasets`, `transformers`, `swanlab` and MiniMind's own model/rollout modules become empty stubs (the functions
used for the fixtures never touch them); the `if __name__ == "__main__":` block of a script does not run.

    code = MiniMindCode(MIRROR)              # a git mirror (bare) or a checkout
    grpo = code.module("trainer/train_grpo.py")
    grpo.rep_penalty("...")
"""
import os
import subprocess
import sys
import types


class _Stub(types.ModuleType):
    """A module whose every attribute is a harmless placeholder class (imports succeed, nothing runs)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (), {"__init__": lambda self, *a, **k: None})
        setattr(self, name, value)
        return value


_STUBBED = ("datasets", "transformers", "transformers.activations", "transformers.modeling_outputs", "swanlab",
            "model", "model.model_minimind", "model.model_lora", "dataset", "trainer", "trainer.rollout_engine")


def _install_stubs():
    for name in _STUBBED:
        if name not in sys.modules:
            mod = _Stub(name)
            mod.__path__ = []  # a package, so "from model.model_minimind import X" resolves
            sys.modules[name] = mod


def _functional_transformers():
    """Just enough of transformers for MiniMind's model_minimind.py to build and run a model (no HF machinery)."""
    import torch.nn as nn

    class PretrainedConfig:
        def __init__(self, **kwargs):
            pass

    class PreTrainedModel(nn.Module):
        def __init__(self, config, *args, **kwargs):
            nn.Module.__init__(self)
            self.config = config

        def post_init(self):
            pass

    class Output:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    tf = types.ModuleType("transformers")
    tf.PretrainedConfig, tf.PreTrainedModel, tf.GenerationMixin = PretrainedConfig, PreTrainedModel, object
    act = types.ModuleType("transformers.activations")
    act.ACT2FN = {"silu": nn.SiLU()}
    outs = types.ModuleType("transformers.modeling_outputs")
    outs.MoeCausalLMOutputWithPast = Output
    return {"transformers": tf, "transformers.activations": act, "transformers.modeling_outputs": outs}


class MiniMindCode:
    """MiniMind's source at one commit of a mirror (git show) or a checkout (plain files)."""

    def __init__(self, repo):
        self.repo = repo
        self.is_git = os.path.isdir(os.path.join(repo, "objects")) or os.path.isdir(os.path.join(repo, ".git"))
        self.commit = (subprocess.check_output(["git", "-C", repo, "rev-parse", "HEAD"], text=True).strip()
                       if self.is_git else "checkout")
        self._modules = {}

    def source(self, path):
        if self.is_git:
            return subprocess.check_output(["git", "-C", self.repo, "show", f"HEAD:{path}"], text=True)
        with open(os.path.join(self.repo, path), encoding="utf-8") as f:
            return f.read()

    def model_module(self):
        """MiniMind's model/model_minimind.py, runnable (functional transformers stand-ins); later script modules
        (train_ppo.py's CriticModel) subclass its real MiniMindForCausalLM. Call before module()."""
        if "model/model_minimind.py" in self._modules:
            return self._modules["model/model_minimind.py"]
        saved = {k: sys.modules.get(k) for k in ("transformers", "transformers.activations", "transformers.modeling_outputs")}
        sys.modules.update(_functional_transformers())
        try:
            mod = types.ModuleType("model.model_minimind")
            exec(compile(self.source("model/model_minimind.py"), "minimind/model/model_minimind.py", "exec"), mod.__dict__)
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
        _install_stubs()
        sys.modules["model.model_minimind"] = mod
        self._modules["model/model_minimind.py"] = mod
        return mod

    def module(self, path):
        """Executes MiniMind's file `path` as a module (cached); trainer_utils and lm_dataset are real modules too."""
        if path in self._modules:
            return self._modules[path]
        _install_stubs()
        name = path[:-3].replace("/", ".")
        mod = types.ModuleType(name)
        mod.__file__ = os.path.join("/nonexistent-minimind", path)  # the scripts append dirname(__file__)/.. to sys.path
        mod.__package__ = name.rsplit(".", 1)[0]
        if path != "trainer/trainer_utils.py":
            sys.modules["trainer.trainer_utils"] = self.module("trainer/trainer_utils.py")
        if path != "dataset/lm_dataset.py" and path.startswith("trainer/") and path != "trainer/trainer_utils.py":
            sys.modules["dataset.lm_dataset"] = self.module("dataset/lm_dataset.py")
        exec(compile(self.source(path), f"minimind/{path}", "exec"), mod.__dict__)
        self._modules[path] = mod
        return mod
