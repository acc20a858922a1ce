using System.Text.Json;
using Minimind.Training.Tests;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The chat page at <c>/</c> of <c>minimind serve</c> in a real headless Chromium (Debian's chromium, driven by npm
/// puppeteer-core through tools/serve/chat_page_check.mjs): a message typed and sent with Enter at temperature 0 streams
/// back the reply <c>minimind generate --chat --greedy</c> prints for the same prompt; with the thinking toggle on, the
/// reasoning is shown folded and equals the think part of <c>generate --chat --greedy --open-thinking</c>. The page also
/// shows the model's name and tokens/s. Screenshots go to test-output/serve-chat-page (paths printed).
/// </summary>
public sealed class ServeChatPageTests(ServeModels models) : IClassFixture<ServeModels>
{
    private const int MaxTokens = 40;
    private static readonly string Chromium = Environment.GetEnvironmentVariable("MM_CHROMIUM") ?? "/usr/bin/chromium";

    private static void RequireBrowser()
    {
        TestEnvironment.RequireTool(File.Exists(Chromium),
            $"no Chromium at {Chromium} (apt-get install chromium; .ci/run does this; MM_CHROMIUM names another): the chat page's browser check is skipped");
        TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("serve", "puppeteer-core"),
            "npm puppeteer-core is not installed (cd tools/serve && npm install; .ci/run does this): the chat page's browser check is skipped");
    }

    private static JsonElement Browse(string baseUrl, string screenshot, string message, bool thinking, string serverLog)
    {
        var (code, stdout, stderr) = TestEnvironment.RunNode("serve",
            new[] { "chat_page_check.mjs", baseUrl, screenshot, message, MaxTokens.ToString(), thinking ? "1" : "0", Chromium }, timeoutSeconds: 400);
        Assert.True(code == 0, $"{stderr}\n{stdout}\n{serverLog}");
        var page = JsonDocument.Parse(stdout).RootElement.Clone();
        Assert.True(File.Exists(screenshot), $"no screenshot at {screenshot}");
        var png = PngImage.Decode(File.ReadAllBytes(screenshot));
        Assert.True(png.Width >= 1000 && png.Height >= 700, $"screenshot {png.Width}x{png.Height}");
        Console.WriteLine($"chat page screenshot: {screenshot}");
        return page;
    }

    // The page's common furniture: the model's name from /v1/models, the toggle, tokens/s, no script errors, the
    // reply asked for and served as a stream.
    private static void AssertPage(JsonElement page, string message, bool thinking)
    {
        Assert.True(page.GetProperty("errors").GetArrayLength() == 0, $"the page logged errors: {page.GetProperty("errors")}");
        Assert.False(page.GetProperty("error").GetBoolean(), page.GetProperty("answer").GetString());
        Assert.Equal("fast", page.GetProperty("model").GetString());
        Assert.Equal(message, page.GetProperty("user").GetString());
        Assert.True(page.GetProperty("thinkingToggle").GetBoolean());
        Assert.Equal(thinking, page.GetProperty("thinkingChecked").GetBoolean());
        Assert.Matches(@"^\d+ tokens in \d+\.\d\d s · \d+\.\d tokens/s · first token \d+ ms$", page.GetProperty("stats").GetString());
        // streamed: the page asks for an SSE stream and gets one (its renders per chunk depend on the machine's timing)
        Assert.True(page.GetProperty("streamRequested").GetBoolean(), "the page did not ask for stream: true");
        Assert.True(page.GetProperty("eventStream").GetBoolean(), "the reply was not served as text/event-stream");
        Assert.True(page.GetProperty("sendEnabled").GetBoolean());
    }

    [SkippableFact]
    public void ATypedMessage_StreamsBackTheGreedyReply_WithTheThinkingToggleAndFoldedReasoning()
    {
        RequireBrowser();
        string dir = TestEnvironment.OutputDir("serve-chat-page");
        using var server = ServeProcess.Start("--weights", models.Fast);

        const string message = "what is 2 + 3?";
        var plain = Browse(server.BaseUrl, Path.Combine(dir, "reply.png"), message, thinking: false, server.Output);
        AssertPage(plain, message, thinking: false);
        string want = ServeTests.GenerateGreedy(models.Fast, message, MaxTokens, "--chat");
        Assert.False(string.IsNullOrEmpty(want));
        Assert.Equal(want, plain.GetProperty("answer").GetString());
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("reasoning").ValueKind); // no think block without the toggle

        // thinking on: the generation prompt opens a think block; what comes before </think> is reasoning, shown folded
        var thought = Browse(server.BaseUrl, Path.Combine(dir, "reply-thinking.png"), message, thinking: true, server.Output);
        AssertPage(thought, message, thinking: true);
        string raw = ServeTests.GenerateGreedy(models.Fast, message, MaxTokens, "--chat", "--open-thinking");
        int end = raw.IndexOf("</think>", StringComparison.Ordinal);
        string reasoning = end < 0 ? raw : raw[..end];
        string content = end < 0 ? "" : raw[(end + "</think>".Length)..].TrimStart('\n');
        Assert.False(string.IsNullOrEmpty(reasoning));
        Assert.Equal(reasoning, thought.GetProperty("reasoning").GetString());
        Assert.True(thought.GetProperty("reasoningFolded").GetBoolean());
        Assert.Equal("reasoning", thought.GetProperty("reasoningSummary").GetString());
        Assert.Equal(content, thought.GetProperty("answer").GetString());
    }
}
