#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/train_corpus.jsonl and train_corpus_texts.json: an awkward tokenizer-training corpus
and the texts MiniMind's own `get_texts` (trainer/train_tokenizer.py, read from the MiniMind mirror and run as is)
yields from it. TokenizerCorpusTests checks that `minimind train-tokenizer` reads the same texts.

    python3 tools/tokenizer/minimind_texts.py [MINIMIND_GIT_DIR]    (default /work/.mirror/jingyaogong+minimind/repo)

The script imports HF `tokenizers` at the top, which get_texts does not use: a stub module stands in for it.
"""
import json
import os
import subprocess
import sys
import types

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
fixtures = os.path.join(repo, 'tests', 'fixtures', 'tokenizer')
mirror = sys.argv[1] if len(sys.argv) > 1 else '/work/.mirror/jingyaogong+minimind/repo'


def conv(*contents, **extra):
    msgs = [{'role': 'user' if i % 2 == 0 else 'assistant', 'content': c} for i, c in enumerate(contents)]
    return json.dumps({'conversations': msgs, **extra}, ensure_ascii=False).encode('utf-8')


lines = [
    b'\xef\xbb\xbf' + conv('a BOM starts the file: Python keeps it, so this first line is not JSON'),
    conv('你好，请介绍一下自己', '我是 MiniMind，一个小模型。<|im_end|> <think>x</think>'),
    b'',
    b'not json at all',
    b'{"conversations": [{"role": "user", "content": ""}, {"role": "assistant"}, {"role": "user", "content": null}, {"role": "x", "content": 0}, {"role": "y", "content": false}, {"content": "kept"}]}',
    b'{"text": "no conversations field: nothing"}',
    b'{"conversations": []}',
    conv('carriage', 'return') + b'\r' + conv('splits', 'lines'),
    conv('crlf ending') + b'\r',
    b'{"conversations": [{"role": "user", "content": "bad \xff\xfe bytes \xe4\xbd are dropped"}]}',
    conv('U+2028 \u2028 and U+0085 \u0085 and U+3000 \u3000 stay inside a line', '\ttabs\t and  spaces  '),
    conv('emoji 👨\u200d👩\u200d👧 🇨🇳 1️⃣', 'escaped \\n in JSON is a newline'),
    b'{"conversations": [{"role": "user", "content": "trailing comma"},]}',
]
# filler up to line 10000 (the script stops at i >= 10000; the lone \r above makes one more line), then lines it never reads
lines += [b'{}'] * (10000 - len(lines) - 2)
lines.append(conv('line 10000 is the last one read'))
lines.append(conv('line 10001 is never read'))
lines.append(conv('nor this one'))

os.makedirs(fixtures, exist_ok=True)
corpus = os.path.join(fixtures, 'train_corpus.jsonl')
with open(corpus, 'wb') as f:
    f.write(b'\n'.join(lines) + b'\n')

source = subprocess.run(['git', '-C', mirror, 'show', 'HEAD:trainer/train_tokenizer.py'], check=True, capture_output=True, text=True).stdout
commit = subprocess.run(['git', '-C', mirror, 'rev-parse', '--short', 'HEAD'], check=True, capture_output=True, text=True).stdout.strip()
stub = types.ModuleType('tokenizers')
for name in ('decoders', 'models', 'pre_tokenizers', 'trainers', 'Tokenizer'):
    setattr(stub, name, None)
sys.modules['tokenizers'] = stub
module = {'__name__': 'train_tokenizer'}
exec(compile(source, 'train_tokenizer.py', 'exec'), module)
texts = list(module['get_texts'](corpus))
with open(os.path.join(fixtures, 'train_corpus_texts.json'), 'w', encoding='utf-8') as f:
    json.dump({'generator': f'tools/tokenizer/minimind_texts.py: get_texts of MiniMind trainer/train_tokenizer.py at {commit}', 'texts': texts},
              f, ensure_ascii=False, indent=1)
print(f'{len(lines)} lines -> {len(texts)} texts')
