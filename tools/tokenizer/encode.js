// Loads a tokenizer.json with HuggingFace's Rust `tokenizers` core (npm tokenizers@0.23.2) and encodes texts, as
// transformers' tokenizer(text, add_special_tokens=False) does; the C# export tests compare its ids with ours.
//   node tools/tokenizer/encode.js TOKENIZER.json TEXT...
// Output (one JSON line): {"ids": [[...ids of TEXT 1], ...], "vocab_size": N, "decoded": [decode of each, specials kept]}
'use strict';
const { Tokenizer } = require('tokenizers');

const [, , file, ...texts] = process.argv;
if (!file || texts.length === 0) {
  console.error('usage: node encode.js TOKENIZER.json TEXT...');
  process.exit(2);
}
(async () => {
  const tok = Tokenizer.fromFile(file);
  const ids = [];
  const decoded = [];
  for (const t of texts) {
    const e = await tok.encode(t, null, { addSpecialTokens: false });
    ids.push(Array.from(e.getIds()));
    decoded.push(await tok.decode(Array.from(e.getIds()), false));
  }
  console.log(JSON.stringify({ ids, vocab_size: tok.getVocabSize(true), decoded }));
})().catch((e) => { console.error(e); process.exit(1); });
