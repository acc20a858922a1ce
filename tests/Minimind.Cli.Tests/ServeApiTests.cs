using System.Text.Json;
using System.Text.Json.Nodes;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// More of <c>minimind serve</c>'s API through the official OpenAI JS SDK (tools/serve/openai_requests.mjs):
/// <c>POST /v1/completions</c> at temperature 0 equals <c>minimind generate --greedy</c> on the same plain prompt, streamed
/// and not; <c>serve --lora A.pth</c> answers as <c>generate --chat --greedy</c> on the model <c>convert --merge-lora</c>
/// writes.
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
}
