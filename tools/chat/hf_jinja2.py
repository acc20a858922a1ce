"""HuggingFace transformers' chat-template environment, rebuilt with Python jinja2 (no transformers needed).

Mirrors transformers' `_compile_jinja_template` (utils/chat_template_utils.py): an
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls, its own `tojson`
(json.dumps with ensure_ascii=False, no HTML escaping) and `raise_exception`; and `apply_chat_template`'s
variables: messages, tools, documents, add_generation_prompt, the special tokens map, extra kwargs.
"""
import json

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _raise_exception(message):
    raise TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def compile_template(source):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(source)


def special_tokens_map(config):
    """tokenizer.special_tokens_map as transformers builds it from tokenizer_config.json."""
    out = {}
    for k in ("bos_token", "eos_token", "unk_token", "pad_token"):
        v = config.get(k)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            out[k] = v
    if config.get("additional_special_tokens"):
        out["additional_special_tokens"] = list(config["additional_special_tokens"])
    return out


def render(template, special, messages, tools=None, add_generation_prompt=False, **kwargs):
    """tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=..., **kwargs)."""
    variables = {**special, **kwargs}
    return template.render(messages=messages, tools=tools, documents=None, add_generation_prompt=add_generation_prompt, **variables)
