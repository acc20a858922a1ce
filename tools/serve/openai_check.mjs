// Drives `minimind serve` with the official OpenAI JS SDK (npm openai) and prints what it got as one JSON object.
// Usage: node openai_check.mjs BASE_URL PROMPTS_JSON MAX_TOKENS [API_KEY]
//   models: client.models.list(); solo: each prompt alone, non-streamed then streamed (stream_options.include_usage),
//   temperature 0; concurrent: every prompt streamed at once, with wall time and aggregate tokens/s.
import OpenAI from "openai";

const [baseURL, promptsJson, maxTokens, apiKey] = process.argv.slice(2);
const prompts = JSON.parse(promptsJson);
const client = new OpenAI({ baseURL, apiKey: apiKey || "none", maxRetries: 0 });
const ask = (p, extra) => ({ model: "minimind", messages: [{ role: "user", content: p }], temperature: 0, max_tokens: Number(maxTokens), ...extra });

async function streamed(p) {
  const stream = await client.chat.completions.create(ask(p, { stream: true, stream_options: { include_usage: true } }));
  let content = "", reasoning = "", finish = null, usage = null, chunks = 0, toolCalls = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta.content) content += c.delta.content;
    if (c.delta.reasoning_content) reasoning += c.delta.reasoning_content;
    if (c.delta.tool_calls) toolCalls = c.delta.tool_calls;
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { content, reasoning, finish, usage, chunks, toolCalls };
}

const out = { models: (await client.models.list()).data.map(m => m.id), solo: [], concurrent: null };
for (const p of prompts) {
  const r = await client.chat.completions.create(ask(p));
  const c = r.choices[0];
  out.solo.push({ content: c.message.content, finish: c.finish_reason, usage: r.usage, toolCalls: c.message.tool_calls ?? null,
                  streamed: await streamed(p) });
}
const t0 = performance.now();
const all = await Promise.all(prompts.map(streamed));
const seconds = (performance.now() - t0) / 1000;
const tokens = all.reduce((n, r) => n + r.usage.completion_tokens, 0);
out.concurrent = { replies: all, seconds, tokens, tokensPerSecond: tokens / seconds };
console.log(JSON.stringify(out));
