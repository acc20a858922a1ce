// Token ids of strings with HuggingFace's Rust tokenizers core (npm tokenizers, installed under tools/tokenizer),
// no special tokens added, for tools/eval/make_fixtures.py.
// Usage: node tools/eval/encode.js path/to/tokenizer.json < strings.json > ids.json
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(__dirname, '..', 'tokenizer', 'node_modules', 'tokenizers'));

(async () => {
  const tok = Tokenizer.fromFile(process.argv[2]);
  const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
  const out = [];
  for (const t of texts) out.push(Array.from((await tok.encode(t, null, { addSpecialTokens: false })).getIds()));
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
