using System.Net;
using System.Text;
using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>Two small random-weight models for the server tests (a file that records its architecture and the byte
/// tokenizer, as the trainer writes): a fast one, and one with a 4,096-token context whose replies last long enough to
/// be cut by a client, a full queue or SIGTERM.</summary>
public sealed class ServeModels : IDisposable
{
    public string Dir { get; } = ModelTestPaths.TempDir();
    public string Fast { get; }
    public string Long { get; }
    /// <summary>The architecture of <see cref="Fast"/>.</summary>
    public ModelConfig FastConfig { get; } = ModelConfig.Preset("minimind3") with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 256 };

    public ServeModels()
    {
        Fast = Write("fast.pth", FastConfig, 3);
        Long = Write("long.pth", ModelConfig.Preset("minimind3") with { Dim = 128, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 4096 }, 4);
    }

    private string Write(string name, ModelConfig c, int seed)
    {
        using var be = new CpuBackend();
        using var m = MiniMindModel.Create(c, be, 1, 8);
        m.InitRandom(seed);
        var path = Path.Combine(Dir, name);
        PthWriter.WriteStateDict(path, ArchitectureRecord.Attach(m.ExportStateDict(), c, "byte"));
        return path;
    }

    public void Dispose() => Directory.Delete(Dir, true);
}

/// <summary>
/// <c>minimind serve</c> through real clients: the official OpenAI JS SDK (tools/serve/openai_check.mjs) and raw HTTP.
/// Greedy replies equal <c>minimind generate --chat --greedy</c>, streamed and not; 16 concurrent streams each equal
/// their solo reply; every bad input gets its status and an OpenAI-style JSON error; a client that leaves frees its slot;
/// SIGTERM during a stream lets it finish and exits 0.
/// </summary>
public sealed class ServeTests(ServeModels models) : IClassFixture<ServeModels>
{
    private const int MaxTokens = 24;

