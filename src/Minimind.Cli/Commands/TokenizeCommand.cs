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

    /// <inheritdoc/>
    public string Help => """
        Usage: minimind tokenize --data IN.jsonl --tokenizer TOK --out OUT.bin [--max-seq-len 512] [--threads N]
               minimind tokenize --tokenizer TOK --text "some text"

        Reads MiniMind pretraining data ({"text": "..."} per line; blank lines skipped) and writes one
        fixed-length row per line: [bos] + text ids (truncated to max-seq-len - 2) + [eos], padded with
        the pad id to max-seq-len, as MiniMind's PretrainDataset builds them. Training on the file gives
        exactly the samples training on the jsonl would. Rows are uint16 when the vocab has at most
        65,536 ids, else uint32, after a 64-byte header (magic MMTOKENS, version, token width, vocab size,
        row length, row count, bos/eos/pad ids). The write is atomic: OUT appears only when complete.
        A malformed line stops the run with its line number.

        Options:
          --data PATH          input jsonl (required unless --text)
          --tokenizer TOK      a tokenizer.json, a folder containing one, or 'byte' for the
                               byte-level tokenizer (required); bos/eos/pad come from the
                               tokenizer_config.json beside tokenizer.json
          --out PATH           output token file (required unless --text)
          --max-seq-len N      row length in tokens (default 512); samples hold N-1 positions
          --threads N          tokenizer threads (default: all cores)
          --text TEXT          print the ids of TEXT and their decoded pieces instead
          -h, --help           show this help

        Examples:
          minimind tokenize --data pretrain_hq.jsonl --tokenizer ../shared/minimind/v3 --out pretrain.bin
          minimind tokenize --tokenizer ../shared/minimind/v3/tokenizer.json --text "你好，world"
        """;

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        string tokSpec = args.String("tokenizer") ?? throw new UsageException("--tokenizer is required (a tokenizer.json, its folder, or 'byte')");
        string? text = args.String("text");
        string? data = args.String("data");
        string? output = args.String("out");
        int maxSeqLen = args.Int("max-seq-len", 512);
        int threads = args.Int("threads", Environment.ProcessorCount);
        args.EnsureAllUsed();
        if (maxSeqLen < 3) throw new UsageException($"--max-seq-len {maxSeqLen} is too short (at least 3)");
        if (threads < 1) throw new UsageException($"--threads {threads} must be at least 1");

        var tokenizer = TokenizerLoader.Load(tokSpec);
        if (text is not null)
        {
            if (data is not null || output is not null) throw new UsageException("--text cannot be combined with --data/--out");
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
        void Progress(long done, long total) =>
            Console.Error.WriteLine($"tokenize: {done / 1e6:F1}/{total / 1e6:F1} MB ({100.0 * done / Math.Max(1, total):F0}%), " +
                                    $"{writer.Count} rows written, {done / 1e6 / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1} MB/s");
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
