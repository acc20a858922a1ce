using System.Diagnostics;
using System.Globalization;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind train-tokenizer --data F.jsonl [--vocab-size 6400] [--out DIR]</c>: MiniMind's
/// <c>trainer/train_tokenizer.py</c> — byte-level BPE with HuggingFace's BpeTrainer semantics, MiniMind's special tokens
/// and files (tokenizer.json, vocab.json, merges.txt, tokenizer_config.json with the chat template).
/// </summary>
public sealed class TrainTokenizerCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "train-tokenizer";

    /// <inheritdoc/>
    public string Summary => "Train a byte-level BPE tokenizer as MiniMind's train_tokenizer.py does (HF BpeTrainer semantics)";

    /// <summary><c>--data</c>.</summary>
    public static readonly CliOption<string?> Data = Opt.String("data", "FILE", null, "jsonl corpus (MiniMind's script reads ../dataset/sft_t2t_mini.jsonl)").Required().Sample("sft.jsonl");
    /// <summary><c>--vocab-size</c>.</summary>
    public static readonly CliOption<int> VocabSize = Opt.Int("vocab-size", "N", MiniMindTokenizerSpec.VocabSize,
        "vocabulary size, special tokens and the 256 byte characters included; training stops earlier when no pair is left").AtLeast(1);
    /// <summary><c>--out</c>.</summary>
    public static readonly CliOption<string?> Out = Opt.String("out", "DIR", "model_learn_tokenizer", "output folder (created; its four files are replaced atomically)").Sample("tok-out");
    /// <summary><c>--max-lines</c>.</summary>
    public static readonly CliOption<long> MaxLines = Opt.Long("max-lines", "N", 10000,
        "read only the first N lines of --data, blank and broken lines included, as the script's 'if i >= 10000: break' (0 = every line)").AtLeast(0);
    /// <summary><c>--format</c>.</summary>
    public static readonly CliOption<string> Format = Opt.Choice("format", "conversations",
        "conversations: each line's non-empty conversations[].content joined with newlines (the script at d65ef2c); text: each line's \"text\" (the script before minimind-3, pretraining data)",
        "conversations", "text");
    /// <summary><c>--min-frequency</c>.</summary>
    public static readonly CliOption<long> MinFrequency = Opt.Long("min-frequency", "N", 0, "stop when the most frequent pair occurs fewer than N times (HF BpeTrainer's min_frequency)").AtLeast(0);
    /// <summary><c>--special-tokens</c>.</summary>
    public static readonly CliOption<int> SpecialTokens = Opt.Int("special-tokens", "N", MiniMindTokenizerSpec.SpecialTokensNum,
        "tokens placed first (SPECIAL_TOKENS_NUM): MiniMind's 21 special and 6 tool/think tokens, then <|buffer1|>.. up to N")
        .AtLeast(MiniMindTokenizerSpec.SpecialTokens.Count + MiniMindTokenizerSpec.AdditionalTokens.Count);
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("threads for counting words and pairs and for merging; the result does not depend on it");

    /// <summary>Everything <c>minimind train-tokenizer</c> accepts.</summary>
    public static readonly OptionTable Table = new("train-tokenizer",
        new[] { "train-tokenizer --data FILE.jsonl [--vocab-size 6400] [--out DIR] [--max-lines 10000] [options]" },
        """
        Trains a byte-level BPE tokenizer exactly as MiniMind's trainer/train_tokenizer.py does with HuggingFace
        tokenizers: a ByteLevel pre-tokenizer (GPT-2's split, no prefix space) and HF BpeTrainer's rules (pair counts
        over the pre-tokenized words, the most frequent pair merged next, ties to the smallest token ids, merges left
        to right without overlap). Ids: the special tokens first (<|endoftext|>=0, <|im_start|>=1, <|im_end|>=2, the
        other MiniMind specials, <tool_call>..</think>, <|buffer1|>..), then the 256 byte characters by code point,
        then one per merge. Special-token strings inside the training text are ordinary text.
        The corpus is streamed: memory holds the distinct words and their counts, not the texts.
        Writes DIR/tokenizer.json, vocab.json, merges.txt and tokenizer_config.json (bos <|im_start|>, eos <|im_end|>,
        pad/unk <|endoftext|>, MiniMind's chat template) byte for byte as the script does; `tokenize`, `train
        --tokenizer DIR` and HF tokenizers load the folder.
        MiniMind's note applies: its checkpoints only work with its own tokenizer; a new one needs a new model.
        """,
        new[] { new OptionGroup("Options", Data, VocabSize, Out, MaxLines, Format, MinFrequency, SpecialTokens, Threads) },
        new[]
        {
            "train-tokenizer --data dataset/sft_t2t_mini.jsonl --out model_learn_tokenizer",
            "train-tokenizer --data dataset/pretrain_hq.jsonl --format text --max-lines 0 --vocab-size 6400",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind train-tokenizer</c> command line asks for.</summary>
    public sealed record Settings(string Data, string Out, int VocabSize, long MaxLines, TokenizerCorpus.CorpusFormat Format, long MinFrequency, int SpecialTokens, int Threads);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        var s = new Settings(args.Require(Data), args.Require(Out), args.Get(VocabSize), args.Get(MaxLines),
            args.Get(Format) == "text" ? TokenizerCorpus.CorpusFormat.Text : TokenizerCorpus.CorpusFormat.Conversations,
            args.Get(MinFrequency), args.Get(SpecialTokens), args.Get(Threads));
        args.EnsureAllUsed();
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var s = Bind(args);
        if (!File.Exists(s.Data)) throw new FileNotFoundException($"--data {s.Data} does not exist", s.Data);
        if (File.Exists(s.Out)) throw new UsageException($"--out {s.Out} is a file; the tokenizer is written into a folder");
        var clock = Stopwatch.StartNew();
        var bar = new ProgressBar(Console.Error);
        long fileBytes = new FileInfo(s.Data).Length;
        static string Mb(long b) => (b / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " MB";

        var stats = new TokenizerCorpus.Stats();
        var counter = new WordCounter(s.Threads);
        TokenizerCorpus.Read(s.Data, s.Format, s.MaxLines, stats, text =>
        {
            counter.Add(text);
            if ((stats.Texts & 1023) == 0) bar.Report("Read texts", stats.BytesRead, fileBytes, Mb);
        }, s.Threads);
        bar.Report("Read texts", fileBytes, fileBytes, Mb);
        if (stats.Texts == 0)
            throw new InvalidDataException($"{s.Data}: no text in the first {stats.Lines} lines ({stats.NotJson} not JSON; --format {(s.Format == TokenizerCorpus.CorpusFormat.Text ? "text" : "conversations")})");
        var words = counter.ByteLevelWords();

        var options = MiniMindTokenizerSpec.TrainerOptions(s.VocabSize, s.SpecialTokens, s.MinFrequency, s.Threads);
        var bpe = BpeTrainer.Train(words, options, (stage, done, total) => bar.Report(stage, done, total));
        bar.End();
        MiniMindTokenizerFiles.Write(s.Out, bpe);

        double secs = clock.Elapsed.TotalSeconds;
        int mergedTokens = bpe.Vocab.Count - bpe.SpecialTokens.Count - bpe.AlphabetSize;
        string early = bpe.Vocab.Count < s.VocabSize ? $" (no pair left before {s.VocabSize})"
            : bpe.Vocab.Count > s.VocabSize ? $" (the special tokens and the alphabet alone exceed --vocab-size {s.VocabSize}, as in HF)" : "";
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {Path.Combine(s.Out, "tokenizer.json")} (+ vocab.json, merges.txt, tokenizer_config.json): vocab {bpe.Vocab.Count} = {bpe.SpecialTokens.Count} special + {bpe.AlphabetSize} alphabet + {mergedTokens} merged ({bpe.Merges.Count} merges){early}"));
        string skipped = stats.NotJson > 0 ? $" ({stats.NotJson} not JSON, skipped)" : "";
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trained on {stats.Texts} texts ({counter.Chars} characters, {words.Count} distinct words) from {stats.Lines} lines{skipped} in {secs:F1} s"));
        return 0;
    }
}
