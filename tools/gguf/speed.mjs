// Prefill and decode speed of real llama.cpp (npm node-llama-cpp's prebuilt CPU build) on a GGUF, timed as
// `minimind generate` times itself: the prompt ids are evaluated in one batch and the first token sampled (prefill),
// then N-1 more greedy tokens one at a time (decode). f32 KV cache, as ours.
//   node tools/gguf/speed.mjs MODEL.gguf IDS N [THREADS]
// IDS: comma-separated prompt ids (given as ids so both sides run exactly the same prompt). Output (one JSON line):
// {"prompt_tokens", "first_token_ms", "decode_tokens", "decode_tokens_per_s", "prefill_tokens_per_s", "load_ms",
//  "process_to_first_token_ms"}: load_ms is the library, model and context set-up before the prompt; the last is the
// time from the process's start (process.uptime) to the first token, so no set-up goes unseen.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [, , modelPath, idsText, nText, threadsText] = process.argv;
if (!modelPath || !idsText || !nText) {
    console.error("usage: node speed.mjs MODEL.gguf IDS N [THREADS]");
    process.exit(2);
}
const ids = idsText.split(",").map(Number);
const n = Number(nText);
const threads = Number(threadsText ?? "2");
const loadStart = performance.now();
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({
    contextSize: ids.length + n + 1, batchSize: ids.length, threads,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const sequence = context.getSequence();
const loadMs = performance.now() - loadStart;
let count = 0;
let sinceStartMs = 0;
let firstMs = 0;
const t0 = performance.now();
for await (const token of sequence.evaluate(ids, { temperature: 0 })) {
    if (count === 0) { firstMs = performance.now() - t0; sinceStartMs = process.uptime() * 1000; }
    count++;
    if (count >= n) break;
}
const totalMs = performance.now() - t0;
console.log(JSON.stringify({
    prompt_tokens: ids.length,
    first_token_ms: firstMs,
    decode_tokens: count - 1,
    decode_tokens_per_s: (count - 1) / ((totalMs - firstMs) / 1000),
    prefill_tokens_per_s: ids.length / (firstMs / 1000),
    load_ms: loadMs,
    process_to_first_token_ms: sinceStartMs,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
