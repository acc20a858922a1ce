// Loads a GGUF in real llama.cpp (npm node-llama-cpp's prebuilt CPU build) and prints its greedy continuation.
//   node tools/gguf/greedy.mjs MODEL.gguf PROMPT N
// Output (one JSON line): {"prompt_ids": [bos, ...llama.cpp's tokens of PROMPT], "generated": [N ids]}
// The bos is prepended explicitly (MiniMind's tokenizer_config has add_bos_token false; `minimind generate` adds it).
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [, , modelPath, prompt, nText] = process.argv;
if (!modelPath || prompt === undefined || !nText) {
    console.error("usage: node greedy.mjs MODEL.gguf PROMPT N");
    process.exit(2);
}
const n = Number(nText);
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 2 });
const sequence = context.getSequence();
const input = [model.tokens.bos, ...model.tokenize(prompt, false)];
const generated = [];
for await (const token of sequence.evaluate(input, { temperature: 0 })) {
    generated.push(token);
    if (generated.length >= n) break;
}
console.log(JSON.stringify({ prompt_ids: input, generated }));
await context.dispose();
await model.dispose();
await llama.dispose();
