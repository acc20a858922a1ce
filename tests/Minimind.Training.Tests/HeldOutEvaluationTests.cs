using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Data;
using Minimind.Model.Evaluation;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;
using Minimind.Tests;
using Minimind.Training.Tests.Distributed;

namespace Minimind.Training.Tests;

/// <summary>
/// The pieces the training loop calls for validation and samples (issue 24 items 1-2): HeldOutLoss against PyTorch on the
/// same weights, with the same bits on 1, 2 and 3 ranks; GreedySamples' continuations and chat replies against PyTorch's
/// argmax decoding; and neither changes what the next training step computes.
/// </summary>
public sealed class HeldOutEvaluationTests
{
    private static ModelConfig Config => StageTorchTests.Tiny() with { MaxSeqLen = 40 };

    private static readonly string[] Texts =
    {
        "the cat sat on the mat", "a b", "validation rows are fixed", "hello world, hello again", "x",
        "numbers 1 2 3 4 5 6 7 8 9", "a longer line of text that does not fit in one row of forty bytes at all", "end",
    };

    // A seeded model with a scaled-up embedding (tied head), so argmax decoding has no near ties.
    private static MiniMindModel NewModel(CpuBackend be, int batch, int seq)
    {
        var model = MiniMindModel.Create(Config, be, batch, seq);
        model.InitRandom(17);
        var host = new float[model.Parameters.TotalElements];
        be.Download(model.Weights, host);
        for (long i = model.Layout.Embedding.Offset; i < model.Layout.Embedding.Offset + model.Layout.Embedding.Numel; i++) host[i] *= 20f;
        be.Upload(model.Weights, host);
        return model;
    }

    private static InMemoryPretrainSource Rows() => InMemoryPretrainSource.FromTexts(new ByteTokenizer(), Texts, 24);

    private static JsonElement Reference(string mode, MiniMindModel model, TempDir dir, Dictionary<string, object> spec)
    {
        var weights = Path.Combine(dir.Path, "w.pth");
        PthWriter.WriteStateDict(weights, model.ExportStateDict());
        spec["cfg"] = StageTorchTests.RefConfig(Config);
        spec["weights"] = weights;
        var specPath = Path.Combine(dir.Path, mode + ".json");
        var outPath = Path.Combine(dir.Path, mode + "_out.json");
        File.WriteAllText(specPath, JsonSerializer.Serialize(spec));
        Assert.Contains("OK " + mode, TestPaths.RunPython(Path.Combine(TestPaths.RepoRoot, "tools", "eval", "heldout_reference.py"), mode, specPath, outPath));
        return JsonDocument.Parse(File.ReadAllText(outPath)).RootElement.Clone();
    }

