using System.Text.Json;
using System.Text.Json.Nodes;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// More of <c>minimind serve</c>'s API through the official OpenAI JS SDK (tools/serve/openai_requests.mjs):
/// <c>POST /v1/completions</c> at temperature 0 equals <c>minimind generate --greedy</c> on the same plain prompt, streamed
/// and not; <c>serve --lora A.pth</c> answers as <c>generate --chat --greedy</c> on the model <c>convert --merge-lora</c>
/// writes; a model that answers with a <c>&lt;tool_call&gt;</c> (trained here, with <c>minimind train --stage sft</c>, on
/// one conversation until it repeats it) gets its call parsed by the SDK into <c>tool_calls</c>, streamed and not.
/// </summary>
public sealed class ServeApiTests(ServeModels models) : IClassFixture<ServeModels>
{
    private const int MaxTokens = 24;

    private static JsonElement[] Sdk(string baseUrl, JsonArray requests, string serverLog)
    {
        TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("serve", "openai"),
            "npm openai is not installed (cd tools/serve && npm install; .ci/run does this): the OpenAI SDK check is skipped");
        var (code, stdout, stderr) = TestEnvironment.RunNode("serve", new[] { "openai_requests.mjs", baseUrl + "/v1", requests.ToJsonString() });
        Assert.True(code == 0, stderr + "\n" + serverLog);
        return JsonDocument.Parse(stdout).RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static JsonObject Body(string key, string value, bool stream) => new()
    {
        ["model"] = "m", [key] = key == "prompt" ? value : new JsonArray(new JsonObject { ["role"] = "user", ["content"] = value }),
        ["temperature"] = 0, ["max_tokens"] = MaxTokens, ["stream"] = stream,
        ["stream_options"] = stream ? new JsonObject { ["include_usage"] = true } : null,
    };

