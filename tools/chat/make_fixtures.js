// Writes tests/fixtures/chat/templates.json: every case of cases.json rendered by @huggingface/jinja (the
// renderer of transformers.js) and by Python jinja2 configured as HF transformers (render_cases.py, the
// reference where the two differ), plus the token ids of the reference text from HF's Rust tokenizers (npm
// `tokenizers`) for the v1/v3 templates; then tests/fixtures/chat/sft_labels.json: MiniMind's own SFTDataset and
// DPODataset code run on sft_rows.jsonl/dpo_rows.jsonl (sft_labels_ref.py) with those ids.
// Needs Debian's python3 with python3-jinja2 and python3-torch (MM_PYTHON overrides /usr/bin/python3) and
// MiniMind's git mirror (MM_MINIMIND_MIRROR, default /work/.mirror/jingyaogong+minimind/repo).
// Usage: cd tools/chat && npm install && node make_fixtures.js [shared/minimind]
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const { Template } = require("@huggingface/jinja");
const { Tokenizer } = require("tokenizers");

const root = path.resolve(__dirname, "..", "..");
const shared = process.argv[2] || path.resolve(root, "..", "shared", "minimind");
const fixtures = path.join(root, "tests", "fixtures", "chat");
const cases = JSON.parse(fs.readFileSync(path.join(fixtures, "cases.json"), "utf8")).cases;
const py = process.env.MM_PYTHON || "/usr/bin/python3";
const mirror = process.env.MM_MINIMIND_MIRROR || "/work/.mirror/jingyaogong+minimind/repo";
const python = JSON.parse(execFileSync(py, [path.join(__dirname, "render_cases.py"), shared], { encoding: "utf8", maxBuffer: 1 << 26 }));

function specialTokens(cfg) {
  const out = {};
  for (const k of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    let v = cfg[k];
    if (v && typeof v === "object") v = v.content;
    if (v != null) out[k] = v;
  }
  if (cfg.additional_special_tokens && cfg.additional_special_tokens.length) out.additional_special_tokens = cfg.additional_special_tokens;
  return out;
}

async function main() {
  const templates = {};
  const tokenizers = {};
  for (const v of ["v1", "v3"]) {
    const cfg = JSON.parse(fs.readFileSync(path.join(shared, v, "tokenizer_config.json"), "utf8"));
    templates[v] = { tpl: new Template(cfg.chat_template), special: specialTokens(cfg) };
    tokenizers[v] = await Tokenizer.fromFile(path.join(shared, v, "tokenizer.json"));
  }
  templates.builtin = { tpl: new Template(fs.readFileSync(path.join(fixtures, "builtin.jinja"), "utf8")), special: { bos_token: "<|im_start|>", eos_token: "<|im_end|>" } };

  const out = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const py = python[i];
    if (py.name !== c.name) throw new Error(`python output out of order at ${c.name}`);
    let js;
    try {
      if (c.template_source !== undefined) js = { text: new Template(c.template_source).render(c.vars) };
      else {
        const t = templates[c.template];
        js = { text: t.tpl.render({ ...t.special, ...c.kwargs, messages: c.messages, tools: c.tools, documents: null, add_generation_prompt: c.add_generation_prompt }) };
      }
    } catch (e) {
      js = { error: String(e.message || e) };
    }
    const entry = { name: c.name, python: py.text ?? null, python_error: py.error ?? null, hf_jinja: js.text ?? null, hf_jinja_error: js.error ?? null };
    entry.same = entry.python === entry.hf_jinja && (entry.python_error === null) === (entry.hf_jinja_error === null);
    if (py.text !== undefined && tokenizers[c.template]) {
      const enc = await tokenizers[c.template].encode(py.text, null, { addSpecialTokens: false });
      entry.ids = Array.from(enc.getIds());
    }
    out.push(entry);
  }
  fs.writeFileSync(path.join(fixtures, "templates.json"), JSON.stringify({ generator: "@huggingface/jinja 0.5.11 + python3 jinja2 (render_cases.py) + tokenizers 0.23.2", cases: out }, null, 1) + "\n");
  // MiniMind's SFT/DPO datasets: collect every text they tokenize, encode with HF tokenizers, compute the labels.
  const labelsRef = path.join(__dirname, "sft_labels_ref.py");
  const texts = JSON.parse(execFileSync(py, [labelsRef, "texts", shared, mirror], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const ids = {};
  for (const t of texts) ids[t] = Array.from((await tokenizers.v3.encode(t, null, { addSpecialTokens: false })).getIds());
  const idsPath = path.join(require("os").tmpdir(), `minimind-chat-ids-${process.pid}.json`);
  fs.writeFileSync(idsPath, JSON.stringify(ids));
  execFileSync(py, [labelsRef, "labels", shared, mirror, idsPath], { stdio: "inherit" });
  fs.unlinkSync(idsPath);
  for (const e of out) if (!e.same) console.log(`differs: ${e.name}\n  python:   ${JSON.stringify(e.python ?? e.python_error)}\n  hf_jinja: ${JSON.stringify(e.hf_jinja ?? e.hf_jinja_error)}`);
}
main();
