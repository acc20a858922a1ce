using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Minimind.Training.Rl;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// <see cref="RewardModelClient"/> against a test HTTP server in this process: the protocol (what is posted, how the
/// answer is read, order, the ±3 clip), and every failure a user can meet — a slow server (timeout), a server that is
/// down, HTTP errors (retried or not), malformed answers — each an error naming the URL and the cause.
/// </summary>
public class RewardModelClientTests
{
    private static readonly RewardModelOptions Fast = new(TimeSpan.FromSeconds(20), Retries: 2, Concurrency: 3, RetryDelay: TimeSpan.FromMilliseconds(10));

    private static RewardRequest Req(string response, params (string Role, string Content)[] messages) =>
        new(messages.Select(m => new RewardMessage(m.Role, m.Content)).ToList(), response);

    [Fact]
    public void PostsMessagesAndResponseAndReadsScoresInOrderClipped()
    {
        using var server = new TestRewardServer();
        // the score is read from what was posted: the response text parsed as a number
        server.Answer = (body, _) =>
        {
            using var d = JsonDocument.Parse(body);
            return (200, $"{{\"score\": {d.RootElement.GetProperty("response").GetString()}, \"extra\": true}}", TimeSpan.Zero);
        };
        using var client = new RewardModelClient(server.Url, Fast);
        var requests = new[] { "1.5", "-0.25", "7", "-3.5", "3", "2e-3", "0" }
            .Select(s => Req(s, ("system", "你是minimind"), ("user", "问题\n\"quoted\""))).ToList();
        var scores = client.Score(requests);
        Assert.Equal(new[] { 1.5, -0.25, 3, -3, 3, 0.002, 0 }, scores);
        Assert.Equal(requests.Count, server.Requests);
        using var first = JsonDocument.Parse(server.Bodies[0]);
        var msgs = first.RootElement.GetProperty("messages");
        Assert.Equal(2, msgs.GetArrayLength());
        Assert.Equal("user", msgs[1].GetProperty("role").GetString());
        Assert.Equal("问题\n\"quoted\"", msgs[1].GetProperty("content").GetString());
    }

    [Fact]
    public void SlowServerIsATimeoutErrorNamingUrlAndFlag()
    {
        using var server = new TestRewardServer { Answer = (_, _) => (200, "{\"score\": 1}", TimeSpan.FromSeconds(30)) };
        using var client = new RewardModelClient(server.Url, Fast with { Timeout = TimeSpan.FromMilliseconds(300), Retries = 1 });
        var e = Assert.Throws<RewardModelException>(() => client.Score(new[] { Req("a"), Req("b") }));
        Assert.Contains(server.Url.ToString(), e.Message);
        Assert.Contains("no answer within 0.3 s (--reward-timeout)", e.Message);
        Assert.Contains("tried 2 times", e.Message);
    }

    [Fact]
    public void ServerDownIsAConnectionError()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var url = new Uri($"http://127.0.0.1:{port}/score");
        using var client = new RewardModelClient(url, Fast);
        var e = Assert.Throws<RewardModelException>(() => client.Score(new[] { Req("a") }));
        Assert.Contains(url.ToString(), e.Message);
        Assert.Contains("cannot connect", e.Message);
        Assert.Contains("tried 3 times", e.Message);
    }

    [Theory]
    [InlineData("not json at all", "the answer is not JSON")]
    [InlineData("{\"reward\": 1.0}", "no numeric \"score\"")]
    [InlineData("{\"score\": \"high\"}", "no numeric \"score\"")]
    [InlineData("[1.0]", "no numeric \"score\"")]
    [InlineData("{\"score\": 1e999}", "not a finite number")]
    public void MalformedAnswersAreErrorsWithoutRetry(string answer, string cause)
    {
        using var server = new TestRewardServer { Answer = (_, _) => (200, answer, TimeSpan.Zero) };
        using var client = new RewardModelClient(server.Url, Fast with { Concurrency = 1 });
        var e = Assert.Throws<RewardModelException>(() => client.Score(new[] { Req("a") }));
        Assert.Contains(server.Url.ToString(), e.Message);
        Assert.Contains(cause, e.Message);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public void ClientErrorsAreNotRetriedServerErrorsAre()
    {
        using var server = new TestRewardServer { Answer = (_, _) => (404, "no such route", TimeSpan.Zero) };
        using (var client = new RewardModelClient(server.Url, Fast))
        {
            var e = Assert.Throws<RewardModelException>(() => client.Score(new[] { Req("a") }));
            Assert.Contains("HTTP 404", e.Message);
            Assert.Contains("no such route", e.Message);
            Assert.Equal(1, server.Requests);
        }
        // a 500 on the first attempt, then an answer: the retry succeeds
        server.Answer = (_, n) => n == 2 ? (500, "busy", TimeSpan.Zero) : (200, "{\"score\": 0.5}", TimeSpan.Zero);
        using (var client = new RewardModelClient(server.Url, Fast with { Concurrency = 1 }))
            Assert.Equal(new[] { 0.5 }, client.Score(new[] { Req("a") }));
        Assert.Equal(3, server.Requests);
        // always 500: an error after the retries
        server.Answer = (_, _) => (503, "down for maintenance", TimeSpan.Zero);
        using (var client = new RewardModelClient(server.Url, Fast))
        {
            var e = Assert.Throws<RewardModelException>(() => client.Score(new[] { Req("a") }));
            Assert.Contains("HTTP 503", e.Message);
            Assert.Contains("tried 3 times", e.Message);
        }
    }

    [Fact]
    public void BadOptionsAndUrlsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new RewardModelClient(new Uri("ftp://x/"), Fast));
        Assert.Throws<ArgumentException>(() => new RewardModelClient(new Uri("http://x/"), Fast with { Concurrency = 0 }));
        Assert.Throws<ArgumentException>(() => new RewardModelClient(new Uri("http://x/"), Fast with { Timeout = TimeSpan.Zero }));
    }
}

/// <summary>The client against tools/rl/reward_server.py (Python's http.server), the server users start from.</summary>
public class RewardServerScriptTests
{
    [SkippableFact]
    public void ClientTalksToTheReferenceServer()
    {
        Skip.IfNot(File.Exists(Minimind.Tests.TestEnvironment.Python), "no /usr/bin/python3");
        var psi = new System.Diagnostics.ProcessStartInfo(Minimind.Tests.TestEnvironment.Python)
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(TestPaths.RepoRoot, "tools", "rl", "reward_server.py"), "--demo", "--port", "0" }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        try
        {
            string line = p.StandardOutput.ReadLine() ?? throw new Exception("reward_server.py exited: " + p.StandardError.ReadToEnd());
            Assert.StartsWith("listening on ", line);
            using var client = new RewardModelClient(new Uri(line["listening on ".Length..]), RewardModelOptions.Default);
            var scores = client.Score(new[]
            {
                new RewardRequest(new[] { new RewardMessage("user", "你好") }, "一二三"),
                new RewardRequest(new[] { new RewardMessage("system", "s"), new RewardMessage("user", "q") }, new string('x', 1000)),
                new RewardRequest(Array.Empty<RewardMessage>(), ""),
            });
            // demo score len(response)/100 − 1 (code points), clipped to ±3 by the client
            Assert.Equal(new[] { 3 / 100.0 - 1, 3.0, -1.0 }, scores);
        }
        finally { p.Kill(true); }
    }
}
