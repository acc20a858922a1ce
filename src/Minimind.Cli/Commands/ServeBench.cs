using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Generation;
using Minimind.Serve;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind bench serve</c>: the server of <c>minimind serve</c>, in this process on a free local port, loaded by
/// 1, 4, 16 (<c>--clients</c>) concurrent streaming HTTP clients; per level the aggregate completion tokens/s and the
/// p50/p99 time to first token. The last line is <c>speedup: X</c> (the largest level's tokens/s over the first's).
/// </summary>
public static class ServeBench
{
    /// <summary><c>--clients</c>.</summary>
    public static readonly CliOption<string?> Clients = Opt.String("clients", "N,N,...", "1,4,16", "concurrent clients per level, run in this order").Sample("1,8");
    /// <summary><c>--requests</c>.</summary>
    public static readonly CliOption<int> Requests = Opt.Int("requests", "N", 2, "requests each client sends, one after the other, per level").AtLeast(1);
    /// <summary><c>--prompt-tokens</c>.</summary>
    public static readonly CliOption<int> PromptTokens = Opt.Int("prompt-tokens", "N", 128, "tokens per prompt (bos + random ASCII text, one prompt per request)").AtLeast(2);
    /// <summary><c>--new-tokens</c>.</summary>
    public static readonly CliOption<int> NewTokens = Opt.Int("new-tokens", "N", 128, "tokens generated per request (max_tokens with ignore_eos)").AtLeast(1);
    /// <summary><c>--max-batch</c>.</summary>
    public static readonly CliOption<int?> MaxBatch = Opt.IntOrNull("max-batch", "N", "the server's --max-batch").AtLeast(1).DefaultIs("the largest --clients");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("auto");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("CPU backend worker threads");