    [SkippableFact]
    public void Completions_GreedyTextEqualsGenerate_StreamedAndNot()
    {
        var prompts = new[] { "hello world", "1, 2, 3, 4,", "从前有座山" };
        using var server = ServeProcess.Start("--weights", models.Fast);
        var requests = new JsonArray();
        foreach (var p in prompts)
        {
            requests.Add(new JsonObject { ["api"] = "completions", ["body"] = Body("prompt", p, stream: false) });
            requests.Add(new JsonObject { ["api"] = "completions", ["body"] = Body("prompt", p, stream: true) });
        }
        var got = Sdk(server.BaseUrl, requests, server.Output);
        for (int i = 0; i < prompts.Length; i++)
        {
            string want = ServeTests.GenerateGreedy(models.Fast, prompts[i], MaxTokens);
            Assert.False(string.IsNullOrEmpty(want), $"generate replied nothing to '{prompts[i]}': the comparison would be empty");
            var (whole, streamed) = (got[2 * i], got[2 * i + 1]);
            Assert.Equal("text_completion", whole.GetProperty("object").GetString());
            Assert.Equal(want, whole.GetProperty("text").GetString());
            Assert.Equal(want, streamed.GetProperty("text").GetString());
            Assert.Equal(whole.GetProperty("finish").GetString(), streamed.GetProperty("finish").GetString());
            Assert.Equal(whole.GetProperty("usage").GetRawText(), streamed.GetProperty("usage").GetRawText());
            // bos + the text's bytes (the byte tokenizer): the prompt as generate --prompt feeds it
            Assert.Equal(1 + System.Text.Encoding.UTF8.GetByteCount(prompts[i]), whole.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
            int completion = whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
            Assert.True(whole.GetProperty("finish").GetString() == "length" ? completion == MaxTokens : completion < MaxTokens,
                $"{whole.GetProperty("finish")} after {completion} tokens");
        }
    }

    [SkippableFact]
    public void ServeWithLora_AnswersAsTheMergedModel()
    {
        string dir = TestEnvironment.NewTempDir("serve-lora");
        try
        {
            string lora = TinyModels.WriteLora(Path.Combine(dir, "lora_test_64.pth"), models.FastConfig);
            string merged = Path.Combine(dir, "merged.pth");
            var (code, _, stderr) = CliProcess.Exec(null, "convert", models.Fast, merged, "--merge-lora", lora);
            Assert.True(code == 0, stderr);

            var prompts = new[] { "hi", "what is 2 + 3?" };
            using var server = ServeProcess.Start("--weights", models.Fast, "--lora", lora);
            Assert.Contains($"merged 4 LoRA pairs from {lora}", server.Output);
            var requests = new JsonArray();
            foreach (var p in prompts)
            {
                requests.Add(new JsonObject { ["api"] = "chat", ["body"] = Body("messages", p, stream: false) });
                requests.Add(new JsonObject { ["api"] = "chat", ["body"] = Body("messages", p, stream: true) });
            }
            var got = Sdk(server.BaseUrl, requests, server.Output);
            bool changed = false;
            for (int i = 0; i < prompts.Length; i++)
            {
                string want = ServeTests.GenerateGreedy(merged, prompts[i], MaxTokens, "--chat");
                Assert.Equal(want.Trim(), got[2 * i].GetProperty("content").GetString());  // non-streamed: stripped (parse_response)
                Assert.Equal(want, got[2 * i + 1].GetProperty("content").GetString());
                changed |= want != ServeTests.GenerateGreedy(models.Fast, prompts[i], MaxTokens, "--chat");
            }
            Assert.True(changed, "the adapter changed no reply: the test would not see a LoRA that was ignored");
        }
        finally { Directory.Delete(dir, true); }
    }

    private static readonly JsonArray WeatherTools = JsonNode.Parse("""
        [{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        """)!.AsArray();

    [SkippableFact]
    public void AToolCallReply_IsParsedByTheSdkIntoToolCalls_StreamedAndNot()
    {
        TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("serve", "openai"),
            "npm openai is not installed (cd tools/serve && npm install; .ci/run does this): the OpenAI SDK check is skipped");
        string dir = TestEnvironment.NewTempDir("serve-tool");
        try
        {
            // MiniMind's SFT tool-use row: the tools on the system message, the assistant's reply a <tool_call> block
            const string question = "What is the weather in Paris?";
            var conversation = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "", ["tools"] = WeatherTools.ToJsonString() },
                new JsonObject { ["role"] = "user", ["content"] = question },
                new JsonObject { ["role"] = "assistant", ["content"] = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>" });
            File.WriteAllText(Path.Combine(dir, "tool.jsonl"), new JsonObject { ["conversations"] = conversation }.ToJsonString() + "\n");
            // (the byte tokenizer's built-in ChatML template renders neither tools nor think blocks: the model learns the
            // question -> the call; a MiniMind tokenizer's template would put the tools in the system turn)
            var (code, output) = CliProcess.Run("train", "--stage", "sft", "--device", "cpu", "--data", Path.Combine(dir, "tool.jsonl"), "--tokenizer", "byte",
                "--from-weight", "none", "--arch", "minimind3", "--dim", "64", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--vocab-size", "259",
                "--max-seq-len", "640", "--batch-size", "1", "--epochs", "120", "--learning-rate", "3e-3", "--add-system-ratio", "0",
                "--log-interval", "20", "--save-interval", "100000", "--out-dir", dir);
            Assert.True(code == 0, output);

            using var server = ServeProcess.Start("--weights", Path.Combine(dir, "full_sft_64.pth"));
            JsonObject Ask(bool stream) => new()
            {
                ["model"] = "m", ["temperature"] = 0, ["max_tokens"] = 120, ["stream"] = stream, ["tools"] = WeatherTools.DeepClone(),
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "" }, new JsonObject { ["role"] = "user", ["content"] = question }),
            };
            var got = Sdk(server.BaseUrl, new JsonArray(
                new JsonObject { ["api"] = "chat", ["body"] = Ask(false) }, new JsonObject { ["api"] = "chat", ["body"] = Ask(true) }), server.Output);
            foreach (var r in got)
            {
                Assert.True(r.GetProperty("finish").GetString() == "tool_calls", $"{r}\n{output}");
                var calls = r.GetProperty("toolCalls");
                Assert.Equal(1, calls.GetArrayLength());
                var call = calls[0];
                Assert.StartsWith("call_", call.GetProperty("id").GetString());
                Assert.Equal("function", call.GetProperty("type").GetString());
                Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
                // arguments: a JSON string, as OpenAI sends them (Python's json.dumps spacing, as MiniMind's server writes them)
                Assert.Equal("""{"city": "Paris"}""", call.GetProperty("function").GetProperty("arguments").GetString());
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
