using Minimind.Model.Text;
using System.Text;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;


namespace Minimind.Training.Rl;

/// <summary>One chat message as the reward server receives it.</summary>
public sealed record RewardMessage(string Role, string Content);

/// <summary>What one completion is scored on: the conversation so far and the answer.</summary>
public sealed record RewardRequest(IReadOnlyList<RewardMessage> Messages, string Response);

/// <summary>How the client talks to the server (<c>--reward-timeout</c>, <c>--reward-retries</c>, <c>--reward-concurrency</c>).</summary>
/// <param name="Timeout">Longest wait for one answer.</param>
/// <param name="Retries">Further attempts after a timeout, a refused connection or an HTTP 5xx/429 (malformed answers are not retried).</param>
/// <param name="Concurrency">Requests in flight at once.</param>
/// <param name="RetryDelay">Pause before the first retry; doubled before each further one.</param>
public sealed record RewardModelOptions(TimeSpan Timeout, int Retries = 2, int Concurrency = 8, TimeSpan? RetryDelay = null)
{
    /// <summary>60 s per answer, 2 retries, 8 requests in flight, 1 s before the first retry.</summary>
    public static RewardModelOptions Default { get; } = new(TimeSpan.FromSeconds(60));
}

/// <summary>A reward server that could not score a completion: the message names the URL and the cause.</summary>
public sealed class RewardModelException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The reward-model part of MiniMind's RL rewards, over HTTP (<c>--reward-url URL</c>): one POST per completion of
/// <c>{"messages": [{"role", "content"}...], "response": "..."}</c>, answered by <c>{"score": x}</c>; a step's completions
/// are scored together, <see cref="RewardModelOptions.Concurrency"/> at a time, in order. Scores are clipped to ±3 as
/// MiniMind's LMForRewardModel clips InternLM2-reward's. Failures throw <see cref="RewardModelException"/> naming the URL
/// and the cause (timeout, refused connection, HTTP status, malformed answer) after the retries; nothing is returned
/// half-scored. docs/rl.md describes the protocol.
/// </summary>
public sealed class RewardModelClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly RewardModelOptions _options;

    /// <summary>A client for <paramref name="url"/>.</summary>
    public RewardModelClient(Uri url, RewardModelOptions? options = null)
    {
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"--reward-url {url}: expected an http:// or https:// URL");
        _options = options ?? RewardModelOptions.Default;
        if (_options.Timeout <= TimeSpan.Zero) throw new ArgumentException($"--reward-timeout must be positive (got {_options.Timeout.TotalSeconds} s)");
        if (_options.Retries < 0) throw new ArgumentException($"--reward-retries must be 0 or more (got {_options.Retries})");
        if (_options.Concurrency < 1) throw new ArgumentException($"--reward-concurrency must be at least 1 (got {_options.Concurrency})");
        _url = url;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>MiniMind's clip of a reward-model score: max(min(score, 3), −3) (a Python float; GRPO/PPO add it to their float32 rewards).</summary>
    public static double Clip(double score) => Math.Max(Math.Min(score, 3.0), -3.0);

    // calculate_rewards' r"<\|im_start\|>(system|user|assistant)\s+(.*?)<\|im_end\|>" (re.DOTALL), with Python's \s
    private static readonly Regex Turn = new(@"<\|im_start\|>(system|user|assistant)[\s\x1c-\x1f]+(.*?)<\|im_end\|>",
        RegexOptions.Singleline | RegexOptions.CultureInvariant);

    /// <summary>
    /// The messages MiniMind sends its reward model for a rendered prompt: every closed system/user/assistant turn
    /// (its im_start regex), contents stripped; the open generation prompt is not a turn.
    /// </summary>
    public static List<RewardMessage> PromptMessages(string prompt) =>
        Turn.Matches(prompt).Select(m => new RewardMessage(m.Groups[1].Value, PythonText.Strip(m.Groups[2].Value))).ToList();

    /// <summary>Scores <paramref name="requests"/> (clipped to ±3), in order; throws <see cref="RewardModelException"/> on any failure.</summary>
    public double[] Score(IReadOnlyList<RewardRequest> requests, CancellationToken cancel = default) =>
        ScoreAsync(requests, cancel).GetAwaiter().GetResult();

    /// <inheritdoc cref="Score"/>
    public async Task<double[]> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancel = default)
    {
        var scores = new double[requests.Count];
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var gate = new SemaphoreSlim(_options.Concurrency);
        var tasks = new Task[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            int k = i;
            tasks[k] = Task.Run(async () =>
            {
                await gate.WaitAsync(failed.Token).ConfigureAwait(false);
                try { scores[k] = Clip(await ScoreOneAsync(requests[k], failed.Token).ConfigureAwait(false)); }
                catch { failed.Cancel(); throw; }
                finally { gate.Release(); }
            }, CancellationToken.None);
        }
        try { await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch
        {
            cancel.ThrowIfCancellationRequested();
            // the first real failure in request order (the others were cancelled because of it)
            foreach (var t in tasks)
                if (t.Exception?.InnerException is RewardModelException e) throw e;
            throw;
        }
        return scores;
    }

    private async Task<double> ScoreOneAsync(RewardRequest request, CancellationToken cancel)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(request.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
            ["response"] = request.Response,
        };
        // a plain body with a Content-Length (not chunked), so the simplest HTTP servers can read it
        string json = body.ToJsonString();
        int attempts = _options.Retries + 1;
        var delay = _options.RetryDelay ?? TimeSpan.FromSeconds(1);
        for (int attempt = 1; ; attempt++)
        {
            string? retryCause = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(_options.Timeout);
            try
            {
                using var content = new StringContent(json, Encoding.UTF8, "application/json");
                using var response = await _http.PostAsync(_url, content, timeout.Token).ConfigureAwait(false);
                string text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode) return ParseScore(text);
                string cause = $"HTTP {status} {response.ReasonPhrase}: {Excerpt(text)}";
                if (status < 500 && status != 429) throw Fail(cause);
                retryCause = cause;
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                retryCause = $"no answer within {_options.Timeout.TotalSeconds:0.###} s (--reward-timeout)";
            }
            catch (HttpRequestException e)
            {
                retryCause = e.InnerException is SocketException s ? $"cannot connect ({s.SocketErrorCode}: {s.Message}); is the server running?" : e.Message;
            }
            if (attempt >= attempts)
                throw Fail($"{retryCause} (tried {attempts} time{(attempts == 1 ? "" : "s")}; --reward-retries {_options.Retries})");
            await Task.Delay(delay, cancel).ConfigureAwait(false);
            delay *= 2;
        }
    }

    private double ParseScore(string text)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException e) { throw Fail($"the answer is not JSON ({e.Message}): {Excerpt(text)}"); }
        if (node is not JsonObject obj || !obj.TryGetPropertyValue("score", out var score) || score is not JsonValue v
            || v.GetValueKind() != JsonValueKind.Number)
            throw Fail($"the answer has no numeric \"score\" (expected {{\"score\": x}}): {Excerpt(text)}");
        if (!v.TryGetValue<double>(out double x) || !double.IsFinite(x)) throw Fail($"the score is not a finite number: {Excerpt(text)}");
        return x;
    }

    private RewardModelException Fail(string cause) => new($"reward model at {_url}: {cause}");

    private static string Excerpt(string text) => text.Length <= 200 ? text : text[..200] + "…";

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();
}
