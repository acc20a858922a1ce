// Writes tests/fixtures/tokenizer/reference.json.gz: token ids from HuggingFace's Rust `tokenizers` core
// (npm tokenizers@0.23.2) for a varied corpus, for the v1 and v3 MiniMind tokenizers, plus decodes of
// random id sequences. The C# BpeTokenizer tests compare against it.
//
// Usage (from the repository root):
//   (cd tools/tokenizer && npm install) && node tools/tokenizer/make_fixtures.js [path/to/shared/minimind]
// Needs fortunes-zh (/usr/share/games/fortunes/{tang300,song100,chinese}) for the Chinese texts.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { Tokenizer } = require('tokenizers');

const repo = path.resolve(__dirname, '..', '..');
function findShared() {
  if (process.argv[2]) return process.argv[2];
  for (let d = repo; ; d = path.dirname(d)) {
    const p = path.join(d, 'shared', 'minimind');
    if (fs.existsSync(p)) return p;
    if (path.dirname(d) === d) throw new Error('shared/minimind not found above ' + repo);
  }
}
const shared = findShared();
const outDir = path.join(repo, 'tests', 'fixtures', 'tokenizer');

// Deterministic PRNG (mulberry32) so the corpus is the same on every run.
let seed = 20240917;
function rand() {
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n) => Math.floor(rand() * n);
const pick = (a) => a[randInt(a.length)];

const texts = [];
const add = (s) => { if (s.length > 0) texts.push(s); };

