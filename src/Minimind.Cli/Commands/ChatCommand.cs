using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind chat</c>: multi-turn chat with an SFT checkpoint as MiniMind's <c>eval_llm.py</c> (chat template with its
/// generation prompt, thinking on/off, streaming), keeping the KV cache across turns. One user message per stdin line.
/// </summary>
public sealed class ChatCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "chat";

    /// <inheritdoc/>
    public string Summary => "Chat with an SFT checkpoint (chat template, streaming, KV cache kept across turns)";

    /// <summary><c>--weights</c>.</summary>
    public static readonly CliOption<string?> Weights = CommonOptions.Weights();
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("tokenizer.json beside the weights, else the one recorded in a file this project wrote");
    /// <summary><c>--system</c>.</summary>
    public static readonly CliOption<string?> System = Opt.String("system", "TEXT", null, "system prompt put before every conversation").Sample("You are minimind.");
    /// <summary><c>--open-thinking</c>.</summary>
    public static readonly CliOption<bool> OpenThinking = Opt.Flag("open-thinking", "let the model think first (MiniMind's --open_thinking 1: the generation prompt ends in an open <think> block)");
    /// <summary><c>--history</c>.</summary>
    public static readonly CliOption<int?> History = Opt.IntOrNull("history", "N", "earlier messages kept in the prompt (MiniMind's --historys; 0 = each turn alone)").AtLeast(0).DefaultIs("all that fit the context");
    /// <summary><c>--max-new-tokens</c>.</summary>
    public static readonly CliOption<int> MaxNewTokens = Opt.Int("max-new-tokens", "N", 8192, "most tokens per reply (also capped by the context)").AtLeast(1);
    /// <summary>Sampling, with eval_llm.py's defaults (temperature 0.85, top-p 0.95, HF's top-k 50).</summary>
    public static readonly SamplingOptionSet Sampling = new(temperature: 0.85, topK: 50, topP: 0.95);
    /// <summary><c>--show-speed</c>.</summary>
    public static readonly CliOption<bool> ShowSpeed = Opt.Flag("show-speed", "after each reply, print tokens/s and how many prompt tokens came from the cache (stderr)");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("cpu");

    /// <summary>Everything <c>minimind chat</c> accepts.</summary>
    public static readonly OptionTable Table = new("chat",
        new[] { "chat --weights out/full_sft_512.pth [--tokenizer DIR] [options]    (then one message per line; /reset, /exit)" },
        """
        Reads one user message per line from stdin and streams each reply to stdout, one reply per line. The
        conversation is rendered with the tokenizer's own chat template (tokenizer_config.json; 'byte' uses the
        built-in ChatML template of the tiny built-in model) with its generation prompt, as MiniMind's eval_llm.py;
        a reply ends at the end-of-turn token. Between turns the KV cache keeps the prompt prefix that did not change,
        so each turn feeds only its new tokens. '/reset' forgets the conversation, '/exit' or end of input quits.
        """,
        new[]
        {
            new OptionGroup("Input", Weights, Tokenizer, System, OpenThinking, History),
            new OptionGroup("Sampling (MiniMind's eval_llm.py)", new CliOption[] { MaxNewTokens }.Concat(Sampling.All).ToArray()),
            new OptionGroup("Output and device", ShowSpeed, Device),
            ModelOptions.Architecture.Without(ModelOptions.TopK),
        },
        new[]
        {
            "chat --weights out/full_sft_512.pth --tokenizer ../shared/minimind/v3",
            "chat --weights out/full_sft_64.pth   (the README's built-in demo: the .pth records its architecture and tokenizer)",
            "printf 'hi\\nwhat is 2 + 3?\\n' | minimind chat --weights W.pth --greedy",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind chat</c> command line asks for.</summary>
    public sealed record Settings(string Weights, string? TokSpec, string? System, bool OpenThinking, int? History, int MaxNew,
        SamplingOptions Sampling, bool ShowSpeed, string Device, ModelConfig Config);

    /// <summary>Binds and validates a command line; reads the checkpoint for its shapes.</summary>
    public static Settings Bind(ArgParser args, out Minimind.Checkpoint.CheckpointSource source)
    {
        string weights = args.Require(Weights);
        source = ModelOptions.Open(weights);
        var s = new Settings(weights, args.Get(Tokenizer), args.Get(System), args.Get(OpenThinking), args.Get(History), args.Get(MaxNewTokens),
            Sampling.Bind(args), args.Get(ShowSpeed), args.Get(Device), ModelOptions.Resolve(args, source));
        args.EnsureAllUsed();
        return s;
    }

    /// <summary>The chat format of <paramref name="tokSpec"/>, else of the tokenizer beside or recorded in the weights;
    /// refused when the tokenizer has more ids than <paramref name="config"/>'s vocabulary.</summary>
    public static ChatFormat LoadFormat(string? tokSpec, Minimind.Checkpoint.CheckpointSource source, ModelConfig config)
    {
        var spec = ModelOptions.TokenizerFor(tokSpec, source) ?? throw new UsageException(
            $"chat needs a tokenizer: pass --tokenizer DIR (or 'byte'); there is no tokenizer.json beside {source.Path} and the file records none");
        var format = ChatFormat.Load(spec);
        ModelOptions.CheckTokenizerFits(format.Tokenizer.VocabSize, tokSpec, spec, source, config);
        return format;
    }

    /// <summary>The model of a chat-style command (chat, serve) on <paramref name="backend"/> at full context, warmed up
    /// for inference (<see cref="Minimind.Model.Generation.InferenceWarmup"/>), with the device, model, chat template and
    /// load time reported on stderr.</summary>
    public static MiniMindModel LoadModel(IBackend backend, ModelConfig config, Minimind.Checkpoint.CheckpointSource source, ChatFormat format, Precision dtype)
    {
        Console.Error.WriteLine(BackendFactory.Describe(backend));
        Console.Error.WriteLine($"model: {ModelOptions.Describe(config)}");
        Console.Error.WriteLine($"chat template: {format.Template.Source}");
        var load = global::System.Diagnostics.Stopwatch.StartNew();
        var model = MiniMindModel.Create(config, backend, 1, config.MaxSeqLen);
        CheckpointLoader.Load(model, source, Console.Error);
        model.Precision = dtype;
        GenerateCommand.ReportLoad(model, load, warmup: true);
        return model;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var s = Bind(args, out var source);
        var format = LoadFormat(s.TokSpec, source, s.Config);
        using var backend = BackendFactory.Create(s.Device);
        using var model = LoadModel(backend, s.Config, source, format, Precision.Fp32);
        using var session = new ChatSession(model, format, s.Sampling, s.System) { OpenThinking = s.OpenThinking, HistoryLimit = s.History, MaxNewTokens = s.MaxNew };

        if (StandardInput.ClosedAtStart)
            throw new UsageException("standard input is closed (started with <&-): chat reads one message per line from it; type them in a terminal or pipe them in, e.g. printf 'hi\\n' | minimind chat --weights W.pth");
        bool interactive = !Console.IsInputRedirected;
        if (interactive) Console.Error.WriteLine("type a message and press Enter; /reset forgets the conversation, /exit quits");
        // Piped input gets exactly one stdout line per input line (an empty reply where nothing could be sent), so scripts can pair them.
        for (long lineNo = 1; ; lineNo++)
        {
            if (interactive) Console.Error.Write("💬: ");
            string? line = Console.In.ReadLine();
            if (line is null || line.Trim() is "/exit" or "/quit") break;
            if (line.Trim() == "/reset") { session.Reset(); Console.Error.WriteLine("(conversation cleared)"); continue; }
            if (string.IsNullOrWhiteSpace(line))
            {
                if (!interactive) { Console.Error.WriteLine($"line {lineNo}: empty message, nothing sent"); Console.Out.WriteLine(); }
                continue;
            }
            if (interactive) Console.Error.Write("🧠: ");
            try { StreamReply(session, format.Tokenizer, line, s.ShowSpeed); }
            catch (ContextOverflowException e)
            {
                // One over-long message is skipped; the conversation so far stays as it was.
                Console.Error.WriteLine($"{(interactive ? "" : $"line {lineNo}: ")}message not sent: {e.Message}; shorten it or start with a larger --max-seq-len");
                Console.Out.WriteLine();
            }
        }
        return 0;
    }

    /// <summary>Streams one reply to stdout (a line), with optional speed and cache figures on stderr.</summary>
    public static void StreamReply(ChatSession session, ITokenizer tokenizer, string message, bool showSpeed)
    {
        var decoder = new StreamingDecoder(tokenizer, skipSpecialTokens: true);
        var sw = Stopwatch.StartNew();
        int n = 0;
        foreach (int id in session.Reply(message))
        {
            n++;
            Console.Out.Write(decoder.Add(id));
            Console.Out.Flush();
        }
        Console.Out.WriteLine(decoder.Flush());
        if (showSpeed)
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{n} tokens, {n / Math.Max(1e-9, sw.Elapsed.TotalSeconds):F1} tokens/s; prompt: {session.LastReusedTokens} tokens from the cache, {session.LastPrefilledTokens} fed]"));
    }
}