    /// <summary><c>minimind bench serve</c>.</summary>
    public static readonly OptionTable Table = new("bench serve",
        new[] { "bench serve [--arch minimind3 ...] [--clients 1,4,16] [--requests 2] [--prompt-tokens 128] [--new-tokens 128] [--device D]" },
        """
        Builds the model (the architecture options of 'minimind train'; default minimind3) with seeded random weights,
        starts the server of 'minimind serve' in this process on a free 127.0.0.1 port (byte tokenizer, --max-batch the
        largest --clients), and for each --clients level N runs N concurrent clients, each sending --requests streamed
        POST /v1/completions one after the other: a distinct --prompt-tokens prompt, temperature 0, max_tokens
        --new-tokens with ignore_eos (every request generates exactly that many). One request first warms up. Prints per
        level the aggregate completion tokens/s (all tokens over the level's wall time) and the p50/p99 time to first
        token (request sent -> first streamed token), and as its LAST line "speedup: <last level / first level tokens/s>".
        The weights' embedding rows of ids >= 128 are zeroed (the head is tied), so greedy picks ASCII bytes that the byte
        tokenizer streams as text at once; the head still computes every logit.
        """,
        new[]
        {
            new OptionGroup("Options", Clients, Requests, PromptTokens, NewTokens, MaxBatch, Device, Dtype, Threads),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[] { "bench serve --device cpu   (minimind3, 1/4/16 clients, 128 + 128 tokens)", "bench serve --clients 1,8 --requests 1 --new-tokens 64" });

    /// <summary>What one <c>minimind bench serve</c> command line asks for.</summary>
    public sealed record Settings(int[] Clients, int Requests, int PromptTokens, int NewTokens, int MaxBatch, string Device, Precision Dtype, int Threads, ModelConfig Config);

    /// <summary>Binds and validates a command line (after the word <c>serve</c>).</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark");
        if (what != "serve") throw new UsageException($"expected 'serve', got '{what}'");
        var clients = Opt.PositiveInts(Clients, args.Get(Clients)!, "1,4,16");
        int prompt = args.Get(PromptTokens), fresh = args.Get(NewTokens);
        var config = BenchModel.Resolve(args, prompt + fresh);
        if (config.VocabSize < 128) throw new UsageException($"--vocab-size {config.VocabSize}: bench serve streams ASCII bytes and needs at least 128 ids");
        var s = new Settings(clients, args.Get(Requests), prompt, fresh, args.Get(MaxBatch) ?? clients.Max(), args.Get(Device),
            PrecisionRounding.Parse(args.Get(Dtype)), args.Get(Threads), config);
        args.EnsureAllUsed();
        return s;
    }

    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(ArgParser args)
    {
        var s = Bind(args);
        using var backend = BackendFactory.Create(s.Device, s.Threads);
        Console.Out.WriteLine(BackendFactory.Describe(backend));
        using var model = MiniMindModel.Create(s.Config, backend, 1, s.Config.MaxSeqLen);
        model.InitRandom(42);
        StreamAsciiOnly(model);
        model.Precision = s.Dtype;
        Console.Out.WriteLine($"model: {s.Config.Arch} dim {s.Config.Dim}, {s.Config.NLayers} layers, vocab {s.Config.VocabSize}, {model.Parameters.TotalElements:N0} parameters, dtype {s.Dtype.Name()}; " +
            $"{s.PromptTokens} prompt + {s.NewTokens} new tokens per request, max batch {s.MaxBatch}");

        using var engine = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = s.MaxBatch });
        var server = new ChatServer(engine, ChatFormat.Load("byte"), new ServeOptions
        {
            Port = 0, ModelName = "bench", MaxQueue = Math.Max(64, s.Clients.Max()), Log = TextWriter.Null,
        });
        using var stop = new CancellationTokenSource();
        var address = new TaskCompletionSource<string>();
        var serving = Task.Run(() => server.Run(a => address.TrySetResult(a), stop.Token));
        if (Task.WhenAny(address.Task, serving).GetAwaiter().GetResult() != address.Task)
            throw new InvalidOperationException("the server stopped before it listened", serving.Exception);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { BaseAddress = new Uri(address.Task.Result), Timeout = Timeout.InfiniteTimeSpan };
            var rng = new Random(1234);
            string Prompt() => new(Enumerable.Range(0, s.PromptTokens - 1).Select(_ => (char)rng.Next('a', 'z' + 1)).ToArray()); // + bos
            var warm = Request(http, Prompt(), s.NewTokens).GetAwaiter().GetResult();
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up request: {warm.Seconds:F2} s, first token after {warm.FirstToken * 1000:F0} ms"));
            var rates = new List<double>();
            foreach (int n in s.Clients)
            {
                var prompts = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, s.Requests).Select(_ => Prompt()).ToArray()).ToArray();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                var results = Task.WhenAll(prompts.Select(async mine =>
                {
                    var done = new List<Result>();
                    foreach (var p in mine) done.Add(await Request(http, p, s.NewTokens));
                    return done;
                })).GetAwaiter().GetResult().SelectMany(r => r).ToList();
                double wall = sw.Elapsed.TotalSeconds;
                double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                long tokens = results.Sum(r => r.Tokens);
                var ttft = results.Select(r => r.FirstToken).OrderBy(t => t).ToArray();
                rates.Add(tokens / wall);
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"clients {n,3}: {results.Count} requests, {tokens} tokens in {wall:F2} s = {tokens / wall:F1} tokens/s aggregate ({tokens / wall / n:F1} per client); " +
                    $"time to first token p50 {Percentile(ttft, 50) * 1000:F0} ms, p99 {Percentile(ttft, 99) * 1000:F0} ms; " +
                    $"{cpu:F1} CPU s ({tokens / cpu:F1} tokens per CPU second: the figure a busy machine disturbs least)"));
            }
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"speedup: {rates[^1] / rates[0]:F2}"));
            return 0;
        }
        finally
        {
            stop.Cancel();
            serving.GetAwaiter().GetResult();
        }
    }

    private sealed record Result(int Tokens, double FirstToken, double Seconds);

    // One streamed POST /v1/completions: the completion tokens (from the usage chunk) and the time to the first text chunk.
    private static async Task<Result> Request(HttpClient http, string prompt, int newTokens)
    {
        string body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = "bench", ["prompt"] = prompt, ["max_tokens"] = newTokens, ["temperature"] = 0, ["ignore_eos"] = true,
            ["stream"] = true, ["stream_options"] = new Dictionary<string, object> { ["include_usage"] = true },
        });
        var sw = Stopwatch.StartNew();
        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var res = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        if (!res.IsSuccessStatusCode) throw new InvalidOperationException($"the server answered {(int)res.StatusCode}: {await res.Content.ReadAsStringAsync()}");
        using var reader = new StreamReader(await res.Content.ReadAsStreamAsync());
        double first = double.NaN;
        int tokens = -1;
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
            using var e = JsonDocument.Parse(line.AsMemory(6));
            if (e.RootElement.TryGetProperty("usage", out var u)) tokens = u.GetProperty("completion_tokens").GetInt32();
            else if (double.IsNaN(first) && e.RootElement.GetProperty("choices")[0].GetProperty("text").GetString() is { Length: > 0 })
                first = sw.Elapsed.TotalSeconds;
        }
        if (tokens != newTokens) throw new InvalidOperationException($"a request generated {tokens} tokens, not {newTokens}");
        return new Result(tokens, first, sw.Elapsed.TotalSeconds);
    }

    // Nearest-rank percentile of sorted values.
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    // Zeroes the embedding rows of ids >= 128; with the tied head their logits are 0 while the ASCII bytes' are random, so
    // greedy decoding emits ASCII the byte tokenizer decodes at once (each token streams as it comes). An untied head's
    // rows are zeroed too.
    private static void StreamAsciiOnly(MiniMindModel model)
    {
        var keys = KeyTable.Of(model.Config.Generation);
        var sd = model.ExportStateDict();
        var res = new StateDict();
        int dim = model.Config.Dim;
        foreach (var (key, t) in sd)
        {
            if (key != keys[ParameterRole.Embedding] && key != keys[ParameterRole.Head]) { res.Add(key, t); continue; }
            var w = t.ToFloat32();
            Array.Clear(w, 128 * dim, w.Length - 128 * dim);
            res.Add(key, TorchTensor.FromFloat32(w, t.Shape));
        }
        if (model.Config.TiedEmbeddings && !res.ContainsKey(keys[ParameterRole.Head])) res.Add(keys[ParameterRole.Head], res[keys[ParameterRole.Embedding]].Alias());
        model.LoadStateDict(res);
    }
}