    private static void RequireSdk() => TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("serve", "openai"),
        "npm openai is not installed (cd tools/serve && npm install; .ci/run does this): the OpenAI SDK check is skipped");

    // `generate --chat --greedy`: the reply as the terminal prints it (stdout minus its final newline).
    private static string Generate(string weights, string prompt) => GenerateGreedy(weights, prompt, MaxTokens, "--chat");

    /// <summary><c>minimind generate --weights W --greedy --prompt P --max-new-tokens N EXTRA</c>: the text as the terminal
    /// prints it (stdout minus its final newline), the reference a served greedy reply is compared with.</summary>
    internal static string GenerateGreedy(string weights, string prompt, int maxTokens, params string[] extra)
    {
        var (code, stdout, stderr) = CliProcess.Exec(null, new[] { "generate", "--weights", weights, "--greedy", "--prompt", prompt, "--max-new-tokens", maxTokens.ToString() }.Concat(extra).ToArray());
        Assert.True(code == 0, stderr);
        Assert.EndsWith("\n", stdout);
        return stdout[..^1];
    }

    [SkippableFact]
    public void OpenAiSdk_GreedyRepliesEqualGenerate_AndSixteenConcurrentStreamsEqualTheirSoloReplies()
    {
        RequireSdk();
        var prompts = Enumerable.Range(0, 16).Select(i => i switch
        {
            0 => "hi", 1 => "what is 2 + 3?", 2 => "你好，介绍一下你自己", _ => $"question {i}: " + new string((char)('a' + i), i * 3),
        }).ToArray();
        using var server = ServeProcess.Start("--weights", models.Fast, "--max-batch", "16");
        var (code, stdout, stderr) = TestEnvironment.RunNode("serve", new[] { "openai_check.mjs", server.BaseUrl + "/v1", JsonSerializer.Serialize(prompts), MaxTokens.ToString() });
        Assert.True(code == 0, stderr + "\n" + server.Output);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal(new[] { "fast" }, r.GetProperty("models").EnumerateArray().Select(m => m.GetString()));

        var solo = r.GetProperty("solo").EnumerateArray().ToArray();
        var concurrent = r.GetProperty("concurrent").GetProperty("replies").EnumerateArray().ToArray();
        for (int i = 0; i < prompts.Length; i++)
        {
            var s = solo[i];
            var streamed = s.GetProperty("streamed");
            // MiniMind's server strips a non-streamed reply (parse_response) and streams the text as it comes
            if (i % 5 == 0)
            {
                string want = Generate(models.Fast, prompts[i]);
                Assert.Equal(want.Trim(), s.GetProperty("content").GetString());
                Assert.Equal(want, streamed.GetProperty("content").GetString());
            }
            else Assert.Equal(streamed.GetProperty("content").GetString()!.Trim(), s.GetProperty("content").GetString());
            Assert.Equal(s.GetProperty("finish").GetString(), streamed.GetProperty("finish").GetString());
            Assert.Contains(s.GetProperty("finish").GetString(), new[] { "stop", "length" });
            var usage = s.GetProperty("usage");
            Assert.Equal(usage.GetRawText(), streamed.GetProperty("usage").GetRawText());
            Assert.True(usage.GetProperty("completion_tokens").GetInt32() is > 0 and <= MaxTokens);
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
            // the same request among 15 others running at once: the same reply, token for token
            Assert.Equal(streamed.GetProperty("content").GetString(), concurrent[i].GetProperty("content").GetString());
            Assert.Equal(streamed.GetProperty("usage").GetRawText(), concurrent[i].GetProperty("usage").GetRawText());
            Assert.Equal(streamed.GetProperty("finish").GetString(), concurrent[i].GetProperty("finish").GetString());
        }
        var c = r.GetProperty("concurrent");
        Console.WriteLine($"16 concurrent streams: {c.GetProperty("tokens").GetInt32()} tokens in {c.GetProperty("seconds").GetDouble():F2} s = {c.GetProperty("tokensPerSecond").GetDouble():F0} tokens/s");
    }

    // No drain: a response disposed mid-stream closes its connection, as a closed browser tab does. By default .NET reads
    // up to 1 MB of the rest to reuse the connection, which on a fast machine is the whole stream, so the server never saw a client leave.
    private static HttpClient Client(string baseUrl) =>
        new(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromMinutes(5) };

    private static async Task<(HttpStatusCode Status, JsonElement Error)> Refused(HttpClient http, string path, string body, string? key = null)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null) req.Headers.Authorization = new("Bearer", key);
        using var res = await http.SendAsync(req);
        Assert.StartsWith("application/json", res.Content.Headers.ContentType?.ToString());
        var json = JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.Clone();
        var error = json.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.DoesNotContain("   at ", error.GetProperty("message").GetString()); // never a stack trace
        return (res.StatusCode, error);
    }

    private static string Chat(string content, string extra = "") => $$"""{"model": "m", "messages": [{"role": "user", "content": {{JsonSerializer.Serialize(content)}}}]{{extra}}}""";

    [Fact]
    public async Task BadInput_GetsItsStatusAndAnOpenAiError_AndTheApiKeyIsEnforced()
    {
        using var server = ServeProcess.Start("--weights", models.Fast, "--api-key", "sk-test", "--max-body-kb", "64");
        using var http = Client(server.BaseUrl);
        const string C = "/v1/chat/completions";
        Assert.Equal(HttpStatusCode.Unauthorized, (await Refused(http, C, Chat("hi"))).Status);
        var wrong = await Refused(http, C, Chat("hi"), "sk-wrong");
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_api_key"), (wrong.Status, wrong.Error.GetProperty("code").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode); // health checks need no key

        var cases = new (string Body, HttpStatusCode Status, string? Param)[]
        {
            ("{not json", HttpStatusCode.BadRequest, null),
            ("[1, 2]", HttpStatusCode.BadRequest, null),
            ("""{"model": "m"}""", HttpStatusCode.BadRequest, "messages"),
            ("""{"model": "m", "messages": []}""", HttpStatusCode.BadRequest, "messages"),
            ("""{"model": "m", "messages": [{"role": "robot", "content": "hi"}]}""", HttpStatusCode.BadRequest, "messages[0].role"),
            ("""{"model": "m", "messages": [{"content": "hi"}]}""", HttpStatusCode.BadRequest, "messages[0].role"),
            (Chat("hi", ", \"temperature\": \"hot\""), HttpStatusCode.BadRequest, "temperature"),
            (Chat("hi", ", \"top_p\": 0"), HttpStatusCode.BadRequest, "top_p"),
            (Chat("hi", ", \"max_tokens\": 0"), HttpStatusCode.BadRequest, "max_tokens"),
            (Chat("hi", ", \"max_tokens\": 250"), HttpStatusCode.BadRequest, "max_tokens"),     // + the prompt > the 256-token context
            (Chat("hi", ", \"stop\": 5"), HttpStatusCode.BadRequest, "stop"),
            (Chat("hi", ", \"n\": 2"), HttpStatusCode.BadRequest, "n"),
            (Chat(new string('x', 300)), HttpStatusCode.RequestEntityTooLarge, "messages"),   // a prompt over the context
            (Chat(new string('x', 70_000)), HttpStatusCode.RequestEntityTooLarge, null),      // a body over --max-body-kb 64
        };
        foreach (var (body, status, param) in cases)
        {
            var (got, error) = await Refused(http, C, body, "sk-test");
            Assert.True(status == got, $"{body[..Math.Min(80, body.Length)]}: {got} {error}");
            if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
        }
        Assert.Equal("context_length_exceeded", (await Refused(http, C, Chat("hi", ", \"max_tokens\": 250"), "sk-test")).Error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Refused(http, "/v1/embeddings", "{}", "sk-test")).Status);

        // with the key: served; the raw stream is OpenAI's SSE (data: lines, a usage chunk, [DONE])
        using var req = new HttpRequestMessage(HttpMethod.Post, C) { Content = new StringContent(Chat("hi", ", \"stream\": true, \"max_tokens\": 8, \"stream_options\": {\"include_usage\": true}")) };
        req.Headers.Authorization = new("Bearer", "sk-test");
        using var res = await http.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.StartsWith("text/event-stream", res.Content.Headers.ContentType!.ToString());
        var events = (await res.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var usage = JsonDocument.Parse(events[^2][6..]).RootElement;
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        int tokens = usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        string? finish = JsonDocument.Parse(events[^3][6..]).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString();
        Assert.True(finish == "length" ? tokens == 8 : finish == "stop" && tokens is > 0 and < 8, $"{finish} after {tokens} tokens");
    }

    private static async Task<JsonElement> Health(HttpClient http) => JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement.Clone();

    private static async Task WaitFor(HttpClient http, Func<JsonElement, bool> ok, string what)
    {
        for (int i = 0; i < 600; i++)
        {
            if (ok(await Health(http))) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the server never reached: {what} ({await Health(http)})");
    }

    // Starts a long streamed reply and returns once its first token arrived (the response open, being read).
    private static async Task<(HttpResponseMessage Res, StreamReader Reader)> OpenStream(HttpClient http, int maxTokens)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Chat("tell me a long story", $", \"stream\": true, \"max_tokens\": {maxTokens}, \"temperature\": 0")) };
        var res = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var reader = new StreamReader(await res.Content.ReadAsStreamAsync());
        return (res, reader);
    }

    private static async Task ReadUntilContent(StreamReader reader)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
            if (line.Contains("\"content\":\"") && !line.Contains("\"content\":\"\"")) return;
        throw new InvalidOperationException("the stream ended before its first token");
    }

    [Fact]
    public async Task AFullQueueGets429_AndAClientThatLeavesFreesItsSlot()
    {
        using var server = ServeProcess.Start("--weights", models.Long, "--max-batch", "1", "--max-queue", "1");
        using var http = Client(server.BaseUrl);
        var (a, ar) = await OpenStream(http, 4000);   // runs (the one slot)
        await ReadUntilContent(ar);
        var (b, br) = await OpenStream(http, 4000);   // waits
        await WaitFor(http, h => h.GetProperty("queued").GetInt32() == 1, "one request queued");
        var (status, error) = await Refused(http, "/v1/chat/completions", Chat("hi"));
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());

        a.Dispose();                                  // the running client leaves: its slot goes to the queued one
        await ReadUntilContent(br);
        b.Dispose();
        await WaitFor(http, h => h.GetProperty("running").GetInt32() == 0 && h.GetProperty("queued").GetInt32() == 0, "both slots freed");
        var served = await http.PostAsync("/v1/chat/completions", new StringContent(Chat("hi", ", \"max_tokens\": 4")));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.True(server.Printed("the client went away"), server.Output);
    }

    [Fact]
    public async Task Sigterm_DuringAStream_LetsItFinish_AndExitsZero()
    {
        using var server = ServeProcess.Start("--weights", models.Long);
        using var http = Client(server.BaseUrl);
        // Long enough that the signal lands mid-stream on a loaded machine: at 300 tokens this tiny model could finish the
        // stream before the server handled SIGTERM, which then had no request in flight to report (a CI flake).
        var (res, reader) = await OpenStream(http, 3000);
        await ReadUntilContent(reader);
        server.Terminate();
        var rest = await reader.ReadToEndAsync();
        res.Dispose();
        var events = rest.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1].Trim());
        var last = JsonDocument.Parse(events[^2].Trim()[6..]).RootElement;
        Assert.Contains(last.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.Equal(0, server.WaitForExit(120));
        Assert.Contains("finishing 1 request(s) in flight", server.Output);
        Assert.Contains("serve: stopped", server.Output);
    }

    [Fact]
    public void BenchServe_RunsEveryLevel_AndEveryRequestGeneratesItsTokens()
    {
        // a request that streams fewer tokens than asked (ignore_eos not honoured, a cut stream) fails the bench
        var (code, stdout, stderr) = CliProcess.Exec(null, "bench", "serve", "--dim", "64", "--n-layers", "1", "--n-heads", "4", "--n-kv-heads", "2",
            "--vocab-size", "259", "--clients", "1,3", "--requests", "2", "--prompt-tokens", "16", "--new-tokens", "12", "--device", "cpu");
        Assert.True(code == 0, stderr + stdout);
        Assert.Matches(@"clients   1: 2 requests, 24 tokens in [0-9.]+ s = [0-9.]+ tokens/s aggregate .*time to first token p50 \d+ ms, p99 \d+ ms", stdout);
        Assert.Matches(@"clients   3: 6 requests, 72 tokens in ", stdout);
        Assert.Matches(@"^speedup: [0-9]+\.[0-9]{2}$", stdout.TrimEnd('\n').Split('\n')[^1]);
    }
}
