using System.Globalization;
using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model.Evaluation;
using Minimind.Model;
using Minimind.Model.Tests.Evaluation;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;
using Minimind.Model.Tests.Tokenizer;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// `minimind eval --task mc|hellaswag|ceval|cmmlu` on a small minimind3 model with MiniMind's v3 tokenizer against
/// PyTorch on the same weights (tools/eval/mc_reference.py over tools/reference/minimind_ref.py, scoring lm-eval's
/// request tokens from tokens_v3.json as HFLM does): every choice's log-likelihood and is_greedy, every item's acc,
/// acc_norm and acc_bytes, the truncation, and the --json totals with their stderr. Both scoring paths (the shared
/// prompt with branches from the KV cache, and every choice's full sequence), with and without bos, and a context short
/// enough that few-shot prompts are cut from the left.
/// </summary>
public sealed class EvalScoringTorchTests
{
    // minimind3 layout at toy size; the vocabulary is the v3 tokenizer's.
    private static ModelConfig Small => ModelConfig.Preset("minimind3") with { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, HiddenDim = 64, MaxSeqLen = 256 };

    /// <summary>A seeded model whose embedding (tied to the head) is scaled up so the choices' scores are far apart.</summary>
    internal static string WriteWeights(string dir, string tokenizerJson, ModelConfig config, int seed = 11)
    {
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(config, be, 1, 8);
        model.InitRandom(seed);
        var host = new float[model.Parameters.TotalElements];
        be.Download(model.Weights, host);
        var emb = model.Layout.Embedding;
        for (long i = emb.Offset; i < emb.Offset + emb.Numel; i++) host[i] *= 20f;
        be.Upload(model.Weights, host);
        var path = Path.Combine(dir, "w.pth");
        PthWriter.WriteStateDict(path, ArchitectureRecord.Attach(model.ExportStateDict(), config, tokenizerJson));
        return path;
    }

    internal static Dictionary<string, object> RefConfig(ModelConfig c) => new()
    {
        ["gen"] = "minimind3", ["theta"] = c.RopeTheta, ["eps"] = c.NormEps, ["top_k"] = c.TopK, ["n_shared"] = c.NSharedExperts,
        ["dim"] = c.Dim, ["n_layers"] = c.NLayers, ["n_heads"] = c.NHeads, ["n_kv_heads"] = c.NKvHeads, ["vocab"] = c.VocabSize,
        ["max_seq_len"] = c.MaxSeqLen, ["use_moe"] = c.UseMoe, ["n_experts"] = c.NExperts, ["norm_topk"] = c.NormTopKProb,
        ["aux_alpha"] = c.AuxAlpha, ["hidden_dim"] = c.EffectiveHiddenDim,
    };

