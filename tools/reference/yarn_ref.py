#!/usr/bin/env python3
"""Writes tests/fixtures/model/yarn/: MiniMind's own YaRN (model/model_minimind.py at d65ef2c, read from the MiniMind git
mirror and run as is) as the reference for the C# RoPE tables and logits with --rope-scaling yarn.

    /usr/bin/python3 tools/reference/yarn_ref.py [MINIMIND_GIT_DIR]   (default /work/.mirror/jingyaogong+minimind/repo)

transformers is replaced by a stub (PretrainedConfig keeps nothing: MiniMindConfig reads its kwargs itself;
PreTrainedModel is nn.Module; ACT2FN has silu): the model, precompute_freqs_cis and the forward are MiniMind's code.
Writes
  tables.pth  for each case: precompute_freqs_cis(dim, end, rope_base, rope_scaling) -> cos/sin at ~100 positions
              ('<case>/pos'), first half of the columns (the second half repeats it), float32
  model.pth   a tiny minimind-3 (hidden 64, 2 layers, 4/2 heads, vocab 128), random weights as MiniMind saves them
  logits.pth  its logits on a fixed 48-token input with inference_rope_scaling=True, for MiniMind's own scaling
              (factor 16, original 2048: every position scaled) and for factor 4 / original 16 (positions past 16)
  cases.json  the cases (so the C# test knows what each table is)
"""
import json
import math
import os
import subprocess
import sys
import types

import torch
from torch import nn

mirror = sys.argv[1] if len(sys.argv) > 1 else '/work/.mirror/jingyaogong+minimind/repo'
root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
out = os.path.join(root, 'tests', 'fixtures', 'model', 'yarn')


def stub_transformers():
    class PretrainedConfig:
        def __init__(self, **kwargs):
            pass

    class PreTrainedModel(nn.Module):
        def __init__(self, config):
            nn.Module.__init__(self)

        def post_init(self):
            pass

    class Output(dict):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.__dict__.update(kw)

    tf = types.ModuleType('transformers')
    tf.PretrainedConfig, tf.PreTrainedModel, tf.GenerationMixin = PretrainedConfig, PreTrainedModel, type('GenerationMixin', (), {})
    act = types.ModuleType('transformers.activations')
    act.ACT2FN = {'silu': nn.SiLU()}
    outs = types.ModuleType('transformers.modeling_outputs')
    outs.MoeCausalLMOutputWithPast = Output
    sys.modules.update({'transformers': tf, 'transformers.activations': act, 'transformers.modeling_outputs': outs})


def main():
    stub_transformers()
    source = subprocess.check_output(['git', '-C', mirror, 'show', 'HEAD:model/model_minimind.py'], text=True)
    commit = subprocess.check_output(['git', '-C', mirror, 'rev-parse', '--short', 'HEAD'], text=True).strip()
    mm = types.ModuleType('model_minimind')
    exec(compile(source, 'minimind/model/model_minimind.py', 'exec'), mm.__dict__)
    os.makedirs(out, exist_ok=True)

    minimind = mm.MiniMindConfig(inference_rope_scaling=True).rope_scaling   # MiniMind's own dict
    cases = [
        # name, head dim, table length, base, rope_scaling
        ('minimind', 96, 4096, 1e6, dict(minimind)),
        ('minimind-short-table', 96, 512, 1e6, dict(minimind)),    # MiniMind's rule: 512 <= 2048, nothing scaled
        ('small-original', 16, 64, 1e6, dict(minimind, factor=4, original_max_position_embeddings=16)),
        ('base-1e4-attn', 64, 256, 1e4, dict(minimind, factor=8, original_max_position_embeddings=64, attention_factor=0.75, beta_fast=16, beta_slow=2)),
        ('narrow-band', 32, 128, 1e6, dict(minimind, factor=2.5, original_max_position_embeddings=100000)),  # end 128: not scaled
        ('none', 32, 128, 1e6, None),
    ]
    tables = {}
    for name, dim, end, base, rs in cases:
        cos, sin = mm.precompute_freqs_cis(dim=dim, end=end, rope_base=base, rope_scaling=rs)
        half = dim // 2
        assert torch.equal(cos[:, :half], cos[:, half:]) and torch.equal(sin[:, :half], sin[:, half:])
        # about 100 rows: the first 64 and an even spread to the end (the fixture stays small)
        pos = torch.unique(torch.cat([torch.arange(min(64, end)), torch.linspace(0, end - 1, 40).long()]))
        tables[name + '/pos'] = pos
        tables[name + '/cos'], tables[name + '/sin'] = cos[pos, :half].contiguous(), sin[pos, :half].contiguous()
    torch.save(tables, os.path.join(out, 'tables.pth'))

    torch.manual_seed(20261205)
    cfg = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=128, flash_attn=False)
    model = mm.MiniMindForCausalLM(mm.MiniMindConfig(**cfg)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape))
            else:
                p.copy_(torch.randn(p.shape) * (1.0 if 'embed' in name else 2.0 / math.sqrt(p.shape[1])))
    torch.save(model.state_dict(), os.path.join(out, 'model.pth'))
    ids = torch.randint(0, 128, (1, 48), generator=torch.Generator().manual_seed(7))
    logits = {'input_ids': ids}
    for name, scaling in (('minimind', {}), ('small-original', dict(factor=4, original_max_position_embeddings=16)), ('none', None)):
        conf = mm.MiniMindConfig(inference_rope_scaling=scaling is not None, **cfg)
        if scaling:
            conf.rope_scaling.update(scaling)
        m = mm.MiniMindForCausalLM(conf).eval()
        m.load_state_dict(model.state_dict())
        with torch.no_grad():
            logits[name] = m(ids).logits[0].contiguous()
    torch.save(logits, os.path.join(out, 'logits.pth'))
    with open(os.path.join(out, 'cases.json'), 'w', encoding='utf-8') as f:
        json.dump({'generator': f'tools/reference/yarn_ref.py: MiniMind model_minimind.py at {commit}',
                   'tables': [dict(name=n, head_dim=d, end=e, rope_base=b, rope_scaling=r) for n, d, e, b, r in cases],
                   'model': cfg}, f, indent=1)
        f.write('\n')
    print('wrote', out)


main()
