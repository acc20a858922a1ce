using System.Diagnostics;
using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Evaluation;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind eval</c>: benchmark scoring as lm-evaluation-harness's <c>multiple_choice</c> output type (a generic jsonl,
/// HellaSwag, C-Eval, CMMLU), or (<c>--task ppl</c>, the default) the mean next-token loss and perplexity of a jsonl corpus.
/// </summary>
public sealed class EvalCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "eval";

    /// <inheritdoc/>
    public string Summary => "Benchmark accuracy as lm-evaluation-harness scores it (HellaSwag, C-Eval, CMMLU, any multiple-choice jsonl), or loss and perplexity";

    

    /// <summary><c>--task</c>.</summary>
    public static readonly CliOption<string> Task = Opt.Choice("task", "ppl",
        "ppl: mean loss and perplexity of {\"text\"} rows; mc: {\"context\", \"choices\", \"label\"} rows; hellaswag: HellaSwag's jsonl; " +
        "ceval, cmmlu: the benchmark's csv folder or one subject's csv", new[] { "ppl" }.Concat(McTasks.Names).ToArray()).Sample("mc", "ceval");
    /// <summary><c>--weights</c>.</summary>
    public static readonly CliOption<string?> Weights = CommonOptions.Weights();
    /// <summary><c>--data</c>.</summary>
    public static readonly CliOption<string?> Data = Opt.String("data", "PATH", null,
        "ppl, mc, hellaswag: a jsonl file; ceval, cmmlu: the benchmark's folder (ceval-exam/ with val/ and dev/, cmmlu/ with test/ and dev/) or one subject's csv").Required();
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("tokenizer.json beside the weights, else the one recorded in the file");
    /// <summary><c>--max-seq-len</c>: tokens per row (ppl) or the model's context (lm-eval's max_length).</summary>
    public static readonly CliOption<int?> MaxSeqLen = Opt.IntOrNull("max-seq-len", "N",
        "ppl: tokens per row incl. bos/eos, also the model's context; multiple-choice tasks: the model's context, longer prompts lose their start as in lm-eval").AtLeast(3)
        .DefaultIs("ppl: 512, at most the model's context + 1; multiple choice: the model's context").Sample("33");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("cpu");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--json</c>.</summary>
    public static readonly CliOption<bool> Json = Opt.Flag("json", "also print the result as one JSON object, the last line of stdout");

    /// <summary><c>--batch-size</c> (ppl).</summary>
    public static readonly CliOption<int> BatchSize = Opt.Int("batch-size", "N", 8, "ppl: rows per forward").AtLeast(1);
    /// <summary><c>--max-samples</c> (ppl).</summary>
    public static readonly CliOption<long?> MaxSamples = Opt.LongOrNull("max-samples", "N", "ppl: evaluate only the first N rows").AtLeast(1).DefaultIs("all");

    /// <summary><c>--num-fewshot</c>.</summary>
    public static readonly CliOption<int> NumFewShot = Opt.Int("num-fewshot", "K", 0, "examples with their answers before each question (lm-eval's --num_fewshot)").AtLeast(0);
    /// <summary><c>--fewshot-data</c>.</summary>
    public static readonly CliOption<string?> FewShotData = Opt.String("fewshot-data", "FILE", null,
        "where the examples come from: mc, hellaswag: a jsonl of the same format (HellaSwag's train split), drawn at random; " +
        "ceval, cmmlu: one subject's dev csv, taken in order").DefaultIs("ceval, cmmlu: dev/ beside the scored split; mc, hellaswag: none").Sample("shots.jsonl");
    /// <summary><c>--fewshot-seed</c>.</summary>
    public static readonly CliOption<int> FewShotSeed = Opt.Int("fewshot-seed", "N", FewShotPrompts.DefaultSeed,
        "seed of the random example draw, Python's random.Random(N) as lm-eval's fewshot_random_seed").AtLeast(0);
    /// <summary><c>--limit</c>.</summary>
    public static readonly CliOption<int?> Limit = Opt.IntOrNull("limit", "N", "score only the first N questions of each task or subject (lm-eval's --limit)").AtLeast(1).DefaultIs("all");
    /// <summary><c>--add-bos</c>.</summary>
    public static readonly CliOption<bool> AddBos = Opt.Flag("add-bos", "put the bos token before every prompt (lm-eval's add_bos_token=True; off by default there too)");
    /// <summary><c>--target-delimiter</c>.</summary>
    public static readonly CliOption<string?> TargetDelimiter = Opt.String("target-delimiter", "TEXT", FewShotPrompts.DefaultTargetDelimiter,
        "text between a prompt and each choice (lm-eval's target_delimiter; \"\" for none)").DefaultIs("\" \"").Sample("");
    /// <summary><c>--description</c>.</summary>
    public static readonly CliOption<string?> Description = Opt.String("description", "TEXT", null,
        "text that opens every prompt, before the examples (lm-eval's description)").DefaultIs("ceval, cmmlu: the subject's; mc, hellaswag: none").Sample("Questions:\n\n");
    /// <summary><c>--log-items</c>.</summary>
    public static readonly CliOption<string?> LogItems = Opt.String("log-items", "FILE", null,
        "write one JSON line per question: prompt, choices, log-likelihood and tokens of each choice, predictions").Sample("items.jsonl");
    /// <summary><c>--share-context</c>.</summary>
    public static readonly CliOption<bool> ShareContext = Opt.Flag("share-context",
        "compute the prompt once per question and branch the choices from its KV cache; false: every choice's whole sequence (the naive way)", def: true)
        .Sample("false");

    private static readonly CliOption[] PplOnly = { BatchSize, MaxSamples };
    private static readonly CliOption[] McOnly = { NumFewShot, FewShotData, FewShotSeed, Limit, AddBos, TargetDelimiter, Description, LogItems, ShareContext };

    /// <summary>Everything <c>minimind eval</c> accepts.</summary>
    public static readonly OptionTable Table = new("eval",
        new[]
        {
            "eval --weights FILE.pth --data FILE.jsonl [options]                      (loss and perplexity)",
            "eval --task mc|hellaswag|ceval|cmmlu --weights FILE.pth --data PATH [options]",
        },
        """
        --task ppl (the default) builds MiniMind pretraining rows from {"text": ...} lines (bos + text + eos, padded to
        --max-seq-len, padding ignored) and prints the token-weighted mean cross-entropy over every predicted token and
        its perplexity exp(loss). The MoE aux loss is not included.

        The multiple-choice tasks score as lm-evaluation-harness's multiple_choice output type with an HF export of the
        model: each choice's score is the sum of log p(choice tokens | prompt), where the choice is " " + choice
        (--target-delimiter), the prompt's trailing whitespace moves to the choice, and the choice's tokens are those of
        encode(prompt + choice) after encode(prompt); no bos unless --add-bos. acc takes the best score, acc_norm the
        best score per character of the choice (acc_bytes, per UTF-8 byte, is in --json too). Prompts use lm-eval's
        templates: HellaSwag's preprocessed "activity: context" and endings; C-Eval and CMMLU's per-subject
        description, "question\nA. ..\nB. ..\nC. ..\nD. ..\n答案：" and choices A-D; examples first-n from the dev
        split (C-Eval, CMMLU) or drawn as Python's random.Random(--fewshot-seed).sample does (mc, HellaSwag). A subject
        folder reports every subject and their size-weighted total with lm-eval's pooled stderr. Nothing is downloaded:
        point --data at the files.
        """,
        new[]
        {
            new OptionGroup("Options", Task, Weights, Data, Tokenizer, MaxSeqLen, Device, Dtype, Json),
            new OptionGroup("Multiple choice (mc, hellaswag, ceval, cmmlu)", NumFewShot, FewShotData, FewShotSeed, Limit, AddBos, TargetDelimiter,
                Description, LogItems, ShareContext),
            new OptionGroup("Perplexity (ppl)", BatchSize, MaxSamples),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[]
        {
            "eval --weights out/pretrain_512.pth --tokenizer model/ --data pretrain_hq.jsonl --max-samples 1000",
            "eval --task ceval --weights out/full_sft_768.pth --data ceval-exam/ --num-fewshot 5 --json",
            "eval --task cmmlu --weights out/full_sft_768.pth --data cmmlu/test/agronomy.csv --limit 50 --log-items agronomy.jsonl",
            "eval --task hellaswag --weights out/full_sft_768.pth --data hellaswag_val.jsonl --fewshot-data hellaswag_train.jsonl --num-fewshot 10",
            "eval --task mc --weights out/full_sft_768.pth --data questions.jsonl --target-delimiter \"\"",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What the multiple-choice tasks ask for.</summary>
    public sealed record McSettings(int NumFewShot, string? FewShotData, int FewShotSeed, int? Limit, bool AddBos, string TargetDelimiter, string? Description,
        string? LogItems, bool ShareContext);

    /// <summary>What one <c>minimind eval</c> command line asks for (the model config read from --weights).</summary>
    public sealed record Settings(string Weights, string Data, string? TokSpec, int MaxLen, int BatchSize, long MaxSamples, string Device, ModelConfig Config,
        Precision Dtype = Precision.Fp32, string Task = "ppl", bool Json = false, McSettings? Mc = null);

    /// <summary>Binds and validates a command line; reads the checkpoint for its shapes.</summary>
    public static Settings Bind(ArgParser args, out CheckpointSource source)
    {
        string task = args.Get(Task);
        bool ppl = task == "ppl";
        foreach (var o in ppl ? McOnly : PplOnly)
            if (args.Has(o)) throw new UsageException($"--{o.Name} applies to {(ppl ? "--task " + string.Join("|", McTasks.Names) : "--task ppl")}, not --task {task}");
        string weights = args.Require(Weights);
        source = ModelOptions.Open(weights);
        string data = args.Require(Data);
        string? tokSpec = args.Get(Tokenizer);
        int? seqOpt = args.Get(MaxSeqLen);
        string device = args.Get(Device);
        var dtype = PrecisionRounding.Parse(args.Get(Dtype));
        bool json = args.Get(Json);
        McSettings? mc = ppl ? null : new McSettings(args.Get(NumFewShot), args.Get(FewShotData), args.Get(FewShotSeed), args.Get(Limit), args.Get(AddBos),
            args.Get(TargetDelimiter) ?? FewShotPrompts.DefaultTargetDelimiter, args.Get(Description), args.Get(LogItems), args.Get(ShareContext));
        int batchSize = ppl ? args.Get(BatchSize) : BatchSize.Default;
        long maxSamples = (ppl ? args.Get(MaxSamples) : null) ?? long.MaxValue;
        var config = ModelOptions.Resolve(args, source);
        args.EnsureAllUsed();
        // A given row length also sets the context, as in train.
        if (seqOpt is { } given) config = config with { MaxSeqLen = given };
        int maxLen = ppl ? seqOpt ?? Math.Min(512, config.MaxSeqLen + 1) : config.MaxSeqLen;
        return new Settings(weights, data, tokSpec, maxLen, batchSize, maxSamples, device, config, dtype, task, json, mc);
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var s = Bind(args, out var source);
        var spec = ModelOptions.TokenizerFor(s.TokSpec, source)
            ?? throw new UsageException("--tokenizer is required (no tokenizer.json beside the weights, none recorded in the file)");
        var tok = TokenizerLoader.Load(spec);
        ModelOptions.CheckTokenizerFits(tok.VocabSize, s.TokSpec, spec, source, s.Config);
        return s.Mc is null ? RunPerplexity(s, source, tok) : RunMultipleChoice(s, s.Mc, source, tok);
    }

    private static MiniMindModel LoadModel(Settings s, CheckpointSource source, IBackend backend, int batch, int seq)
    {
        Console.Error.WriteLine(BackendFactory.Describe(backend));
        Console.Error.WriteLine($"model: {ModelOptions.Describe(s.Config)}");
        var model = MiniMindModel.Create(s.Config, backend, batch, seq);
        CheckpointLoader.Load(model, source, Console.Error);
        model.Precision = s.Dtype;
        return model;
    }

    private static int RunPerplexity(Settings s, CheckpointSource weights, ITokenizer tok)
    {
        var source = JsonlPretrainSource.Open(s.Data, tok, s.MaxLen, Console.Error);
        if (source.Count == 0) throw new InvalidDataException($"{s.Data}: no samples");
        var eval = new HeldOutLoss(source, s.BatchSize, s.MaxSamples == long.MaxValue ? null : s.MaxSamples);
        using var backend = BackendFactory.Create(s.Device);
        using var model = LoadModel(s, weights, backend, s.BatchSize, eval.SeqLen);
        var progress = new EvalProgress(Console.Error, eval.Rows, "rows", EvalProgress.StderrIsTerminal);
        var sw = Stopwatch.StartNew();
        var r = eval.Evaluate(model, progress: (done, _) => progress.Report(Math.Min(done * s.BatchSize, eval.Rows)));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loss {r.Loss:F6} perplexity {r.Perplexity:F4} ({r.Tokens} tokens, {r.Rows} rows, {sw.Elapsed.TotalSeconds:F1} s)"));
        if (s.Json)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"task\":\"ppl\",\"loss\":{r.Loss:R},\"perplexity\":{r.Perplexity:R},\"tokens\":{r.Tokens},\"rows\":{r.Rows},\"seconds\":{sw.Elapsed.TotalSeconds:F3}}}"));
        return 0;
    }

    private static int RunMultipleChoice(Settings s, McSettings m, CheckpointSource source, ITokenizer tok)
    {
        var tasks = McTasks.Open(s.Task, s.Data, m.FewShotData, m.Description);
        var items = tasks.SelectMany(t => FewShotPrompts.Build(t, m.NumFewShot, m.TargetDelimiter, m.FewShotSeed, m.Limit)).ToList();
        Console.Error.WriteLine($"{s.Task}: {items.Count} questions in {tasks.Count} task{(tasks.Count == 1 ? "" : "s")}, {m.NumFewShot}-shot");
        int maxChoices = items.Max(i => i.Choices.Count);
        using var backend = BackendFactory.Create(s.Device);
        using var model = LoadModel(s, source, backend, Math.Min(maxChoices, 16), s.Config.MaxSeqLen);
        var encoder = new ContinuationEncoder(tok, m.AddBos);
        using var scorer = new ChoiceScorer(model, m.ShareContext);
        using var log = m.LogItems is null ? null : new StreamWriter(m.LogItems, false, new System.Text.UTF8Encoding(false));
        var progress = new EvalProgress(Console.Error, items.Count, "items", EvalProgress.StderrIsTerminal);
        var results = new List<McResult>(items.Count);
        double acc = 0, accNorm = 0;
        foreach (var item in items)
        {
            McResult r;
            try
            {
                var pairs = encoder.Encode(item.Context, Enumerable.Range(0, item.Choices.Count).Select(item.Continuation).ToList());
                r = new McResult(item, scorer.Score(pairs), pairs);
            }
            catch (InvalidDataException e) { throw new InvalidDataException($"{item.Group} question {item.Index}: {e.Message}", e); }
            results.Add(r);
            log?.WriteLine(McReport.ItemLine(r));
            acc += r.Acc; accNorm += r.AccNorm;
            progress.Report(results.Count, string.Create(CultureInfo.InvariantCulture, $"acc {acc / results.Count:F4} acc_norm {accNorm / results.Count:F4}"));
        }
        double secs = progress.Seconds;
        var groups = results.GroupBy(r => r.Item.Group).Select(g => McSummary.Of(g.Key, g.ToList())).ToList();
        var total = groups.Count == 1 ? groups[0] with { Name = s.Task } : McSummary.Group(s.Task, groups);
        int truncated = results.Count(r => r.Scores.Any(c => c.Truncated));
        if (truncated > 0)
            Console.Error.WriteLine($"warning: {truncated} questions were longer than the context of {s.Config.MaxSeqLen} tokens and lost their start (as lm-eval truncates)");
        PrintTable(total, groups, m.NumFewShot, secs);
        if (s.Json)
            Console.Out.WriteLine(McReport.SummaryLine(s.Task, total, groups, new KeyValuePair<string, object?>[]
            {
                new("num_fewshot", m.NumFewShot), new("add_bos", m.AddBos), new("target_delimiter", m.TargetDelimiter), new("truncated", truncated),
                new("share_context", m.ShareContext), new("seconds", Math.Round(secs, 3)), new("items_per_s", results.Count / Math.Max(secs, 1e-9)),
            }));
        return 0;
    }

    // "ceval  n=1346  acc 0.2548 ± 0.0119  acc_norm ...", then one line per subject when there are several.
    private static void PrintTable(McSummary total, IReadOnlyList<McSummary> groups, int shots, double secs)
    {
        static string M(MetricValue v) => v.Stderr is double e
            ? string.Create(CultureInfo.InvariantCulture, $"{v.Mean:F4} ± {e:F4}") : string.Create(CultureInfo.InvariantCulture, $"{v.Mean:F4}");
        int w = Math.Max(total.Name.Length, groups.Count > 1 ? groups.Max(g => g.Name.Length) + 2 : 0);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{total.Name.PadRight(w)}  n={total.Count}  acc {M(total.Acc)}  acc_norm {M(total.AccNorm)}  ({shots}-shot, {secs:F1} s, {total.Count / Math.Max(secs, 1e-9):F2} items/s)"));
        if (groups.Count > 1)
            foreach (var g in groups)
                Console.Out.WriteLine($"{("  " + g.Name).PadRight(w)}  n={g.Count}  acc {M(g.Acc)}  acc_norm {M(g.AccNorm)}");
    }
}
