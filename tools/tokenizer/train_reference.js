// HuggingFace's Rust tokenizers core (npm tokenizers@0.23.2) as the reference for `minimind train-tokenizer`.
//
//   node tools/tokenizer/train_reference.js train CORPUS.txt OUT.json
//       Trains BPE with a ByteLevel pre-tokenizer (add_prefix_space false, as MiniMind) on CORPUS.txt and saves the
//       tokenizer.json. The Node binding trains only through Tokenizer.train(files), i.e. with the BPE model's default
//       BpeTrainer: vocab_size 30000, min_frequency 0, no special tokens, no initial alphabet. None of MiniMind's
//       trainer options (vocab_size 6400, its 36 special tokens, ByteLevel.alphabet()) can be set, and the file is
//       read line by line (each line, with its line ending, is one training sequence).
//   node tools/tokenizer/train_reference.js encode TOKENIZER.json TEXTS.json
//       Loads a tokenizer.json (e.g. one `minimind train-tokenizer` wrote) and prints the ids of each text of the
//       JSON array TEXTS.json as one JSON array of arrays (no special tokens added).
'use strict';
const { Tokenizer, BPE, byteLevelPreTokenizer } = require('tokenizers');

async function main() {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === 'train' && a && b) {
    const tok = new Tokenizer(BPE.empty());
    tok.setPreTokenizer(byteLevelPreTokenizer(false));
    const t0 = process.hrtime.bigint();
    tok.train([a]);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    tok.save(b, true);
    console.error(`trained in ${secs.toFixed(2)} s, vocab ${tok.getVocabSize()}`);
    return;
  }
  if (mode === 'encode' && a && b) {
    const tok = Tokenizer.fromFile(a);
    const texts = JSON.parse(require('fs').readFileSync(b, 'utf8'));
    const out = [];
    for (const t of texts) out.push(Array.from((await tok.encode(t, null, { addSpecialTokens: false })).getIds()));
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  console.error('usage: node train_reference.js train CORPUS.txt OUT.json | encode TOKENIZER.json TEXTS.json');
  process.exit(2);
}
main().catch((e) => { console.error(e); process.exit(1); });
