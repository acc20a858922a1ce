using Minimind.Model.Chat;
using Minimind.Model.Data.Sft;
using Minimind.Model.Tokenizer;
using Minimind.Tests;

namespace Minimind.Model.Tests.Chat;

/// <summary>Bad SFT input is an error or a counted skip naming file and line; the built-in set and the augmentation are deterministic.</summary>
public sealed class SftInputTests : IDisposable
{
    private readonly string _dir = TestEnvironment.NewTempDir("mm-sft");
    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(params string[] lines)
    {
        var p = Path.Combine(_dir, "rows.jsonl");
        File.WriteAllLines(p, lines);
        return p;
    }

    private static readonly ChatFormat Byte = ChatFormat.Load("byte");
    private static readonly SftOptions Opts = new() { MaxSeqLen = 96, Augmentation = null, Overflow = SftOverflow.Skip };
    private const string Good = """{"conversations": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}""";

    [Theory]
    [InlineData("""{"conversations": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}""", "unknown role 'robot'")]
    [InlineData("""{"conversations": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]}""", "\"content\" is Number")]
    [InlineData("""{"conversations": [{"role": "user", "text": "x"}]}""", "unknown field \"text\"")]
    [InlineData("""{"conv": []}""", "\"conversations\" array")]
    [InlineData("""{"conversations": [""", "invalid JSON")]
    [InlineData("""{"conversations": [{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}, {"role": "assistant", "content": "y"}]}""", "built-in chat template supports the roles")]
    public void Bad_rows_fail_naming_file_and_line(string bad, string expected)
    {
        var path = Write(Good, "", bad);
        var e = Assert.Throws<InvalidDataException>(() => SftSource.Open(path, Byte, Opts));
        Assert.Contains(path + ":3", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Rows_without_assistant_or_too_long_are_counted_skips()
    {
        string longRow = """{"conversations": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "LONG"}]}""".Replace("LONG", new string('x', 200));
        var path = Write(Good, """{"conversations": [{"role": "user", "content": "only a question"}]}""", longRow, Good);
        var src = SftSource.Open(path, Byte, Opts);
        Assert.Equal(2, src.Count);
        Assert.Equal(4, src.Stats.Read);
        Assert.Equal(path + ":2", src.Stats.Skipped["no assistant turn"].First.Single());
        Assert.Equal(path + ":3", src.Stats.Skipped["longer than --max-seq-len 96"].First.Single());
        var err = Assert.Throws<InvalidDataException>(() => SftSource.Open(path, Byte, Opts with { Overflow = SftOverflow.Error }));
        Assert.Contains(path + ":3", err.Message);
        var cut = SftSource.Open(path, Byte, Opts with { Overflow = SftOverflow.Truncate });
        Assert.Equal(3, cut.Count);
        Assert.Equal(1, cut.Stats.Truncated);
    }

    [Fact]
    public void Byte_format_labels_exactly_the_assistant_reply_and_its_end_marker()
    {
        var src = SftSource.Open(Write(Good), Byte, Opts);
        var x = new int[src.SeqLen];
        var y = new int[src.SeqLen];
        src.Fill(0, x, y);
        var tok = (ByteTokenizer)Byte.Tokenizer;
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n", tok.Decode(x.Where(i => i != tok.PadId).ToArray()));
        Assert.Equal("hello<|im_end|>\n", tok.Decode(y.Where(i => i != Batch.IgnoreIndex).ToArray()));
        // the labels are one contiguous span, each the next input id
        int first = Array.FindIndex(y, t => t != Batch.IgnoreIndex), last = Array.FindLastIndex(y, t => t != Batch.IgnoreIndex);
        for (int t = first; t <= last; t++) Assert.Equal(x[t + 1], y[t]);
    }

    [Fact]
    public void Builtin_conversations_fit_the_tiny_model_and_are_deterministic()
    {
        var a = SftSource.Builtin(Byte, new SftOptions { MaxSeqLen = 128 });
        var b = SftSource.Builtin(Byte, new SftOptions { MaxSeqLen = 128 });
        Assert.True(a.Stats.SkippedCount == 0, a.Stats.ToString());
        Assert.Equal(BuiltinConversations.DefaultCount, a.Count);
        Assert.Contains(BuiltinConversations.Create(), c => c.Messages.Count >= 4);
        var (xa, ya, xb, yb) = (new int[a.SeqLen], new int[a.SeqLen], new int[a.SeqLen], new int[a.SeqLen]);
        for (int i = 0; i < a.Count; i += 97)
        {
            a.Fill(i, xa, ya);
            b.Fill(i, xb, yb);
            Assert.Equal(xa, xb);
            Assert.Equal(ya, yb);
            Assert.Contains(ya, t => t != Batch.IgnoreIndex);
        }
    }

    // The built-in DPO pairs: every pair fits untruncated, the two sides share the prompt and differ in the labelled answer.
    [Fact]
    public void Builtin_preference_pairs_fit_the_tiny_model_and_differ_only_in_the_answer()
    {
        var pairs = DpoPairSource.Builtin(Byte, new SftOptions { MaxSeqLen = 128 });
        Assert.True(pairs.Stats.SkippedCount == 0 && pairs.Stats.Truncated == 0, pairs.Stats.ToString());
        Assert.Equal(BuiltinPreferences.DefaultCount, pairs.Count);
        var (cx, cy, rx, ry) = (new int[pairs.SeqLen], new int[pairs.SeqLen], new int[pairs.SeqLen], new int[pairs.SeqLen]);
        for (int i = 0; i < pairs.Count; i += 37)
        {
            pairs.Fill(i, cx, cy, rx, ry);
            int firstLabel = Array.FindIndex(cy, t => t != Batch.IgnoreIndex);
            Assert.True(firstLabel > 0, $"pair {i}: chosen has no label");
            Assert.Equal(firstLabel, Array.FindIndex(ry, t => t != Batch.IgnoreIndex)); // same prompt length
            Assert.Equal(cx.AsSpan(0, firstLabel + 1).ToArray(), rx.AsSpan(0, firstLabel + 1).ToArray());
            Assert.NotEqual(cy, ry);
        }
    }

    [Fact]
    public void Augmentation_is_a_function_of_seed_and_index_with_minimind_rates()
    {
        var aug = new SftAugmentation(42);
        var choices = Enumerable.Range(0, 20000).Select(i => aug.Choose(i)).ToArray();
        Assert.Equal(choices, Enumerable.Range(0, 20000).Select(i => new SftAugmentation(42).Choose(i)).ToArray());
        double system = choices.Count(c => c.SystemPrompt >= 0) / 20000.0, drop = choices.Count(c => c.DropEmptyThink) / 20000.0;
        Assert.InRange(system, 0.19, 0.21);
        Assert.InRange(drop, 0.79, 0.81);
        Assert.Equal(10, choices.Where(c => c.SystemPrompt >= 0).Select(c => c.SystemPrompt).Distinct().Count());
        Assert.NotEqual(choices.Take(100), Enumerable.Range(0, 100).Select(i => new SftAugmentation(7).Choose(i)));
    }

    [Fact]
    public void Byte_tokenizer_chat_variant_maps_the_markers_to_bos_and_eos()
    {
        var t = new ByteTokenizer(chatMarkers: true);
        var ids = t.Encode("<|im_start|>a<|im_end|>\n<|im_start");
        Assert.Equal(new[] { 257, 97, 258, 10 }, ids[..4]);
        Assert.Equal("<|im_start|>a<|im_end|>\n<|im_start", t.Decode(ids));
        Assert.Equal(new[] { 60, 115, 62 }, new ByteTokenizer().Encode("<s>"));
        Assert.Equal(new[] { 257, 97, 115, 115, 105, 115, 116, 97, 110, 116, 10 }, Byte.AssistantStart);
        Assert.Equal(new[] { 258, 10 }, Byte.TurnEnd);
    }
}

/// <summary>A tokenizer_config.json whose template uses an unsupported construct fails at load, naming the file, field and line.</summary>
public sealed class ChatTemplateLoadTests
{
    [Fact]
    public void Unsupported_template_in_tokenizer_config_is_refused_at_load()
    {
        var dir = TestEnvironment.NewTempDir("mm-tpl");
        try
        {
            var cfg = Path.Combine(dir, "tokenizer_config.json");
            File.WriteAllText(cfg, """{"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{% for m in messages %}\n{% macro x() %}{% endmacro %}{% endfor %}"}""");
            var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.FromTokenizerConfig(dir));
            Assert.True(e.Message.Contains(cfg + " (chat_template):2"), e.Message);
            Assert.Contains("'{% macro %}'", e.Message);
            File.WriteAllText(cfg, """{"bos_token": "<s>", "eos_token": "</s>"}""");
            Assert.Contains("no \"chat_template\"", Assert.Throws<InvalidDataException>(() => ChatTemplate.FromTokenizerConfig(dir)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
