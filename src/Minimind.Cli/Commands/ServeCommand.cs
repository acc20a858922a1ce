using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Generation;
using Minimind.Serve;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind serve</c>: an OpenAI-compatible HTTP server (MiniMind's <c>scripts/serve_openai_api.py</c>, with continuous
/// batching) on Kestrel. The command loads the model and hands it to <see cref="ChatServer"/> (project Minimind.Serve).
/// </summary>
public sealed class ServeCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "serve";

    /// <inheritdoc/>
    public string Summary => "OpenAI-compatible HTTP server with continuous batching and a web chat page";

    /// <summary><c>--weights</c> (chat's).</summary>
    public static readonly CliOption<string?> Weights = ChatCommand.Weights;
    /// <summary><c>--tokenizer</c> (chat's).</summary>
    public static readonly CliOption<string?> Tokenizer = ChatCommand.Tokenizer;
    /// <summary><c>--lora</c>.</summary>
    public static readonly CliOption<string?> Lora = Opt.String("lora", "LORA.pth", null, "merge this LoRA adapter (MiniMind's lora_<name>_<dim>.pth) into the weights before serving").Sample("out/lora_identity_512.pth");
    /// <summary><c>--host</c>.</summary>
    public static readonly CliOption<string?> Host = Opt.String("host", "ADDR", "127.0.0.1", "address to listen on (0.0.0.0: every interface; put a reverse proxy with TLS in front for anything public)").Sample("0.0.0.0");
    /// <summary><c>--port</c>.</summary>
    public static readonly CliOption<int> Port = Opt.Int("port", "N", 8998, "TCP port (MiniMind's server: 8998; 0 = any free port, printed at start)").AtLeast(0).Check(p => p <= 65535, "must be at most 65535");
    /// <summary><c>--max-batch</c>.</summary>
    public static readonly CliOption<int> MaxBatch = Opt.Int("max-batch", "N", 16, "most requests generated at once (the decode batch; each holds KV pages for its prompt + max_tokens)").AtLeast(1);
    /// <summary><c>--max-queue</c>.</summary>
    public static readonly CliOption<int> MaxQueue = Opt.Int("max-queue", "N", 64, "requests that may wait for a slot; more are refused with 429").AtLeast(0);
    /// <summary><c>--api-key</c>.</summary>
    public static readonly CliOption<string?> ApiKey = Opt.String("api-key", "KEY", null, "require 'Authorization: Bearer KEY' on /v1/* (401 without it)").Sample("sk-local");
    /// <summary><c>--model-name</c>.</summary>
    public static readonly CliOption<string?> ModelName = Opt.String("model-name", "NAME", null, "model id in /v1/models and responses").DefaultIs("the weights' file name without extension").Sample("minimind");
    /// <summary><c>--max-body-kb</c>.</summary>
    public static readonly CliOption<int> MaxBodyKb = Opt.Int("max-body-kb", "N", 4096, "largest request body in KiB; larger gets 413").AtLeast(1);
    /// <summary><c>--drain-seconds</c>.</summary>
    public static readonly CliOption<int> DrainSeconds = Opt.Int("drain-seconds", "N", 120, "on SIGTERM, how long in-flight requests may take to finish before they are cut").AtLeast(0);
    /// <summary><c>--device</c> (chat's).</summary>
    public static readonly CliOption<string> Device = ChatCommand.Device;
    /// <summary><c>--dtype</c> (generate's).</summary>
    public static readonly CliOption<string> Dtype = GenerateCommand.Dtype;

    /// <summary>Everything <c>minimind serve</c> accepts.</summary>
    public static readonly OptionTable Table = new("serve",
        new[] { "serve --weights out/full_sft_512.pth [--tokenizer DIR] [--port 8998] [options]" },
        """
        Serves the model over HTTP as MiniMind's scripts/serve_openai_api.py does, with the OpenAI API's shape:
        POST /v1/chat/completions (messages, temperature (0 = greedy), top_p, top_k, max_tokens, stream,
        stream_options.include_usage, stop, seed, tools, open_thinking / chat_template_kwargs.enable_thinking),
        POST /v1/completions (a plain prompt), GET /v1/models, GET /health, and a chat page at /.
        Requests are batched continuously: they join and leave the running batch between decode steps, and a
        request's tokens do not depend on what else runs. SIGTERM or Ctrl+C stops taking requests, lets the ones in
        flight finish, and exits 0. See docs/serving.md.
        """,
        new[]
        {
            new OptionGroup("Model", Weights, Tokenizer, Lora, Device, Dtype),
            new OptionGroup("Server", Host, Port, MaxBatch, MaxQueue, ApiKey, ModelName, MaxBodyKb, DrainSeconds),
            ModelOptions.Architecture.Without(ModelOptions.TopK),
        },
        new[]
        {
            "serve --weights out/full_sft_64.pth   (the built-in demo model; then open http://127.0.0.1:8998/)",
            "serve --weights out/full_sft_768.pth --tokenizer ../shared/minimind/v3 --host 0.0.0.0 --api-key sk-local",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind serve</c> command line asks for.</summary>
    public sealed record Settings(string Weights, string? TokSpec, string? Lora, string Device, Precision Dtype, ModelConfig Config, string Host, int Port,
        int MaxBatch, int MaxQueue, string? ApiKey, string ModelName, int MaxBodyKb, int DrainSeconds);

    /// <summary>Binds and validates a command line; reads the checkpoint for its shapes.</summary>
    public static Settings Bind(ArgParser args, out CheckpointSource source)
    {
        string weights = args.Require(Weights);
        source = ModelOptions.Open(weights);
        var s = new Settings(weights, args.Get(Tokenizer), args.Get(Lora), args.Get(Device), PrecisionRounding.Parse(args.Get(Dtype)),
            ModelOptions.Resolve(args, source), args.Get(Host)!, args.Get(Port), args.Get(MaxBatch), args.Get(MaxQueue), args.Get(ApiKey),
            args.Get(ModelName) ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(weights)), args.Get(MaxBodyKb), args.Get(DrainSeconds));
        args.EnsureAllUsed();
        if (s.MaxBatch > s.Config.MaxSeqLen)
            throw new UsageException($"--max-batch {s.MaxBatch} exceeds the context ({s.Config.MaxSeqLen} tokens, --max-seq-len): one decode step holds a row per request");
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var s = Bind(args, out var source);
        var format = ChatCommand.LoadFormat(s.TokSpec, source, s.Config);
        if (s.Lora is not null)
        {
            if (!File.Exists(s.Lora)) throw new FileNotFoundException($"--lora '{s.Lora}' does not exist");
            source = CheckpointSource.FromStateDict(Minimind.Model.Lora.LoraMerge.Merge(source.Weights, StateDict.Read(s.Lora), out int pairs), source.Path);
            Console.Error.WriteLine($"merged {pairs} LoRA pairs from {s.Lora}");
        }
        using var backend = BackendFactory.Create(s.Device);
        using var model = ChatCommand.LoadModel(backend, s.Config, source, format, s.Dtype);
        using var engine = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = s.MaxBatch });
        var server = new ChatServer(engine, format, new ServeOptions
        {
            Host = s.Host, Port = s.Port, ModelName = s.ModelName, ApiKey = s.ApiKey, MaxQueue = s.MaxQueue,
            MaxBodyBytes = s.MaxBodyKb * 1024L, DrainTimeout = TimeSpan.FromSeconds(s.DrainSeconds),
        });
        return server.Run();
    }
}
