using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary><c>minimind eval</c>: mean next-token loss and perplexity of a checkpoint on a jsonl corpus.</summary>
public sealed class EvalCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "eval";

    /// <inheritdoc/>
    public string Summary => "Mean next-token loss and perplexity of a checkpoint on a jsonl text file";

    /// <summary><c>--weights</c>.</summary>
    public static readonly CliOption<string?> Weights = CommonOptions.Weights();
    /// <summary><c>--data</c>.</summary>
    public static readonly CliOption<string?> Data = Opt.String("data", "FILE", null, "jsonl, one {\"text\": ...} object per line").Required();
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("tokenizer.json beside the weights");
    /// <summary><c>--max-seq-len</c>: tokens per row (and the model's context when given).</summary>
    public static readonly CliOption<int?> MaxSeqLen = Opt.IntOrNull("max-seq-len", "N", "tokens per row incl. bos/eos; also the model's context").AtLeast(3)
        .DefaultIs("512, at most the model's context + 1").Sample("33");
    /// <summary><c>--batch-size</c>.</summary>
    public static readonly CliOption<int> BatchSize = Opt.Int("batch-size", "N", 8, "rows per forward").AtLeast(1);
    /// <summary><c>--max-samples</c>.</summary>
    public static readonly CliOption<long?> MaxSamples = Opt.LongOrNull("max-samples", "N", "evaluate only the first N rows").AtLeast(1).DefaultIs("all");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("cpu");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");

    /// <summary>Everything <c>minimind eval</c> accepts.</summary>
    public static readonly OptionTable Table = new("eval",
        new[] { "eval --weights FILE.pth --data FILE.jsonl [options]" },
        """
        Builds MiniMind pretraining rows from {"text": ...} lines (bos + text + eos, padded to --max-seq-len,
        padding ignored) and prints the token-weighted mean cross-entropy over every predicted token
        and its perplexity exp(loss). The MoE aux loss is not included.
        """,
        new[]
        {
            new OptionGroup("Options", Weights, Data, Tokenizer, MaxSeqLen, BatchSize, MaxSamples, Device, Dtype),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[] { "eval --weights out/pretrain_512.pth --tokenizer model/ --data pretrain_hq.jsonl --max-samples 1000" });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind eval</c> command line asks for (the model config read from --weights).</summary>
    public sealed record Settings(string Weights, string Data, string? TokSpec, int MaxLen, int BatchSize, long MaxSamples, string Device, ModelConfig Config,
        Precision Dtype = Precision.Fp32);

    /// <summary>Binds and validates a command line; reads the checkpoint for its shapes.</summary>
    public static Settings Bind(ArgParser args, out Minimind.Checkpoint.CheckpointSource source)
    {
        string weights = args.Require(Weights);
        source = ModelOptions.Open(weights);
        string data = args.Require(Data);
        string? tokSpec = args.Get(Tokenizer);
        int? seqOpt = args.Get(MaxSeqLen);
        int batchSize = args.Get(BatchSize);
        long maxSamples = args.Get(MaxSamples) ?? long.MaxValue;
        string device = args.Get(Device);
        var dtype = PrecisionRounding.Parse(args.Get(Dtype));
        var config = ModelOptions.Resolve(args, source);
        args.EnsureAllUsed();
        // A given row length also sets the context, as in train.
        if (seqOpt is { } given) config = config with { MaxSeqLen = given };
        int maxLen = seqOpt ?? Math.Min(512, config.MaxSeqLen + 1);
        return new Settings(weights, data, tokSpec, maxLen, batchSize, maxSamples, device, config, dtype);
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var (weights, data, tokSpec, maxLen, batchSize, maxSamples, device, config, dtype) = Bind(args, out var weightsSource);
        tokSpec = ModelOptions.TokenizerFor(tokSpec, weightsSource)
            ?? throw new UsageException("--tokenizer is required (no tokenizer.json beside the weights, none recorded in the file)");
        var tok = TokenizerLoader.Load(tokSpec);
        if (tok.VocabSize > config.VocabSize)
            throw new UsageException($"the tokenizer has {tok.VocabSize} ids but the model's vocabulary is {config.VocabSize}");
        var source = JsonlPretrainSource.Open(data, tok, maxLen, Console.Error);
        long count = Math.Min(source.Count, maxSamples);
        if (count == 0) throw new InvalidDataException($"{data}: no samples");
        int seq = source.SeqLen;

        using var backend = BackendFactory.Create(device);
        Console.Error.WriteLine(BackendFactory.Describe(backend));
        Console.Error.WriteLine($"model: {ModelOptions.Describe(config)}");
        using var model = MiniMindModel.Create(config, backend, batchSize, seq);
        CheckpointLoader.Load(model, weightsSource, Console.Error);
        model.Precision = dtype;

        double lossSum = 0;
        long tokens = 0;
        var sw = Stopwatch.StartNew();
        for (long start = 0; start < count; start += batchSize)
        {
            int b = (int)Math.Min(batchSize, count - start);
            var inputs = new int[b * seq];
            var targets = new int[b * seq];
            for (int i = 0; i < b; i++) source.Fill(start + i, inputs.AsSpan(i * seq, seq), targets.AsSpan(i * seq, seq));
            long n = targets.Count(t => t != Batch.IgnoreIndex);
            if (n == 0) continue;
            var (ce, _) = model.ForwardLossParts(new Batch(b, seq, inputs, targets));
            lossSum += (double)ce * n;
            tokens += n;
            if (sw.Elapsed.TotalSeconds > 5 && (start / batchSize) % 10 == 0)
                Console.Error.WriteLine($"  {start + b}/{count} rows, running loss {lossSum / tokens:F4}");
        }
        double mean = lossSum / Math.Max(1, tokens);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loss {mean:F6} perplexity {Math.Exp(mean):F4} ({tokens} tokens, {count} rows, {sw.Elapsed.TotalSeconds:F1} s)"));
        return 0;
    }
}
