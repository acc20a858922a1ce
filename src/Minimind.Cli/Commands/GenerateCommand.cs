using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary><c>minimind generate</c>: continues a prompt with a MiniMind checkpoint (KV cache, sampling, streaming text).</summary>
public sealed class GenerateCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "generate";

    /// <inheritdoc/>
    public string Summary => "Continue a prompt with a MiniMind checkpoint (KV cache, greedy or sampled, streaming)";

    /// <summary><c>--weights</c>.</summary>
    public static readonly CliOption<string?> Weights = CommonOptions.Weights();
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("tokenizer.json beside the weights, else the one recorded in a file this project wrote; not needed with --prompt-ids");
    /// <summary><c>--prompt</c>.</summary>
    public static readonly CliOption<string?> Prompt = Opt.String("prompt", "TEXT", null, "prompt text (bos + text, as MiniMind's pretrain eval)").Sample("hi");
    /// <summary><c>--prompt-ids</c>.</summary>
    public static readonly CliOption<string?> PromptIds = Opt.String("prompt-ids", "IDS", null, "prompt as comma-separated token ids (used as is, no bos added)").Sample("1,2,3");
    /// <summary><c>--no-bos</c>.</summary>
    public static readonly CliOption<bool> NoBos = Opt.Flag("no-bos", "do not put the bos token before --prompt text");
    /// <summary><c>--max-new-tokens</c>.</summary>
    public static readonly CliOption<int> MaxNewTokens = Opt.Int("max-new-tokens", "N", 128, "tokens to generate").AtLeast(1);
    /// <summary>Sampling (MiniMind-3's defaults: temperature 0.85, top-k 50, top-p 0.85).</summary>
    public static readonly SamplingOptionSet Sampling = new(temperature: 0.85, topK: 50, topP: 0.85);
    /// <summary><c>--eos-id</c>.</summary>
    public static readonly CliOption<int?> EosId = Opt.IntOrNull("eos-id", "N", "stop at this id (-1 = never stop)").AtLeast(-1).DefaultIs("the tokenizer's eos, else 2");
    /// <summary><c>--print-ids</c>.</summary>
    public static readonly CliOption<bool> PrintIds = Opt.Flag("print-ids", "print the generated ids space-separated as the last line of stdout");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("cpu");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--no-warmup</c>.</summary>
    public static readonly CliOption<bool> NoWarmup = Opt.Flag("no-warmup", "skip the load-time warm-up (a throwaway 64-token prompt that packs the weights' matmul panels and compiles the kernels): that work then happens inside the first prompt");
    /// <summary><c>--chat</c>: one chat turn (see <see cref="ChatCommand"/>).</summary>
    public static readonly CliOption<bool> Chat = Opt.Flag("chat", "render --prompt as one user turn with the tokenizer's chat template and its generation prompt, and stop at the end of the reply (as minimind chat)");

    /// <summary>Everything <c>minimind generate</c> accepts.</summary>
    public static readonly OptionTable Table = new("generate",
        new[] { "generate --weights FILE.pth (--prompt TEXT | --prompt-ids 1,2,3) [options]" },
        """
        Loads a MiniMind checkpoint of any generation, encodes the prompt (bos + text, as MiniMind's
        pretrain eval does), and generates with a KV cache: the prompt is prefilled once, then one token
        per step. Text streams to stdout as it is produced; timing goes to stderr (the load with its
        warm-up, the prefill, the first token, the time since the process started). Stops at the eos id,
        after --max-new-tokens, or at the context length.
        """,
        new[]
        {
            new OptionGroup("Input", Weights, Tokenizer, Prompt, PromptIds, NoBos, Chat, ChatCommand.System, ChatCommand.OpenThinking),
            new OptionGroup("Sampling (MiniMind-3's)", new CliOption[] { MaxNewTokens }.Concat(Sampling.All).Append(EosId).ToArray()),
            new OptionGroup("Output and device", PrintIds, Device, Dtype, NoWarmup),
            // --top-k here is the sampling top-k.
            ModelOptions.Architecture.Without(ModelOptions.TopK),
        },
        new[]
        {
            "generate --weights out/pretrain_512.pth --tokenizer model/ --prompt \"你好\" --greedy",
            "generate --weights out/full_sft_512.pth --arch minimind2 --prompt-ids 1,314,42 --print-ids",
            "generate --weights out/full_sft_512.pth --tokenizer model/ --chat --prompt \"你好\" --open-thinking",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind generate</c> command line asks for (the model config read from --weights).</summary>
    public sealed record Settings(string Weights, string? Prompt, string? PromptIds, string? TokSpec, bool NoBos, int MaxNew,
        SamplingOptions Sampling, int? EosId, bool PrintIds, string Device, ModelConfig Config, bool Chat = false, string? System = null, bool OpenThinking = false,
        Precision Dtype = Precision.Fp32, bool NoWarmup = false);

    /// <summary>Binds and validates a command line; reads the checkpoint for its shapes.</summary>
    public static Settings Bind(ArgParser args, out Minimind.Checkpoint.CheckpointSource source)
    {
        string weights = args.Require(Weights);
        source = ModelOptions.Open(weights);
        string? prompt = args.Get(Prompt);
        string? promptIds = args.Get(PromptIds);
        var sampling = Sampling.Bind(args);
        var s = new Settings(weights, prompt, promptIds, args.Get(Tokenizer), args.Get(NoBos), args.Get(MaxNewTokens), sampling,
            args.Get(EosId), args.Get(PrintIds), args.Get(Device), ModelOptions.Resolve(args, source),
            args.Get(Chat), args.Get(ChatCommand.System), args.Get(ChatCommand.OpenThinking), PrecisionRounding.Parse(args.Get(Dtype)), args.Get(NoWarmup));
        args.EnsureAllUsed();
        if ((prompt is null) == (promptIds is null)) throw new UsageException("give exactly one of --prompt and --prompt-ids");
        if (s.Chat && prompt is null) throw new UsageException("--chat needs --prompt (the text of the user turn)");
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var settings = Bind(args, out var source);
        if (settings.Chat) return RunChat(settings, source);
        var (weights, prompt, promptIds, tokSpec, noBos, maxNew, sampling, eosOpt, printIds, device, config, _, _, _, dtype, noWarmup) = settings;

        tokSpec = ModelOptions.TokenizerFor(tokSpec, source);
        ITokenizer? tok = tokSpec is null ? null : TokenizerLoader.Load(tokSpec);
        if (tok is not null) ModelOptions.CheckTokenizerFits(tok.VocabSize, settings.TokSpec, tokSpec!, source, config);
        int[] ids;
        if (promptIds is not null)
        {
            try { ids = promptIds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
            catch (FormatException) { throw new UsageException($"--prompt-ids '{promptIds}' is not a comma-separated list of integers"); }
        }
        else
        {
            if (tok is null) throw new UsageException("--prompt needs a tokenizer: pass --tokenizer (no tokenizer.json beside the weights)");
            var body = tok.Encode(prompt!);
            ids = noBos ? body : new[] { tok.BosId }.Concat(body).ToArray();
        }
        if (ids.Length == 0) throw new UsageException("the prompt is empty");
        int eos = eosOpt ?? tok?.EosId ?? 2;
        int context = Math.Min(config.MaxSeqLen, ids.Length + maxNew);

        using var backend = BackendFactory.Create(device);
        Console.Error.WriteLine(BackendFactory.Describe(backend));
        Console.Error.WriteLine($"model: {ModelOptions.Describe(config)}");
        var load = Stopwatch.StartNew();
        using var model = MiniMindModel.Create(config, backend, 1, context);
        CheckpointLoader.Load(model, source, Console.Error);
        model.Precision = dtype;
        ReportLoad(model, load, !noWarmup);

        var decoder = tok is null ? null : new StreamingDecoder(tok);
        var outIds = new List<int>();
        var sw = Stopwatch.StartNew();
        double firstTokenMs = 0, prefillMs = 0, sinceStartMs = 0;
        foreach (var id in TextGenerator.Generate(model, ids, maxNew, new Sampler(sampling), eos, () => prefillMs = sw.Elapsed.TotalMilliseconds))
        {
            if (outIds.Count == 0) { firstTokenMs = sw.Elapsed.TotalMilliseconds; sinceStartMs = SinceProcessStart(); }
            outIds.Add(id);
            if (decoder is not null) { Console.Out.Write(decoder.Add(id)); Console.Out.Flush(); }
        }
        if (decoder is not null) Console.Out.WriteLine(decoder.Flush());
        double total = sw.Elapsed.TotalSeconds;
        double decodeRate = outIds.Count > 1 ? (outIds.Count - 1) / Math.Max(1e-9, total - firstTokenMs / 1000) : 0;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{outIds.Count} tokens in {total:F2} s (prefill of {ids.Length} tokens {prefillMs:F0} ms, first token {firstTokenMs:F0} ms ({sinceStartMs:F0} ms after the process started), then {decodeRate:F1} tokens/s)"));
        if (printIds || decoder is null) Console.Out.WriteLine(string.Join(' ', outIds));
        return 0;
    }

    /// <summary>Marks the loaded weights frozen for inference, runs the load-time <see cref="InferenceWarmup"/> unless
    /// <paramref name="warmup"/> is false, and reports the load on stderr, e.g. "load 410 ms, then warm-up 300 ms (...)":
    /// the work moved out of the first prompt is shown here, not hidden.</summary>
    public static void ReportLoad(MiniMindModel model, Stopwatch load, bool warmup)
    {
        double loadMs = load.Elapsed.TotalMilliseconds;
        // Inference never writes the weights: their packed panels are kept from their first use (a write would still drop them).
        model.Backend.KeepWeights(model.Weights, frozen: true);
        string warm = warmup ? $", then {InferenceWarmup.Run(model)}" : " (no warm-up: packing and compiling happen in the first prompt)";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load {loadMs:F0} ms{warm}"));
    }

    // Milliseconds since this process started (the OS's start time), for a time-to-first-token that hides no setup.
    private static double SinceProcessStart() => (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds;

    // One chat turn: the same session as `minimind chat`, fed one message.
    private static int RunChat(Settings s, Minimind.Checkpoint.CheckpointSource source)
    {
        var format = ChatCommand.LoadFormat(s.TokSpec, source, s.Config);
        using var backend = BackendFactory.Create(s.Device);
        using var model = ChatCommand.LoadModel(backend, s.Config, source, format, s.Dtype);
        using var session = new ChatSession(model, format, s.Sampling, s.System) { OpenThinking = s.OpenThinking, MaxNewTokens = s.MaxNew };
        ChatCommand.StreamReply(session, format.Tokenizer, s.Prompt!, showSpeed: true);
        return 0;
    }
}
