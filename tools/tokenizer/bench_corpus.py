#!/usr/bin/env python3
"""Writes a seeded tokenizer-training corpus for the `minimind train-tokenizer` vs npm tokenizers benchmark.

    python3 tools/tokenizer/bench_corpus.py OUT_DIR [MEGABYTES]     (default 20)

Texts are seeded mixtures of fortunes-zh (Chinese poems and sayings, ANSI codes stripped; apt-get install fortunes-zh)
and the varied reference texts of tests/fixtures/tokenizer/reference.json.gz (English, code, emoji, whitespace runs,
special-token strings, random Unicode). It writes the same lines three ways:
  corpus.txt         for npm tokenizers' train(files), which trains on each line (with its line ending)
  corpus_text.jsonl  {"text": line} per line, for `minimind train-tokenizer --format text`: the same sequences
  corpus_sft.jsonl   MiniMind's SFT layout ({"conversations": [user, assistant]}), for its default --format
"""
import gzip
import json
import os
import random
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))


def fortunes(name):
    raw = open(os.path.join('/usr/share/games/fortunes', name), encoding='utf-8').read()
    raw = re.sub(r'\x1b\[[0-9;]*m', '', raw)
    return [s.strip('%\n') for s in raw.split('\n%\n') if s.strip()]


def main():
    out = sys.argv[1]
    megabytes = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    zh = fortunes('chinese') + fortunes('tang300') + fortunes('song100')
    ref = json.load(gzip.open(os.path.join(repo, 'tests', 'fixtures', 'tokenizer', 'reference.json.gz'), 'rt', encoding='utf-8'))['texts']
    rng = random.Random(20261205)
    os.makedirs(out, exist_ok=True)
    size, n = 0, 0
    with open(os.path.join(out, 'corpus.txt'), 'w', encoding='utf-8', newline='') as txt, \
         open(os.path.join(out, 'corpus_text.jsonl'), 'w', encoding='utf-8', newline='') as tj, \
         open(os.path.join(out, 'corpus_sft.jsonl'), 'w', encoding='utf-8', newline='') as sft:
        while size < megabytes * 1e6:
            parts = [rng.choice(zh) if rng.random() < 0.7 else rng.choice(ref) for _ in range(rng.randint(1, 4))]
            user, assistant = parts[0], ' '.join(parts[1:]) or parts[0]
            for line in (user + '\n' + assistant).split('\n'):
                line += '\n'
                txt.write(line)
                tj.write(json.dumps({'text': line}, ensure_ascii=False) + '\n')
                size += len(line.encode('utf-8'))
            sft.write(json.dumps({'conversations': [{'role': 'user', 'content': user}, {'role': 'assistant', 'content': assistant}]}, ensure_ascii=False) + '\n')
            n += 1
    print(f'{out}: {n} conversations, {size / 1e6:.1f} MB of text')


main()
