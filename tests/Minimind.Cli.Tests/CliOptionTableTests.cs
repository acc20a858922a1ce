using System.Text.RegularExpressions;
using Minimind.Checkpoint;
using Minimind.Cli;
using Minimind.Cli.Commands;
using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;

namespace Minimind.Cli.Tests;

/// <summary>
/// Walks every command's option table: each declared option parses and reaches the command's settings
/// (or the model config), --help lists it with its default, and the two "unknown option" bugs of issue 12 stay fixed.
/// </summary>
public sealed class CliOptionTableTests
{
    // One way to bind each table, with the arguments it needs besides the option under test.
    private sealed record Case(string Name, OptionTable Table, string[] Base, Func<ArgParser, object> Bind);

    private static readonly string Weights = ModelFixture.Load("minimind2-dense").WeightsPath;
    // Values only a test can know (another real checkpoint), by option name.
    private static readonly Dictionary<string, string> FileSamples = new() { ["weights"] = ModelFixture.Load("minimind2-moe").WeightsPath };

    private static IEnumerable<Case> Cases()
    {
        yield return new("train (built-in run)", TrainCommand.Table, Array.Empty<string>(), TrainCommand.Bind);
        yield return new("train --data", TrainCommand.Table, new[] { "--data", "corpus.jsonl", "--tokenizer", "byte" }, TrainCommand.Bind);
        yield return new("train --eval-data --sample-prompts", TrainCommand.Table, new[] { "--eval-data", "valid.jsonl", "--sample-prompts", "prompts.txt" }, TrainCommand.Bind);
        yield return new("train --stage lora", TrainCommand.Table, new[] { "--stage", "lora" }, TrainCommand.Bind);
        yield return new("train --stage distill", TrainCommand.Table, new[] { "--stage", "distill" }, TrainCommand.Bind);
        yield return new("train --stage dpo", TrainCommand.Table, new[] { "--stage", "dpo" }, TrainCommand.Bind);
        yield return new("train --stage grpo", TrainCommand.Table, new[] { "--stage", "grpo" }, TrainCommand.Bind);
        yield return new("train --stage ppo", TrainCommand.Table, new[] { "--stage", "ppo" }, TrainCommand.Bind);
        yield return new("train --stage grpo --log-rollouts --debug-mode", TrainCommand.Table, new[] { "--stage", "grpo", "--log-rollouts", "r.jsonl", "--debug-mode" }, TrainCommand.Bind);
        yield return new("train --stage agent", TrainCommand.Table, new[] { "--stage", "agent" }, TrainCommand.Bind);
        yield return new("train --stage ppo --log-rollouts --debug-mode", TrainCommand.Table, new[] { "--stage", "ppo", "--log-rollouts", "r.jsonl", "--debug-mode" }, TrainCommand.Bind);
        yield return new("train --stage agent --log-rollouts --debug-mode", TrainCommand.Table, new[] { "--stage", "agent", "--log-rollouts", "r.jsonl", "--debug-mode" }, TrainCommand.Bind);
        yield return new("generate", GenerateCommand.Table, new[] { "--weights", Weights, "--prompt-ids", "1,2" }, a => GenerateCommand.Bind(a, out _));
        yield return new("generate --prompt", GenerateCommand.Table, new[] { "--weights", Weights, "--prompt", "hello" }, a => GenerateCommand.Bind(a, out _));
        yield return new("chat", ChatCommand.Table, new[] { "--weights", Weights }, a => ChatCommand.Bind(a, out _));
        yield return new("serve", ServeCommand.Table, new[] { "--weights", Weights }, a => ServeCommand.Bind(a, out _));
        yield return new("eval", EvalCommand.Table, new[] { "--weights", Weights, "--data", "x.jsonl" }, a => EvalCommand.Bind(a, out _));
        yield return new("eval --task mc", EvalCommand.Table, new[] { "--weights", Weights, "--data", "x.jsonl", "--task", "mc" }, a => EvalCommand.Bind(a, out _));
        yield return new("inspect", InspectCommand.Table, new[] { "f.pth" }, InspectCommand.Bind);
        yield return new("convert", ConvertCommand.Table, new[] { Weights, "b.pth" }, a => ConvertCommand.Bind(a, out _));
        yield return new("convert --to hf", ConvertCommand.Table, new[] { Weights, "hf-dir", "--to", "hf" }, a => ConvertCommand.Bind(a, out _));
        yield return new("convert --to gguf", ConvertCommand.Table, new[] { Weights, "m.gguf" }, a => ConvertCommand.Bind(a, out _));
        yield return new("tokenize", TokenizeCommand.Table, new[] { "--tokenizer", "byte", "--data", "a.jsonl", "--out", "a.bin" }, TokenizeCommand.Bind);
        yield return new("tokenize --text", TokenizeCommand.Table, new[] { "--tokenizer", "byte", "--text", "a b" }, TokenizeCommand.Bind);
        yield return new("train-tokenizer", TrainTokenizerCommand.Table, new[] { "--data", "corpus.jsonl" }, TrainTokenizerCommand.Bind);
        yield return new("kernels check", KernelsCommand.CheckTable, new[] { "check" }, KernelsCommand.Bind);
        yield return new("kernels bench", KernelsCommand.BenchTable, new[] { "bench" }, KernelsCommand.Bind);
        yield return new("kernels ptx", KernelsCommand.PtxTable, new[] { "ptx", "--out", "d" }, KernelsCommand.Bind);
        yield return new("kernels nccl", KernelsCommand.NcclTable, new[] { "nccl" }, KernelsCommand.Bind);
        yield return new("bench train", BenchCommand.TrainTable, new[] { "train" }, BenchCommand.Bind);
        yield return new("bench train --stage sft", BenchCommand.TrainTable, new[] { "train", "--stage", "sft" }, BenchCommand.Bind);
        yield return new("bench train --plot", BenchCommand.TrainTable, new[] { "train", "--plot", "t.svg" }, BenchCommand.Bind);
        yield return new("kernels bench --plot", KernelsCommand.BenchTable, new[] { "bench", "--plot", "k.svg" }, KernelsCommand.Bind);
        yield return new("plot", PlotCommand.Table, new[] { "out" }, PlotCommand.Bind);
        yield return new("plot --table", PlotCommand.Table, new[] { "--table", "b.md" }, PlotCommand.Bind);
        yield return new("bench eval", EvalBench.Table, new[] { "eval" }, EvalBench.Bind);
        yield return new("bench serve", ServeBench.Table, new[] { "serve" }, ServeBench.Bind);
        yield return new("bench rollout", RolloutBench.Table, new[] { "rollout" }, RolloutBench.Bind);
        yield return new("bench grpo-memory", GrpoMemoryBench.Table, new[] { "grpo-memory" }, GrpoMemoryBench.Bind);
        yield return new("bench memory", MemoryBench.Table, new[] { "memory" }, MemoryBench.Bind);
    }


