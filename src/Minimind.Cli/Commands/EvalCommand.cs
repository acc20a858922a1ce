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

    /// <inheritdoc/>
    public string Help => """
        Usage: minimind eval --weights FILE.pth --data FILE.jsonl [options]

        Builds MiniMind pretraining rows from {"text": ...} lines (bos + text + eos, padded to --max-seq-len,
        padding ignored) and prints the token-weighted mean cross-entropy over every predicted token
        and its perplexity exp(loss). The MoE aux loss is not included.

        Options:
          --weights FILE      checkpoint (.pth; a config.json beside it is read)
          --data FILE         jsonl, one {"text": ...} object per line
          --tokenizer SPEC    tokenizer.json, a folder holding one, or 'byte' (default: tokenizer.json beside the weights)
          --max-seq-len N     tokens per row incl. bos/eos (default 512, at most the model's context)
          --batch-size N      rows per forward (default 8)
          --max-samples N     evaluate only the first N rows (default all)
          --device D          auto | cuda | cpu | ilgpu-cpu (default cpu)

        """ + "\n" + ModelOptions.HelpText + "\n" + """

        Example:
          minimind eval --weights out/pretrain_512.pth --tokenizer model/ --data pretrain_hq.jsonl --max-samples 1000
        """;

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        string weights = args.String("weights") ?? throw new UsageException("--weights is required");
        string data = args.String("data") ?? throw new UsageException("--data is required");
        string? tokSpec = args.String("tokenizer");
        int? seqOpt = args.IntOrNull("max-seq-len");
        int batchSize = args.Int("batch-size", 8);
        long maxSamples = args.Long("max-samples", long.MaxValue);
        string device = args.Choice("device", "cpu", BackendFactory.Devices);
        var config = ModelOptions.Parse(args, weights, out var sd);
        args.EnsureAllUsed();
        if (batchSize <= 0) throw new UsageException("--batch-size must be positive");
        int maxLen = seqOpt ?? Math.Min(512, config.MaxSeqLen + 1);
        if (maxLen - 1 > config.MaxSeqLen) throw new UsageException($"--max-seq-len {maxLen} exceeds the model's context {config.MaxSeqLen}");
        if (tokSpec is null)
        {
            var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weights))!, "tokenizer.json");
            tokSpec = File.Exists(beside) ? beside : ModelOptions.RecordedTokenizer(sd)
                ?? throw new UsageException("--tokenizer is required (no tokenizer.json beside the weights, none recorded in the file)");
        }
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
        model.LoadStateDict(sd!);

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