    [SkippableTheory]
    [InlineData("mc_0shot", true, false, 0)]
    [InlineData("mc_2shot", false, false, 0)]
    [InlineData("mc_self_3shot", true, true, 0)]
    [InlineData("hellaswag_5shot", true, false, 0)]
    [InlineData("hellaswag_2shot", false, true, 0)]
    [InlineData("ceval_2shot", true, false, 96)]
    [InlineData("cmmlu_2shot", false, false, 96)]
    [InlineData("cmmlu_file_5shot", true, true, 0)]
    public void Scores_EqualPyTorch(string name, bool shareContext, bool addBos, int context)
    {
        var tokJson = TokenizerTestPaths.RequireTokenizerJson("v3");
        Skip.IfNot(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        var c = EvalFixtures.Get(name);
        var want = EvalFixtures.Tokens(name, addBos);
        var dir = ModelTestPaths.TempDir();
        try
        {
            var weights = WriteWeights(dir, tokJson, Small);
            var items = Path.Combine(dir, "items.jsonl");
            var args = new[] { "eval" }.Concat(c.Args).Concat(new[] { "--weights", weights, "--json", "--log-items", items, "--share-context", shareContext ? "true" : "false" }).ToList();
            if (addBos) args.Add("--add-bos");
            if (context > 0) args.AddRange(new[] { "--max-seq-len", context.ToString(CultureInfo.InvariantCulture) });
            var (code, stdout, stderr) = CliProcess.Exec(null, args.ToArray());
            Assert.True(code == 0, stderr + stdout);
            var ours = File.ReadAllLines(items).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            Assert.Equal(c.Items.Length, ours.Length);

            // our request tokens are lm-eval's (so the reference below scores the same requests)
            for (int i = 0; i < ours.Length; i++)
                for (int j = 0; j < want[i].Length; j++)
                {
                    var ctx = ours[i].TryGetProperty("context_tokens_per_choice", out var per) ? per[j] : ours[i].GetProperty("context_tokens");
                    Assert.Equal(want[i][j].Context, Ids(ctx));
                    Assert.Equal(want[i][j].Continuation, Ids(ours[i].GetProperty("continuation_tokens")[j]));
                }

            int maxLength = context > 0 ? context : Small.MaxSeqLen;
            var spec = new Dictionary<string, object>
            {
                ["cfg"] = RefConfig(Small), ["weights"] = weights, ["max_length"] = maxLength,
                ["items"] = c.Items.Select((it, i) => new Dictionary<string, object>
                {
                    ["contexts"] = want[i].Select(p => p.Context).ToArray(), ["continuations"] = want[i].Select(p => p.Continuation).ToArray(),
                    ["choices"] = it.Choices, ["gold"] = it.Gold,
                }).ToArray(),
            };
            var refItems = RunReference(dir, spec);

            var accs = new List<double>();
            var norms = new List<double>();
            for (int i = 0; i < ours.Length; i++)
            {
                var (o, r) = (ours[i], refItems[i]);
                var lls = o.GetProperty("loglikelihoods").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                var refLls = r.GetProperty("lls").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                for (int j = 0; j < lls.Length; j++)
                    Assert.True(Math.Abs(lls[j] - refLls[j]) <= 1e-4 * Math.Max(1, Math.Abs(refLls[j])), $"{name} item {i} choice {j}: {lls[j]} vs PyTorch {refLls[j]}");
                Assert.Equal(Bools(r.GetProperty("is_greedy")), Bools(o.GetProperty("is_greedy")));
                // The choices' scores are far apart, so float noise cannot flip a prediction.
                Assert.True(Margin(refLls, _ => 1) > 1e-3 && Margin(refLls, j => PyText.Length(c.Items[i].Choices[j])) > 1e-3
                    && Margin(refLls, j => PyText.Utf8Length(c.Items[i].Choices[j])) > 1e-3, $"{name} item {i}: near tie in the reference");
                foreach (var m in new[] { "acc", "acc_norm", "acc_bytes" })
                    Assert.True(r.GetProperty(m).GetDouble() == o.GetProperty(m).GetDouble(), $"{name} item {i}: {m} {o.GetProperty(m)} vs PyTorch {r.GetProperty(m)}");
                Assert.Equal(r.GetProperty("truncated").GetBoolean(), o.GetProperty("truncated").GetBoolean());
                accs.Add(r.GetProperty("acc").GetDouble());
                norms.Add(r.GetProperty("acc_norm").GetDouble());
            }
            if (context > 0) Assert.Contains(refItems, r => r.GetProperty("truncated").GetBoolean());

            var summary = JsonDocument.Parse(stdout.TrimEnd('\n').Split('\n')[^1]).RootElement;
            Assert.Equal(ours.Length, summary.GetProperty("n").GetInt32());
            Assert.Equal(accs.Average(), summary.GetProperty("acc").GetDouble(), 12);
            Assert.Equal(norms.Average(), summary.GetProperty("acc_norm").GetDouble(), 12);
            var groups = c.Items.Select((it, i) => (it.Group, i)).GroupBy(g => g.Group).ToList();
            Assert.Equal(Stderr(accs, groups), summary.GetProperty("acc_stderr").GetDouble(), 12);
            Assert.Equal(Stderr(norms, groups), summary.GetProperty("acc_norm_stderr").GetDouble(), 12);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>With CJK choices, dividing by characters (lm-eval's acc_norm) and by UTF-8 bytes pick differently on these rows,
    /// so the tests above would catch a byte-normalised acc_norm.</summary>
    [SkippableFact]
    public void CharacterAndByteNormalisation_Disagree_OnTheCjkRows()
    {
        var tokJson = TokenizerTestPaths.RequireTokenizerJson("v3");
        var c = EvalFixtures.Get("mc_0shot");
        var dir = ModelTestPaths.TempDir();
        try
        {
            var items = Path.Combine(dir, "items.jsonl");
            var (code, stdout, stderr) = CliProcess.Exec(null, new[] { "eval" }.Concat(c.Args).Concat(new[] { "--weights", WriteWeights(dir, tokJson, Small), "--log-items", items }).ToArray());
            Assert.True(code == 0, stderr + stdout);
            var rows = File.ReadAllLines(items).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            int differ = rows.Count(r => r.GetProperty("acc_norm").GetDouble() != r.GetProperty("acc_bytes").GetDouble());
            Assert.True(differ >= 2, $"acc_norm and acc_bytes differ on {differ} of {rows.Length} items");
            Assert.Contains(rows, r => r.GetProperty("choices").EnumerateArray().Any(x => x.GetString()!.Any(char.IsSurrogate)));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static JsonElement[] RunReference(string dir, Dictionary<string, object> spec)
    {
        var specPath = Path.Combine(dir, "spec.json");
        var outPath = Path.Combine(dir, "ref.json");
        File.WriteAllText(specPath, JsonSerializer.Serialize(spec));
        var (code, so, se) = TestEnvironment.RunPython(new[] { Path.Combine(ModelTestPaths.RepoRoot, "tools", "eval", "mc_reference.py"), specPath, outPath });
        Assert.True(code == 0 && so.Contains("OK"), so + se);
        return JsonDocument.Parse(File.ReadAllText(outPath)).RootElement.GetProperty("items").EnumerateArray().ToArray();
    }

    // lm-eval's stderr: one task's sample stddev / sqrt(n), or for subjects the pooled formula over theirs.
    private static double Stderr(List<double> xs, List<IGrouping<string, (string Group, int i)>> groups)
    {
        static (double se, int n) One(IList<double> v)
        {
            double mu = v.Average();
            return (Math.Sqrt(v.Sum(x => (x - mu) * (x - mu)) / (v.Count - 1)) / Math.Sqrt(v.Count), v.Count);
        }
        if (groups.Count == 1) return One(xs).se;
        var parts = groups.Select(g => One(g.Select(p => xs[p.i]).ToList())).ToList();
        double n = parts.Sum(p => p.n);
        return Math.Sqrt(parts.Sum(p => (p.n - 1) * p.se * p.se * p.n) / (n - parts.Count) / n);
    }

    private static double Margin(double[] lls, Func<int, int> len)
    {
        var v = lls.Select((x, j) => x / len(j)).OrderByDescending(x => x).ToArray();
        return v.Length < 2 ? double.PositiveInfinity : v[0] - v[1];
    }

    private static int[] Ids(JsonElement a) => a.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static bool[] Bools(JsonElement a) => a.EnumerateArray().Select(x => x.GetBoolean()).ToArray();
}