    private static IEnumerable<OptionTable> AllTables() =>
        Program.Commands.Select(c => c.Options).OfType<OptionTable>().SelectMany(t => t.Subcommands.Count > 0 ? t.Subcommands.Select(s => s.Table) : new[] { t });

    /// <summary>Valid values other than the default: the table's own samples, else one derived from the type.</summary>
    private static IEnumerable<string> SamplesOf(CliOption o) =>
        FileSamples.TryGetValue(o.Name, out var f) ? new[] { f } : o.Samples.Count > 0 ? o.Samples : new[] { Derived(o) };

    private static string Derived(CliOption o) => o switch
    {
        CliOption<bool> b => b.Default ? "false" : "true",
        CliOption<bool?> => "true",
        CliOption<int> i => (i.Default + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        CliOption<long> l => (l.Default + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        CliOption<int?> or CliOption<long?> => "2",
        CliOption<double> d => (d.Default == 0 ? 0.5 : d.Default * 2).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        CliOption<double?> => "0.5",
        CliOption<string> c when c.Choices is not null => c.Choices.First(x => x != c.Default),
        CliOption<string?> c when c.Choices is not null => c.Choices.First(x => x != c.Default),
        _ => "sample-value",
    };

    private static string[] With(string[] baseArgs, CliOption o, string value)
    {
        var list = baseArgs.ToList();
        int i = list.IndexOf("--" + o.Name);
        if (i >= 0) list.RemoveRange(i, o.Kind == OptionKind.Flag ? 1 : 2);
        list.Add("--" + o.Name);
        list.Add(value);
        return list.ToArray();
    }

    // An option passes when at least one case of its table shows it taking effect: some only apply in one
    // mode (--to hf's architecture options, --text vs --data); every other case must then refuse it or be unchanged.
    [Fact]
    public void EveryOption_ParsesAndTakesEffect()
    {
        var works = new HashSet<(OptionTable, CliOption)>();
        var failures = new Dictionary<(OptionTable, CliOption), List<string>>();
        foreach (var c in Cases())
        {
            var baseline = c.Bind(new ArgParser(c.Base, c.Table));
            foreach (var o in c.Table.Options)
            {
                var tried = failures.TryGetValue((c.Table, o), out var l) ? l : failures[(c.Table, o)] = new List<string>();
                foreach (var sample in SamplesOf(o))
                {
                    try
                    {
                        var bound = c.Bind(new ArgParser(With(c.Base, o, sample), c.Table));
                        if (!Equals(bound, baseline)) { works.Add((c.Table, o)); break; }
                        tried.Add($"[{c.Name}] --{o.Name} {sample}: parsed, but changed nothing in {bound.GetType().Name}");
                    }
                    // A shape override on a loaded checkpoint reached the config when the checkpoint check rejects it, naming the tensor.
                    catch (InvalidDataException e) when (ModelOptions.Architecture.Options.Contains(o) && e.Message.Contains("shape")) { works.Add((c.Table, o)); break; }
                    catch (Exception e) { tried.Add($"[{c.Name}] --{o.Name} {sample}: {e.GetType().Name}: {e.Message}"); }
                }
            }
        }
        var bad = failures.Where(f => !works.Contains(f.Key)).SelectMany(f => f.Value).ToList();
        Assert.True(bad.Count == 0, "options that take effect in no case:\n" + string.Join('\n', bad));
    }

    [Fact]
    public void EveryCommand_DeclaresAnOptionTable()
    {
        var missing = Program.Commands.Where(c => c.Options is null).Select(c => c.Name).ToList();
        Assert.True(missing.Count == 0, "commands without an OptionTable (declare one, as TrainCommand.Table, and add a case here): " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryCommandTable_HasACase()
    {
        var covered = Cases().Select(c => c.Table).ToHashSet();
        var missing = AllTables().Where(t => !covered.Contains(t)).Select(t => t.Command).ToList();
        Assert.True(missing.Count == 0, "tables without a case in CliOptionTableTests: " + string.Join(", ", missing));
    }

    [Fact]
    public void Help_ListsEveryOption_WithItsDefault()
    {
        foreach (var t in AllTables())
        {
            var help = t.RenderHelp();
            // One block per option: its "  --name" line and the indented lines under it, whitespace folded.
            var blocks = Regex.Split(help, @"\n(?=  --)").Select(b => Regex.Replace(b.Split("\n\n")[0], @"\s+", " ").Trim()).ToList();
            foreach (var o in t.Options)
            {
                var block = blocks.FirstOrDefault(b => b.StartsWith(o.Syntax + " ", StringComparison.Ordinal) || b == o.Syntax);
                Assert.True(block is not null, $"minimind {t.Command} --help does not list {o.Syntax}");
                if (OptionTable.ShownDefault(o) is { } d)
                    Assert.True(block!.Contains($"(default: {Regex.Replace(d, @"\s+", " ")})"), $"minimind {t.Command} --help: {o.Syntax} does not show its default {d}:\n{block}");
            }
        }
        // the defaults come from the same objects the parser uses
        Assert.Contains("--batch-size N rows per micro-batch (default: 32; built-in run: 16)", Regex.Replace(TrainCommand.Table.RenderHelp(), @"\s+", " "));
        Assert.Equal(32, new ArgParser(new[] { "--data", "x.bin" }, TrainCommand.Table).Get(TrainCommand.BatchSize));
        Assert.Equal(16, TrainCommand.Bind(new ArgParser(Array.Empty<string>(), TrainCommand.Table)).Options.BatchSize);
    }

    [Fact]
    public void BuiltinRun_TakesTheArchitectureOverrides_Issue12()
    {
        // Was: "unknown option --rope-theta" / "--vocab-size" in the built-in run.
        var s = TrainCommand.Bind(new ArgParser(new[] { "--rope-theta", "1e6", "--vocab-size", "300" }, TrainCommand.Table));
        Assert.Equal((1e6f, 300, 64, "minimind-v1"), (s.Config.RopeTheta, s.Config.VocabSize, s.Config.Dim, s.Config.Arch));
        var dir = ModelTestPaths.TempDir();
        try
        {
            var (code, stdout, stderr) = CliProcess.Exec(null, "train", "--rope-theta", "1e6", "--vocab-size", "300", "--max-steps", "1",
                "--batch-size", "2", "--max-seq-len", "16", "--device", "cpu", "--out-dir", dir);
            Assert.True(code == 0, stderr + stdout);
            var sd = StateDict.Read(Path.Combine(dir, "pretrain_64.pth"));
            Assert.Equal(new[] { 300, 64 }, sd["tok_embeddings.weight"].Shape);
            // The file records the architecture it was trained with (the closing hint no longer spells it out).
            Assert.Equal(1e6f, ArchitectureRecord.Read(sd)!.Value.Config.RopeTheta);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Mistakes_NameTheFlagAndTheValue_AndSuggestTheNearestOption()
    {
        UsageException Fails(params string[] a) => Assert.Throws<UsageException>(() => TrainCommand.Bind(new ArgParser(a, TrainCommand.Table)));
        Assert.Equal("unknown option --rope-thta; did you mean --rope-theta?", Fails("--rope-thta", "1e6").Message);
        Assert.Equal("unknown option --learning; did you mean --learning-rate?", Fails("--learning", "1").Message);
        Assert.Equal("--batch-size 0: must be at least 1", Fails("--batch-size", "0").Message);
        Assert.Equal("--learning-rate 'fast': expected a number", Fails("--learning-rate", "fast").Message);
        Assert.Contains("--save-dtype 'fp16' is not one of: f32, f16, bf16", Fails("--save-dtype", "fp16").Message);
        Assert.Equal("--plot 'maybe': expected true or false", Fails("--plot=maybe").Message);
        Assert.Equal("option --epochs given twice", Fails("--epochs", "1", "--epochs", "2").Message);
        // a declared flag does not swallow the next argument
        Assert.Equal("unexpected argument 'extra'", Fails("--plot", "extra").Message);
    }

    [Fact]
    public void TextWithDataIsRefused()
    {
        var e = Assert.Throws<UsageException>(() => TokenizeCommand.Bind(new ArgParser(new[] { "--tokenizer", "byte", "--text", "a", "--data", "x" }, TokenizeCommand.Table)));
        Assert.Contains("--text", e.Message);
    }

    [Fact]
    public void PromptReplacesPromptIds()
    {
        var s = GenerateCommand.Bind(new ArgParser(new[] { "--weights", Weights, "--prompt", "hi" }, GenerateCommand.Table), out _);
        Assert.Equal(("hi", (string?)null), (s.Prompt, s.PromptIds));
    }
}
