// Sends a list of requests to `minimind serve` with the official OpenAI JS SDK (npm openai) and prints, as one JSON
// array, what the SDK made of each answer: the text / content / reasoning / parsed tool_calls, finish_reason and usage.
// Usage: node openai_requests.mjs BASE_URL REQUESTS_JSON
//   REQUESTS_JSON: [{"api": "completions" | "chat", "body": {...the create() parameters, stream or not...}}, ...]
// Streamed chat tool calls are assembled from their deltas by the SDK's own helper (chat.completions.stream(...)
// .finalChatCompletion()), as an agent framework would; streamed text is concatenated here.
import OpenAI from "openai";

const [baseURL, requestsJson] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "none", maxRetries: 0 });

async function one({ api, body }) {
  if (api === "completions") {
    if (!body.stream) {
      const r = await client.completions.create(body);
      return { text: r.choices[0].text, finish: r.choices[0].finish_reason, usage: r.usage, object: r.object };
    }
    let text = "", finish = null, usage = null;
    for await (const chunk of await client.completions.create(body)) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      text += c.text ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
    return { text, finish, usage };
  }
  if (!body.stream) {
    const r = await client.chat.completions.create(body);
    const c = r.choices[0];
    return { content: c.message.content, reasoning: c.message.reasoning_content ?? null, toolCalls: c.message.tool_calls ?? null,
             finish: c.finish_reason, usage: r.usage, object: r.object };
  }
  // the SDK's stream helper accumulates content and tool-call deltas into a final ChatCompletion
  const { stream, ...rest } = body;
  const runner = client.chat.completions.stream(rest);
  let reasoning = "";
  runner.on("chunk", chunk => { const d = chunk.choices[0]?.delta; if (d?.reasoning_content) reasoning += d.reasoning_content; });
  const r = await runner.finalChatCompletion();
  const c = r.choices[0];
  return { content: c.message.content, reasoning, toolCalls: c.message.tool_calls ?? null, finish: c.finish_reason, usage: r.usage ?? null };
}

const out = [];
for (const req of JSON.parse(requestsJson)) out.push(await one(req));
console.log(JSON.stringify(out));
