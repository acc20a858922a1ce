using System.Text.Json;
using Minimind.Cli.Commands;
using Minimind.Cli.Stages;
using Minimind.Model;
using Minimind.Model.Data.Sft;
using Minimind.Model.Tests.Chat;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// --sft-overflow, --add-system-ratio and --empty-think-ratio (issue 19 item 4): MiniMind's SFTDataset semantics by default,
/// the rows the command line builds equal MiniMind's own (tests/fixtures/chat/sft_labels.json, written by tools/chat/sft_labels_ref.py
/// running MiniMind's lm_dataset.py), and each value is part of the run's signature, so a resume with another is refused naming it.
/// </summary>
public sealed class SftRowOptionsTests
{
    private static TrainCommand.Settings Bind(params string[] a) => TrainCommand.Bind(new ArgParser(a, TrainCommand.Table));
    private static Dictionary<string, string> Sig(TrainCommand.Settings s) => s.Options.DataSignature.Fields.ToDictionary(kv => kv.Key, kv => kv.Value);

    [Fact]
    public void Defaults_are_minimind_and_join_the_signature()
    {
        var sft = Bind("--stage", "sft", "--data", "c.jsonl", "--tokenizer", "byte");
        Assert.Equal(new SftRowOptions(SftOverflow.Truncate, 0.2, 0.2), sft.Rows);
        Assert.Equal(new Dictionary<string, string> { ["sft-overflow"] = "truncate", ["add-system-ratio"] = "0.2", ["empty-think-ratio"] = "0.2" }, Sig(sft));
        var o = sft.Rows.ToSftOptions(768);
        Assert.Equal((SftOverflow.Truncate, 0.2, 0.2, SftRowOptions.AugmentationSeed), (o.Overflow, o.Augmentation!.Value.AddSystemRatio, o.Augmentation.Value.KeepEmptyThinkRatio, o.Augmentation.Value.Seed));
        // dpo: DPODataset has no pre_processing_chat
        var dpo = Bind("--stage", "dpo", "--data", "p.jsonl", "--tokenizer", "byte", "--empty-think-ratio", "0.5", "--sft-overflow", "skip");
        Assert.Equal(new Dictionary<string, string> { ["sft-overflow"] = "skip", ["empty-think-ratio"] = "0.5" }, Sig(dpo));
        // pretraining text has no conversation rows: no fields (old pretraining checkpoints keep resuming)
        Assert.Empty(Sig(Bind("--data", "t.jsonl", "--tokenizer", "byte")));
        // the built-in conversations carry their own system prompts and no think blocks: no augmentation unless asked for
        Assert.Equal(new SftRowOptions(SftOverflow.Truncate, 0, 1), Bind("--stage", "lora").Rows);
        Assert.Null(Bind("--stage", "lora").Rows.ToSftOptions(128).Augmentation);
        Assert.Equal(new SftRowOptions(SftOverflow.Truncate, 0.5, 1), Bind("--stage", "sft", "--add-system-ratio", "0.5").Rows);
    }

    [Theory]
    [InlineData("--sft-overflow shapes conversation rows", "--data", "t.jsonl", "--tokenizer", "byte", "--sft-overflow", "skip")]
    [InlineData("--add-system-ratio: MiniMind's DPODataset adds no system prompt", "--stage", "dpo", "--add-system-ratio", "0.1")]
    [InlineData("is a token file whose rows are already built", "--stage", "sft", "--data", "rows.bin", "--empty-think-ratio", "1")]
    [InlineData("--add-system-ratio 1.5: must be at most 1", "--stage", "sft", "--add-system-ratio", "1.5")]
    public void Options_a_stage_does_not_use_are_refused(string message, params string[] args)
    {
        var e = Assert.ThrowsAny<Exception>(() => Bind(args));
        Assert.Contains(message, e.Message);
    }

    // The command line's defaults, with MiniMind's two ratios at their neutral values, build MiniMind's SFTDataset rows
    // (input_ids[:max_length], the truncated ones included), through the same DataRequest the train command opens.
    [SkippableFact]
    public void Command_line_rows_equal_minimind_sftdataset_rows()
    {
        using var doc = ChatTestPaths.Json("sft_labels.json");
        var refRoot = doc.RootElement;
        int maxLen = refRoot.GetProperty("max_length").GetInt32();
        string v3 = ChatTestPaths.RequireTokenizerFolder("v3");
        string data = Path.Combine(ChatTestPaths.Fixtures, "sft_rows.jsonl");
        var s = Bind("--stage", "sft", "--data", data, "--tokenizer", v3, "--max-seq-len", maxLen.ToString(), "--add-system-ratio", "0", "--empty-think-ratio", "1");
        using var opened = s.Stage.OpenData(new DataRequest(s.DataPath, s.TokSpec, null, s.MaxSeqLen, true, TextWriter.Null, s.StageOptions, s.Options.Seed, s.Rows));
        var src = Assert.IsType<SftSource>(opened.Data);
        static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var expected = refRoot.GetProperty("sft").EnumerateArray().Where(r => r.GetProperty("augment").ValueKind == JsonValueKind.Null).ToList();
        Assert.Equal(expected.Count, src.Count);
        var (x, y) = (new int[src.SeqLen], new int[src.SeqLen]);
        foreach (var r in expected)
        {
            src.Fill(r.GetProperty("row").GetInt32(), x, y);
            Assert.Equal(Ints(r.GetProperty("x")), x);
            Assert.Equal(Ints(r.GetProperty("y")), y);
        }
        Assert.True(src.Stats.Truncated >= 2, src.Stats.ToString());
        Assert.Equal(0, src.Stats.SkippedCount);
    }

    [Fact]
    public void Resume_with_another_ratio_or_overflow_is_refused_naming_it()
    {
        using var d = new TempDir();
        string[] run = { "train", "--stage", "sft", "--device", "cpu", "--from-weight", "none", "--batch-size", "4", "--save-interval", "1", "--out-dir", d.Path };
        var (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "1" }).ToArray());
        Assert.True(code == 0, o);
        (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "2", "--resume", "--empty-think-ratio", "0.5" }).ToArray());
        Assert.NotEqual(0, code);
        Assert.Contains("empty-think-ratio: checkpoint 1, requested 0.5", o);
        (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "2", "--resume", "--sft-overflow", "skip" }).ToArray());
        Assert.NotEqual(0, code);
        Assert.Contains("sft-overflow: checkpoint truncate, requested skip", o);
        (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "2", "--resume" }).ToArray());
        Assert.True(code == 0, o);
        Assert.Contains("resumed from", o);
    }
}
