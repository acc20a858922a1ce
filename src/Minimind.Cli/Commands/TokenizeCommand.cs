using System.Diagnostics;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind tokenize --data in.jsonl --tokenizer tokenizer.json --max-seq-len 512 --out out.bin</c>: writes a
/// pre-tokenized pretraining file (<see cref="TokenFileHeader"/>) atomically; or prints the ids of <c>--text</c>.
/// </summary>
public sealed class TokenizeCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "tokenize";

    /// <inheritdoc/>
    public string Summary => "Pre-tokenize a pretraining jsonl into a memory-mappable token file (or show the ids of a text)";

    /// <summary><c>--data</c>.</summary>
    public static readonly CliOption<string?> Data = Opt.String("data", "PATH", null, "input jsonl").Required("--text").Sample("in.jsonl");
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer().Required();
    /// <summary><c>--out</c>.</summary>
    public static readonly CliOption<string?> Out = Opt.String("out", "PATH", null, "output token file").Required("--text").Sample("out.bin");
    /// <summary><c>--max-seq-len</c>.</summary>
    public static readonly CliOption<int> MaxSeqLen = Opt.Int("max-seq-len", "N", 512, "row length in tokens; samples hold N-1 positions").AtLeast(3);
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("tokenizer threads");
    /// <summary><c>--text</c>.</summary>
    public static readonly CliOption<string?> Text = Opt.String("text", "TEXT", null, "print the ids of TEXT and their decoded pieces instead").Sample("hi");

    /// <summary>Everything <c>minimind tokenize</c> accepts.</summary>
    public static readonly OptionTable Table = new("tokenize",
        new[] { "tokenize --data IN.jsonl --tokenizer TOK --out OUT.bin [--max-seq-len 512] [--threads N]", "tokenize --tokenizer TOK --text \"some text\"" },
        """
        Reads MiniMind pretraining data ({"text": "..."} per line; blank lines skipped) and writes one
        fixed-length row per line: [bos] + text ids (truncated to max-seq-len - 2) + [eos], padded with
        the pad id to max-seq-len, as MiniMind's PretrainDataset builds them. Training on the file gives
        exactly the samples training on the jsonl would. Rows are uint16 when the vocab has at most
        65,536 ids, else uint32, after a 64-byte header (magic MMTOKENS, version, token width, vocab size,
        row length, row count, bos/eos/pad ids). The write is atomic: OUT appears only when complete.
        A malformed line stops the run with its line number.
        """,
        new[] { new OptionGroup("Options", Data, Tokenizer, Out, MaxSeqLen, Threads, Text) },
        new[] { "tokenize --data pretrain_hq.jsonl --tokenizer ../shared/minimind/v3 --out pretrain.bin", "tokenize --tokenizer ../shared/minimind/v3/tokenizer.json --text \"你好，world\"" });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind tokenize</c> command line asks for.</summary>
    public sealed record Settings(string TokSpec, string? Text, string? Data, string? Out, int MaxSeqLen, int Threads);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        string tokSpec = args.Require(Tokenizer);
        int threads = args.Get(Threads);
        var s = new Settings(tokSpec, args.Get(Text), args.Get(Data), args.Get(Out), args.Get(MaxSeqLen), threads == 0 ? Environment.ProcessorCount : threads);
        args.EnsureAllUsed();
        if (s.Text is not null && (s.Data is not null || s.Out is not null)) throw new UsageException("--text cannot be combined with --data/--out");
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var (tokSpec, text, data, output, maxSeqLen, threads) = Bind(args);

        var tokenizer = TokenizerLoader.Load(tokSpec);
        if (text is not null)
        {
            var ids = tokenizer.Encode(text);
            Console.Out.WriteLine(string.Join(' ', ids));
            // Pieces are shown as JSON strings so whitespace and partial UTF-8 (U+FFFD) stay visible.
            var json = new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
            foreach (int id in ids)
                Console.Out.WriteLine($"{id,6}  {System.Text.Json.JsonSerializer.Serialize(tokenizer.Decode(new[] { id }), json)}");
            return 0;
        }
        if (data is null) throw new UsageException("--data is required");
        if (output is null) throw new UsageException("--out is required");

        var clock = Stopwatch.StartNew();
        long inputBytes = new FileInfo(data).Exists ? new FileInfo(data).Length : 0;
        using var writer = new TokenFileWriter(output, tokenizer.VocabSize, maxSeqLen, tokenizer.BosId, tokenizer.EosId, tokenizer.PadId);
        long textTokens = 0, truncated = 0;
        // While reading, the encoder is a chunk behind the reader: the rows so far; the real count once every chunk is written.
        void Progress(long done, long total)
        {
            if (done < total)
                Console.Error.WriteLine($"tokenize: {done / 1e6:F1}/{total / 1e6:F1} MB ({100.0 * done / Math.Max(1, total):F0}%), " +
                                        $"{writer.Count} rows so far, {done / 1e6 / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1} MB/s");
        }
        // Encoded in parallel, written in file order: the output does not depend on --threads.
        foreach (var ids in ParallelEncoder.Encode(JsonlTexts.Read(data, Progress).Select(l => l.Text), tokenizer, threads))
        {
            textTokens += ids.Length;
            if (ids.Length > maxSeqLen - 2) truncated++;
            writer.AddText(ids);
        }
        if (writer.Count == 0) throw new InvalidDataException($"{data}: no samples (the file has no non-blank lines)");
        var header = writer.Commit();
        Console.Out.WriteLine($"wrote {output}: {header}; {textTokens} text tokens, {truncated} rows truncated to {maxSeqLen - 2}; " +
                              $"{inputBytes / 1e6:F1} MB in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