// 1. Chinese: fortunes-zh with ANSI colour codes stripped.
function fortunes(name) {
  const raw = fs.readFileSync(path.join('/usr/share/games/fortunes', name), 'utf8');
  return raw.replace(/\x1b\[[0-9;]*m/g, '').split('\n%\n').map((s) => s.replace(/^%\n?/, '')).filter((s) => s.trim().length > 0);
}
const tang = fortunes('tang300'), song = fortunes('song100'), zh = fortunes('chinese');
tang.forEach(add); song.forEach(add);
for (let i = 0; i < zh.length; i += 7) add(zh[i]);

// 2. English, code, contractions, numbers.
const english = [
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure you'll like it; they've said it's what we'd do. DON'T SHOUT, it'S fine. O'Neil's 'quoted' text.",
  "It's 3:45pm on 2024-09-17; the price rose 12.5% to $1,234.56 (approx. €1.1k).",
  "def f(x):\n    return x**2 + 3*x - 1  # comment\n\n\nclass A(object):\n\tpass\n",
  "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }   // dot product",
  "Hello,   world!!!  How are    you??? ...and then... nothing.",
  "URLs: https://github.com/jingyaogong/minimind?tab=readme-ov-file#-quick-start and user@example.com",
  "Numbers: 0 1 12 123 1234 12345 123456 1234567 3.14159 -42 +7 1e-5 0x1F ½ ² ³ Ⅻ ①②③ ٣٤٥ ४५६",
  "  leading spaces and trailing spaces   ",
  "Tabs\tand\t\ttabs\t\t\t.",
  "'s 't 're 've 'm 'll 'd 'S 'T ''s '''",
];
english.forEach(add);
const words = ['the', 'model', 'learns', 'tokens', 'quickly', 'MiniMind', 'GPU', 'training', "isn't", 'data', 'loss', 'is', 'a', 'of', 'in', '42', '3.5', 'C#', 'e.g.', 'Hello', 'WORLD'];
for (let i = 0; i < 150; i++) {
  const n = 3 + randInt(25);
  const w = [];
  for (let k = 0; k < n; k++) w.push(pick(words) + (rand() < 0.1 ? pick([',', '.', '!', '?', ';', ':']) : ''));
  add(w.join(pick([' ', ' ', ' ', '  ', '\n'])));
}

// 3. Mixed Chinese/English with numbers.
const zhWords = ['模型', '训练', '数据', '你好', '世界', '人工智能', '中文', '测试', '。', '，', '！', '？', '“', '”', '（', '）', '：', '的', '是', '我们'];
for (let i = 0; i < 150; i++) {
  const n = 3 + randInt(20);
  let s = '';
  for (let k = 0; k < n; k++) {
    const r = rand();
    s += r < 0.5 ? pick(zhWords) : r < 0.75 ? pick(words) : r < 0.85 ? String(randInt(100000)) : pick([' ', '  ', '\n', '\t', '']);
  }
  add(s);
}

// 4. Emoji: single, skin tones, ZWJ sequences, flags, keycaps, variation selectors.
const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🧑🏾‍💻', '🏳️‍🌈', '🇨🇳', '🇺🇸', '1️⃣', '❤️', '☺︎', '🤖', '🐉', '🙏🏻', '👩‍❤️‍💋‍👨', '🫠', '🦀'];
for (let i = 0; i < 80; i++) {
  let s = '';
  const n = 1 + randInt(8);
  for (let k = 0; k < n; k++) s += pick(emoji) + pick(['', '', ' ', '  ', '你好', 'ok', '!', '\n']);
  add(s);
}

// 5. Whitespace runs, including characters where regex flavours disagree on \s.
const spaces = [' ', ' ', '\t', '\n', '\r\n', '\r', '\u3000', '\u0085', '\ufeff', '\u00a0', '\u2028', '\u2029', '\u1680', '\u200b', '\u180e', '\u2003', '\u202f', '\u205f', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x1f'];
const fillers = ['a', 'Z', '字', '1', '!', "'s", '😀', 'é', '.', '', ''];
for (let i = 0; i < 400; i++) {
  let s = '';
  const n = 1 + randInt(10);
  for (let k = 0; k < n; k++) {
    const run = 1 + randInt(4);
    for (let r = 0; r < run; r++) s += pick(spaces);
    s += pick(fillers);
  }
  add(s);
}
spaces.forEach((c) => { add(c); add(c + c + 'x'); add('x' + c + 'y'); add('x' + c + c + c); add(c + ' ' + 'x'); });

// 6. Special tokens and fragments inside text, chat templates.
const specials = ['<s>', '</s>', '<unk>', '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>', '<tool_call>', '</tool_call>',
  '<|buffer1|>', '<|vision_pad|>', '<tts_text_bos>', '<tts_text_bos_single>', '<|im_sta', '|im_end|>', '<s', 's>', '</', '<<s>>', '<|im_start|im_end|>', '<|<|im_end|>|>'];
for (let i = 0; i < 200; i++) {
  let s = '';
  const n = 1 + randInt(6);
  for (let k = 0; k < n; k++) s += pick(specials) + pick(['', ' ', 'user\n', '你好', 'hi ', '\n', '  ']);
  add(s);
}
add('<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n你好，请介绍一下自己<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n我是 MiniMind。<|im_end|>\n');
add('<s>user\n你好</s>\n<s>assistant\n你好！有什么可以帮你的？</s>\n');

// 7. Random Unicode over all planes (no surrogates; noncharacters allowed), as short strings.
function randomCodePoint() {
  const r = rand();
  if (r < 0.3) return 0x20 + randInt(0x60);
  if (r < 0.55) return randInt(0x3000);
  if (r < 0.75) return 0x3000 + randInt(0xA000);
  if (r < 0.9) return 0x10000 + randInt(0x30000);       // SMP, SIP, TIP: rare CJK, math letters, emoji
  return 0x10000 + randInt(0x100000);
}
for (let i = 0; i < 1200; i++) {
  let s = '';
  const n = 1 + randInt(24);
  for (let k = 0; k < n; k++) {
    let cp = randomCodePoint();
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0x41;
    s += String.fromCodePoint(cp);
    if (rand() < 0.15) s += pick([' ', "'", '  ', '\n']);
  }
  add(s);
}
// Rare CJK Extension B and mathematical alphanumerics (astral letters).
for (let i = 0; i < 200; i++) {
  let s = '';
  const n = 1 + randInt(12);
  for (let k = 0; k < n; k++) s += String.fromCodePoint(rand() < 0.5 ? 0x20000 + randInt(0xA6D0) : 0x1D400 + randInt(0x300)) + (rand() < 0.2 ? ' ' : '');
  add(s);
}

// 8. Long texts: an unbroken Chinese run (one huge pre-token) and long English.
add(zh.slice(0, 400).join('').replace(/\s+/g, '').slice(0, 20000));
add(english.join(' ').repeat(40));

async function main() {
  const out = { generator: 'tools/tokenizer/make_fixtures.js with npm tokenizers@' + require('tokenizers/package.json').version, texts, tokenizers: {} };
  for (const v of ['v1', 'v3']) {
    const tok = Tokenizer.fromFile(path.join(shared, v, 'tokenizer.json'));
    const ids = [];
    for (const t of texts) {
      const e = await tok.encode(t, null, { addSpecialTokens: false });
      ids.push(Array.from(e.getIds()));
    }
    // Random id sequences: decode with and without special tokens (exercises partial UTF-8 and U+FFFD).
    const decodes = [];
    for (let i = 0; i < 400; i++) {
      const n = 1 + randInt(16);
      const seq = [];
      for (let k = 0; k < n; k++) seq.push(rand() < 0.1 ? randInt(40) : randInt(6400));
      decodes.push({ ids: seq, text: await tok.decode(seq, false), skip: await tok.decode(seq, true) });
    }
    out.tokenizers[v] = { ids, decodes };
    console.log(`${v}: ${texts.length} texts, ${ids.reduce((a, x) => a + x.length, 0)} ids`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const gz = zlib.gzipSync(Buffer.from(JSON.stringify(out), 'utf8'), { level: 9 });
  fs.writeFileSync(path.join(outDir, 'reference.json.gz'), gz);
  console.log(`wrote ${path.join(outDir, 'reference.json.gz')} (${gz.length} bytes)`);
}
main().catch((e) => { console.error(e); process.exit(1); });
