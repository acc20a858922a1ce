using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Data.Sft;

namespace Minimind.Model.Tests.Chat;

/// <summary>
/// SFT and DPO rows vs MiniMind's own <c>SFTDataset</c>/<c>DPODataset</c> code run on the same rows
/// (tests/fixtures/chat/sft_labels.json, written by tools/chat/sft_labels_ref.py with HF tokenizers' ids):
/// padded ids, labels, and the shifted inputs/targets the model trains on.
/// </summary>
public sealed class SftRowsReferenceTests
{
    private static readonly Lazy<JsonDocument> _ref = new(() => ChatTestPaths.Json("sft_labels.json"));
    private static JsonElement Ref => _ref.Value.RootElement;
    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static string Rows(string name) => Path.Combine(ChatTestPaths.Fixtures, name);
    private static int MaxLen => Ref.GetProperty("max_length").GetInt32();

    [SkippableFact]
    public void Markers_equal_minimind_bos_and_eos_ids()
    {
        var f = ChatTestPaths.Format("v3");
        Assert.Equal(Ints(Ref.GetProperty("bos_id")), f.AssistantStart);
        Assert.Equal(Ints(Ref.GetProperty("eos_id")), f.TurnEnd);
        Assert.Equal(Ref.GetProperty("pad_id").GetInt32(), f.Tokenizer.PadId);
    }

    [SkippableFact]
    public void Sft_source_rows_equal_minimind_without_augmentation()
    {
        var f = ChatTestPaths.Format("v3");
        var src = SftSource.Open(Rows("sft_rows.jsonl"), f, new SftOptions { MaxSeqLen = MaxLen, Augmentation = null, Overflow = SftOverflow.Truncate });
        var expected = Ref.GetProperty("sft").EnumerateArray().Where(r => r.GetProperty("augment").ValueKind == JsonValueKind.Null).ToList();
        Assert.Equal(expected.Count, src.Count);
        var x = new int[src.SeqLen];
        var y = new int[src.SeqLen];
        foreach (var r in expected)
        {
            int i = r.GetProperty("row").GetInt32();
            src.Fill(i, x, y);
            Assert.Equal(Ints(r.GetProperty("x")), x);
            Assert.Equal(Ints(r.GetProperty("y")), y);
        }
        Assert.True(src.Stats.Truncated >= 2);
    }

    // MiniMind's defaults with its two ratios at their neutral values (random() < 0 never adds a system prompt, random() > 1
    // never removes an empty think block): the default overflow (truncate) gives MiniMind's rows, the truncated ones included.
    [SkippableFact]
    public void Default_options_with_neutral_ratios_equal_minimind_truncated_rows_included()
    {
        var f = ChatTestPaths.Format("v3");
        var src = SftSource.Open(Rows("sft_rows.jsonl"), f, new SftOptions { MaxSeqLen = MaxLen, Augmentation = new SftAugmentation(42, AddSystemRatio: 0, KeepEmptyThinkRatio: 1) });
        var expected = Ref.GetProperty("sft").EnumerateArray().Where(r => r.GetProperty("augment").ValueKind == JsonValueKind.Null).ToList();
        Assert.Equal(expected.Count, src.Count);
        var x = new int[src.SeqLen];
        var y = new int[src.SeqLen];
        int full = 0;
        foreach (var r in expected)
        {
            int i = r.GetProperty("row").GetInt32();
            src.Fill(i, x, y);
            Assert.Equal(Ints(r.GetProperty("x")), x);
            Assert.Equal(Ints(r.GetProperty("y")), y);
            if (Ints(r.GetProperty("input_ids"))[^1] != f.Tokenizer.PadId) full++;
        }
        Assert.True(full >= 2, $"the fixture holds {full} rows MiniMind truncated");
        Assert.Equal(full, src.Stats.Truncated);
        Assert.Equal(SftOverflow.Truncate, new SftOptions().Overflow);
    }

    [SkippableFact]
    public void Augmented_rows_equal_minimind_with_the_same_choices()
    {
        var f = ChatTestPaths.Format("v3");
        var convs = File.ReadAllLines(Rows("sft_rows.jsonl")).Select((l, i) =>
            SftConversation.Parse(JsonDocument.Parse(l).RootElement.GetProperty("conversations"), $"sft_rows.jsonl:{i + 1}")).ToList();
        var row = new int[MaxLen];
        var labels = new int[MaxLen];
        int checkedRows = 0;
        foreach (var r in Ref.GetProperty("sft").EnumerateArray().Where(r => r.GetProperty("augment").ValueKind != JsonValueKind.Null))
        {
            var aug = r.GetProperty("augment");
            var choices = new SftChoices(aug[0].GetInt32(), aug[1].GetBoolean());
            var ids = f.Tokenizer.Encode(convs[r.GetProperty("row").GetInt32()].Render(f.Template, choices));
            int n = Math.Min(ids.Length, MaxLen);
            ids.AsSpan(0, n).CopyTo(row);
            row.AsSpan(n).Fill(f.Tokenizer.PadId);
            SftLabels.Generate(row, f.AssistantStart, f.TurnEnd, labels);
            Assert.Equal(Ints(r.GetProperty("input_ids")), row);
            Assert.Equal(Ints(r.GetProperty("labels")), labels);
            checkedRows++;
        }
        Assert.Equal(8, checkedRows);
    }

    [SkippableFact]
    public void Skip_overflow_leaves_out_overlong_and_unlabelled_rows_and_counts_them()
    {
        var f = ChatTestPaths.Format("v3");
        var src = SftSource.Open(Rows("sft_rows.jsonl"), f, new SftOptions { MaxSeqLen = MaxLen, Augmentation = null, Overflow = SftOverflow.Skip });
        // MiniMind's rows that filled max_length are the over-long ones (their ids reach the end, no padding)
        var plain = Ref.GetProperty("sft").EnumerateArray().Where(r => r.GetProperty("augment").ValueKind == JsonValueKind.Null).ToList();
        int full = plain.Count(r => Ints(r.GetProperty("input_ids"))[^1] != f.Tokenizer.PadId);
        Assert.True(full >= 1);
        Assert.Equal(plain.Count - full, src.Count);
        Assert.Equal(full, src.Stats.SkippedCount);
        var reason = Assert.Single(src.Stats.Skipped);
        Assert.Contains("longer than --max-seq-len", reason.Key);
        Assert.Contains("sft_rows.jsonl:", reason.Value.First[0]);
    }

    [SkippableFact]
    public void Dpo_pairs_equal_minimind()
    {
        var f = ChatTestPaths.Format("v3");
        var src = DpoPairSource.Open(Rows("dpo_rows.jsonl"), f, new SftOptions { MaxSeqLen = MaxLen, Augmentation = null, Overflow = SftOverflow.Truncate });
        var pairs = Ref.GetProperty("dpo").EnumerateArray().ToList();
        Assert.Equal(pairs.Count, src.Count);
        int s = src.SeqLen;
        int[] cx = new int[s], cy = new int[s], rx = new int[s], ry = new int[s];
        for (int i = 0; i < pairs.Count; i++)
        {
            src.Fill(i, cx, cy, rx, ry);
            foreach (var (side, x, y) in new[] { ("chosen", cx, cy), ("rejected", rx, ry) })
            {
                Assert.Equal(Ints(pairs[i].GetProperty("x_" + side)), x);
                var yy = Ints(pairs[i].GetProperty("y_" + side));
                var mask = Ints(pairs[i].GetProperty("mask_" + side));
                Assert.Equal(yy.Select((t, k) => mask[k] == 1 ? t : Batch.IgnoreIndex).ToArray(), y);
            }
        }
    }
}