    [SkippableFact]
    public void Loss_EqualsPyTorch()
    {
        Skip.IfNot(TestPaths.HasTorch, TestEnvironment.Torch1.SkipReason);
        using var dir = new TempDir();
        using var be = new CpuBackend();
        var rows = Rows();
        using var model = NewModel(be, 3, rows.SeqLen);
        var result = new HeldOutLoss(rows, 3).Evaluate(model);

        var inputs = new List<int[]>();
        var targets = new List<int[]>();
        for (int r = 0; r < rows.Count; r++)
        {
            var (i, t) = (new int[rows.SeqLen], new int[rows.SeqLen]);
            rows.Fill(r, i, t);
            inputs.Add(i); targets.Add(t);
        }
        var want = Reference("loss", model, dir, new() { ["inputs"] = inputs, ["targets"] = targets });
        Assert.Equal(want.GetProperty("tokens").GetInt64(), result.Tokens);
        Assert.Equal(rows.Count, result.Rows);
        double loss = want.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(result.Loss - loss) < 1e-5 * loss, $"loss {result.Loss} vs PyTorch {loss}");
        Assert.Equal(Math.Exp(result.Loss), result.Perplexity);
        // a row limit takes the first rows
        var first = new HeldOutLoss(rows, 3, maxRows: 2).Evaluate(model);
        var two = want.GetProperty("rows").EnumerateArray().Take(2).ToArray();
        double want2 = two.Sum(r => r.GetProperty("nll").GetDouble()) / two.Sum(r => r.GetProperty("tokens").GetInt64());
        Assert.True(Math.Abs(first.Loss - want2) < 1e-5 * want2, $"2 rows: {first.Loss} vs PyTorch {want2}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RowsSplitOverRanks_GiveTheSoloBits(int world)
    {
        var rows = Rows();
        HeldOutResult solo;
        using (var be = new CpuBackend())
        using (var model = NewModel(be, 3, rows.SeqLen))
            solo = new HeldOutLoss(rows, 3).Evaluate(model);
        var results = ThreadCommunicator.RunAll(world, comm =>
        {
            using var be = new CpuBackend();
            using var model = NewModel(be, 3, rows.SeqLen);
            return new HeldOutLoss(rows, 3).Evaluate(model, comm);
        });
        foreach (var r in results)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(solo.Loss), BitConverter.DoubleToInt64Bits(r.Loss));
            Assert.Equal(solo.Tokens, r.Tokens);
        }
    }

    [SkippableFact]
    public void GreedyContinuations_AndChatReplies_EqualPyTorchArgmax()
    {
        Skip.IfNot(TestPaths.HasTorch, TestEnvironment.Torch1.SkipReason);
        using var dir = new TempDir();
        using var be = new CpuBackend();
        using var model = NewModel(be, 1, Config.MaxSeqLen);
        var tok = new ByteTokenizer();
        var prompts = new[] { "Once upon", "The ", "a very long prompt that leaves little room" };
        var samples = GreedySamples.Generate(model, tok, prompts, 12);
        var want = Reference("greedy", model, dir, new()
        {
            ["prompts"] = prompts.Select(p => new[] { tok.BosId }.Concat(tok.Encode(p)).ToArray()).ToArray(), ["max_new"] = 12, ["stop"] = tok.EosId,
        }).GetProperty("continuations").EnumerateArray().ToArray();
        for (int i = 0; i < prompts.Length; i++)
        {
            var ids = want[i].EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(prompts[i], samples[i].Prompt);
            Assert.Equal(ids.Length, samples[i].Tokens);
            Assert.Equal(tok.Decode(ids, skipSpecialTokens: true), samples[i].Text);
        }
        Assert.True(samples[2].Tokens < 12, "the long prompt stops at the context");

        var chat = ChatFormat.Load("byte");
        var replies = GreedySamples.Generate(model, tok, new[] { "hi", "what is 2 + 2?" }, 10, chat);
        var chatPrompts = new[] { "hi", "what is 2 + 2?" }.Select(p => new ChatSession(model, chat, new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 }).PromptIds(p)).ToArray();
        var wantChat = Reference("greedy", model, dir, new() { ["prompts"] = chatPrompts, ["max_new"] = 10, ["stop"] = chat.StopId })
            .GetProperty("continuations").EnumerateArray().ToArray();
        for (int i = 0; i < replies.Count; i++)
            Assert.Equal(chat.Tokenizer.Decode(wantChat[i].EnumerateArray().Select(x => x.GetInt32()).ToArray(), skipSpecialTokens: true), replies[i].Text);
    }

    [Fact]
    public void EvaluatingBetweenSteps_LeavesTheNextStepsBitsAlone()
    {
        using var be = new CpuBackend();
        var rows = Rows();
        using var model = NewModel(be, 3, Config.MaxSeqLen);
        var batch = Minimind.Training.Stages.StageBatches.Rows(rows, new[] { 4, 1, 6 });
        float[] Step()
        {
            model.ZeroGradients();
            float loss = model.ForwardBackward(batch, 0.5f);
            var g = new float[model.Parameters.TotalElements];
            be.Download(model.Gradients, g);
            return g.Append(loss).ToArray();
        }
        var before = Step();
        new HeldOutLoss(rows, 3).Evaluate(model);
        GreedySamples.Generate(model, new ByteTokenizer(), new[] { "abc" }, 5);
        var after = Step();
        Assert.Equal(before, after);
    }

    [Fact]
    public void Prompts_FromTextLinesOrJsonl()
    {
        using var dir = new TempDir();
        var txt = Path.Combine(dir.Path, "p.txt");
        File.WriteAllText(txt, "first prompt\n\n  second\n");
        Assert.Equal(new[] { "first prompt", "  second" }, GreedySamples.ReadPrompts(txt));
        var jl = Path.Combine(dir.Path, "p.jsonl");
        File.WriteAllText(jl, "{\"prompt\": \"a\\nb\"}\n{\"text\": \"c\"}\n");
        Assert.Equal(new[] { "a\nb", "c" }, GreedySamples.ReadPrompts(jl));
        File.WriteAllText(jl, "{\"other\": 1}\n");
        Assert.Contains("p.jsonl:1: \"text\" must be a string", Assert.Throws<InvalidDataException>(() => GreedySamples.ReadPrompts(jl)).Message);
    }
}
