using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Minimind.Checkpoint;
using Minimind.Cli;
using Minimind.Cli.Commands;
using Minimind.Kernels.Cpu;
using Minimind.Model.Evaluation;
using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;

namespace Minimind.Cli.Tests;

/// <summary>`minimind eval`'s behaviour around the scores: progress and output, option rules, the two scoring paths, input errors.</summary>
public sealed class EvalCommandTests
{
    private static ModelConfig Byte => ModelConfig.Preset("minimind2") with { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 64 };

    private static string ByteWeights(string dir)
    {
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(Byte, be, 1, 8);
        model.InitRandom(3);
        var path = Path.Combine(dir, "w.pth");
        PthWriter.WriteStateDict(path, ArchitectureRecord.Attach(model.ExportStateDict(), Byte, "byte"));
        return path;
    }

    [Fact]
    public void Mc_WritesPlainProgress_WhenRedirected_AndTheJsonSummaryLast()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var data = Path.Combine(dir, "q.jsonl");
            File.WriteAllLines(data, Enumerable.Range(0, 5).Select(i => JsonSerializer.Serialize(new { context = $"Q{i}: pick", choices = new[] { "a", "bb", "ccc" }, label = i % 3 })));
            var (code, stdout, stderr) = CliProcess.Exec(null, "eval", "--task", "mc", "--weights", ByteWeights(dir), "--data", data, "--limit", "4", "--json");
            Assert.True(code == 0, stderr);
            Assert.DoesNotContain('\r', stderr);
            Assert.DoesNotContain('\u001b', stderr);
            Assert.Matches(@"items 4/4 \(100\.0%\) [0-9.]+ items/s ETA 0s acc [0-9.]+ acc_norm [0-9.]+", stderr);
            var lines = stdout.TrimEnd('\n').Split('\n');
            Assert.StartsWith("mc  n=4  acc ", lines[0]);
            var json = JsonDocument.Parse(lines[^1]).RootElement;
            Assert.Equal("mc", json.GetProperty("task").GetString());
            Assert.Equal(4, json.GetProperty("n").GetInt32());
            Assert.Equal(0, json.GetProperty("num_fewshot").GetInt32());
            Assert.Equal(" ", json.GetProperty("target_delimiter").GetString());
            foreach (var k in new[] { "acc", "acc_stderr", "acc_norm", "acc_norm_stderr", "acc_bytes", "items_per_s" }) Assert.True(json.TryGetProperty(k, out _), k);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Ppl_Json_RepeatsTheLossLine()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var data = Path.Combine(dir, "d.jsonl");
            File.WriteAllLines(data, new[] { "{\"text\": \"hello world\"}", "{\"text\": \"abc\"}" });
            var (code, stdout, stderr) = CliProcess.Exec(null, "eval", "--weights", ByteWeights(dir), "--data", data, "--max-seq-len", "16", "--json");
            Assert.True(code == 0, stderr);
            var lines = stdout.TrimEnd('\n').Split('\n');
            var m = Regex.Match(lines[0], @"^loss ([0-9.]+) perplexity ([0-9.]+) \((\d+) tokens, 2 rows, ");
            Assert.True(m.Success, lines[0]);
            var json = JsonDocument.Parse(lines[^1]).RootElement;
            Assert.Equal("ppl", json.GetProperty("task").GetString());
            Assert.Equal(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), json.GetProperty("loss").GetDouble(), 6);
            Assert.Equal(long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), json.GetProperty("tokens").GetInt64());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TaskOnlyOptions_AreRefused_NamingTheTask()
    {
        var weights = ModelFixture.Load("minimind2-dense").WeightsPath;
        UsageException Fails(params string[] a) => Assert.Throws<UsageException>(() => EvalCommand.Bind(new ArgParser(a, EvalCommand.Table), out _));
        Assert.Equal("--batch-size applies to --task ppl, not --task mc", Fails("--task", "mc", "--weights", weights, "--data", "x", "--batch-size", "2").Message);
        Assert.Equal("--num-fewshot applies to --task mc|hellaswag|ceval|cmmlu, not --task ppl", Fails("--weights", weights, "--data", "x", "--num-fewshot", "2").Message);
        Assert.Contains("--task 'mmlu' is not one of", Fails("--task", "mmlu", "--weights", weights, "--data", "x").Message);
    }

    /// <summary>The prompt computed once with the choices branched from its KV cache gives the scores of every choice's whole
    /// sequence, also with more choices than the model's batch (branches in chunks) and for a prompt that must be cut.</summary>
    [Fact]
    public void SharedContext_EqualsFullSequences()
    {
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(Byte, be, 2, 40);
        model.InitRandom(21);
        var rng = new Random(5);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(3, 259)).ToArray();
        int truncated = 0;
        var shared = new ChoiceScorer(model, shareContext: true);
        var full = new ChoiceScorer(model, shareContext: false);
        foreach (int ctxLen in new[] { 1, 7, 30, 36 })
        {
            var ctx = Ids(ctxLen);
            var pairs = new[] { 1, 4, 2, 9, 1 }.Select(n => (ctx, Ids(n))).ToArray();
            var a = shared.Score(pairs);
            var b = full.Score(pairs);
            for (int i = 0; i < pairs.Length; i++)
            {
                Assert.True(Math.Abs(a[i].LogLikelihood - b[i].LogLikelihood) < 1e-4, $"ctx {ctxLen} choice {i}: {a[i].LogLikelihood} vs {b[i].LogLikelihood}");
                Assert.Equal(b[i].IsGreedy, a[i].IsGreedy);
                Assert.Equal(ctxLen + pairs[i].Item2.Length > 41, a[i].Truncated);
                if (a[i].Truncated) truncated++;
            }
        }
        Assert.True(truncated > 0);
        // the cache holds the prompt only: scoring the same question again gives the same bits
        var again = Ids(12);
        var q = new[] { (again, Ids(3)), (again, Ids(5)) };
        Assert.Equal(shared.Score(q), shared.Score(q));
    }

    /// <summary>Branching from the KV cache on the ILGPU kernels (CPU simulator): the cache copies and the branch forward give
    /// the full sequences' scores there too, and the CPU backend's.</summary>
    [Fact]
    public void SharedContext_EqualsFullSequences_OnIlgpuSimulator()
    {
        using var be = Minimind.Kernels.Ilgpu.IlgpuBackend.CreateCpuSimulator();
        using var model = MiniMindModel.Create(Byte with { MaxSeqLen = 24 }, be, 3, 24);
        model.InitRandom(21);
        using var cpuBe = new CpuBackend();
        using var cpu = MiniMindModel.Create(Byte with { MaxSeqLen = 24 }, cpuBe, 3, 24);
        cpu.InitRandom(21);
        var rng = new Random(8);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(3, 259)).ToArray();
        var ctx = Ids(9);
        var pairs = new[] { 3, 1, 5 }.Select(n => (ctx, Ids(n))).ToArray();
        var a = new ChoiceScorer(model, shareContext: true).Score(pairs);
        var b = new ChoiceScorer(model, shareContext: false).Score(pairs);
        var c = new ChoiceScorer(cpu, shareContext: true).Score(pairs);
        for (int i = 0; i < pairs.Length; i++)
        {
            Assert.True(Math.Abs(a[i].LogLikelihood - b[i].LogLikelihood) < 1e-4, $"choice {i}: {a[i].LogLikelihood} vs {b[i].LogLikelihood}");
            Assert.True(Math.Abs(a[i].LogLikelihood - c[i].LogLikelihood) < 1e-4, $"choice {i}: ilgpu {a[i].LogLikelihood} vs cpu {c[i].LogLikelihood}");
        }
    }

    [Fact]
    public void BenchEval_RunsBothWays_AndTheyAgree()
    {
        var (code, stdout, stderr) = CliProcess.Exec(null, "bench", "eval", "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--n-kv-heads", "2",
            "--vocab-size", "300", "--items", "2", "--choices", "3", "--context-tokens", "20", "--choice-tokens", "5", "--device", "cpu");
        Assert.True(code == 0, stderr + stdout);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^speedup: [0-9]+\.[0-9]{2}$", lines[^1]);
        var diff = Regex.Match(stdout, @"between the two: ([0-9.E+-]+)");
        Assert.True(diff.Success && double.Parse(diff.Groups[1].Value, CultureInfo.InvariantCulture) < 1e-5, stdout);
    }

    [Fact]
    public void Csv_ReadsQuotedFields_AndNamesTheLineOfABadRow()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var p = Path.Combine(dir, "a.csv");
            File.WriteAllText(p, "\uFEFFid,question,A\r\n0,\"x, \"\"y\"\"\nz\",1\r\n1,plain,\r\n");
            var t = CsvTable.Read(p);
            Assert.Equal(new[] { "id", "question", "A" }, t.Header);
            Assert.Equal(new[] { "0", "x, \"y\"\nz", "1" }, t.Rows[0]);
            Assert.Equal(new[] { "1", "plain", "" }, t.Rows[1]);
            Assert.Equal(new[] { 2, 4 }, t.RowLines);
            File.WriteAllText(p, "a,b\n1,2\n3\n");
            Assert.Contains(":3: 1 fields, the header has 2", Assert.Throws<InvalidDataException>(() => CsvTable.Read(p)).Message);
            File.WriteAllText(p, "a,b\n1,\"2\n");
            Assert.Contains(":2: a quoted field is not closed", Assert.Throws<InvalidDataException>(() => CsvTable.Read(p)).Message);
            File.WriteAllText(p, "id,question,A,B,C,D,answer\n0,q,a,b,c,d,E\n");
            Assert.Contains("a.csv:2: answer is 'E', expected one of A, B, C, D", Assert.Throws<InvalidDataException>(() => ExamBenchmark.CEval.ReadDocs(p)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadRows_NameTheFileLineAndField()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var p = Path.Combine(dir, "q.jsonl");
            File.WriteAllText(p, "{\"context\": \"c\", \"choices\": [\"a\"], \"label\": 0}\n\n{\"context\": \"c\", \"choices\": [\"a\", \"b\"], \"label\": 2}\n");
            Assert.Contains("q.jsonl:3: \"label\" 2 is not an index into the 2 choices", Assert.Throws<InvalidDataException>(() => GenericMcTask.ReadDocs(p)).Message);
            File.WriteAllText(p, "{\"context\": 5, \"choices\": [\"a\"], \"label\": 0}\n");
            Assert.Contains("q.jsonl:1: \"context\" must be a string (got Number 5)", Assert.Throws<InvalidDataException>(() => GenericMcTask.ReadDocs(p)).Message);
            File.WriteAllText(p, "{\"activity_label\": \"a\", \"ctx_a\": \"b\", \"ctx_b\": \"c\", \"endings\": [\"x\"], \"label\": \"\"}\n");
            Assert.Contains("test split is unlabelled", Assert.Throws<InvalidDataException>(() => HellaSwagTask.ReadDocs(p)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
