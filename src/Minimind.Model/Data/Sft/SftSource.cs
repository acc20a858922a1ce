using System.Text.Json;
using Minimind.Model.Chat;

namespace Minimind.Model.Data.Sft;

/// <summary>
/// Chat SFT samples as MiniMind's <c>SFTDataset</c> builds them (<c>trainer/train_full_sft.py</c>): each conversation
/// is rendered with the tokenizer's chat template (<see cref="SftConversation.Render"/>), tokenized, cut or skipped
/// at max_seq_len (<see cref="SftOptions.Overflow"/>), padded with the pad id, and labelled by
/// <see cref="SftLabels.Generate"/>; the trainer sees inputs = row[:-1] and targets = labels[1:], so only assistant
/// spans are trained. Rows are rendered and tokenized once, up front, on all cores (the result does not depend on
/// the thread count). Rows without an assistant turn, over-long rows and rows left without any label token are
/// skipped (except with <see cref="SftOverflow.Truncate"/>, MiniMind's behaviour, which keeps the last two) and counted in
/// <see cref="Stats"/>; malformed JSON, unknown roles and template errors stop with an error naming file:line.
/// </summary>
public sealed class SftSource : IPretrainSource
{
    private readonly SftRows _rows;

    /// <summary>Where the rows came from (a path, or "built-in conversations").</summary>
    public string Origin { get; }
    /// <summary>What building the rows did.</summary>
    public SftStats Stats { get; }
    /// <inheritdoc/>
    public long Count => _rows.Count;
    /// <inheritdoc/>
    public int SeqLen => _rows.MaxSeqLen - 1;
    /// <summary>Row length before the shift.</summary>
    public int MaxSeqLen => _rows.MaxSeqLen;

    private SftSource(string origin, SftRows rows, SftStats stats) { Origin = origin; _rows = rows; Stats = stats; }

    /// <summary>
    /// Reads a jsonl file of <c>{"conversations": [{"role", "content", "reasoning_content"?, "tools"?, "tool_calls"?}, ...]}</c>
    /// lines. <paramref name="log"/> gets progress lines (default: stderr for files over 8 MB).
    /// </summary>
    public static SftSource Open(string path, ChatFormat format, SftOptions options, TextWriter? log = null, int threads = 0)
    {
        long size = File.Exists(path) ? new FileInfo(path).Length : throw new FileNotFoundException($"SFT data file not found: {path}", path);
        log ??= size > (8 << 20) ? Console.Error : null;
        var source = Build(path, JsonlTexts.ReadLines(path).Select(l => (Func<SftConversation>)(() => ParseLine(path, l.LineNumber, l.Text, "conversations"))),
            format, options, threads, log);
        if (source.Stats.Read == 0) throw new InvalidDataException($"{path}: no conversations (the file has no non-blank lines)");
        if (source.Count == 0) throw new InvalidDataException($"{path}: every conversation was skipped: {source.Stats}");
        return source;
    }

    /// <summary>Rows from conversations already in memory (e.g. <see cref="BuiltinConversations"/>).</summary>
    public static SftSource FromConversations(string origin, IEnumerable<SftConversation> conversations, ChatFormat format, SftOptions options, int threads = 0)
    {
        var source = Build(origin, conversations.Select(c => (Func<SftConversation>)(() => c)), format, options, threads, null);
        if (source.Count == 0) throw new InvalidDataException($"{origin}: every conversation was skipped: {source.Stats}");
        return source;
    }

    /// <summary>
    /// The built-in English conversation set (<see cref="BuiltinConversations"/>), for <c>--stage sft</c> without <c>--data</c>.
    /// MiniMind's augmentation is always off here: the set has its own system prompts, and MiniMind's mostly Chinese
    /// ones would not fit the byte-tokenized 128-token context.
    /// </summary>
    public static SftSource Builtin(ChatFormat format, SftOptions options, int count = BuiltinConversations.DefaultCount) =>
        FromConversations("built-in conversations", BuiltinConversations.Create(count), format, options with { Augmentation = null });

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index), $"sample {index} of {Count}");
        _rows.Fill((int)index, inputs, targets);
    }

    /// <summary>Token ids of row <paramref name="index"/> before padding (for inspection and tests).</summary>
    public int RowLength(long index) => _rows.Length((int)index);

    internal static SftConversation ParseLine(string path, long lineNo, string line, string field)
    {
        string origin = $"{path}:{lineNo}";
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(field, out var conv))
                throw new InvalidDataException($"{origin}: expected a JSON object with a \"{field}\" array");
            return SftConversation.Parse(conv, origin);
        }
        catch (JsonException e) { throw new InvalidDataException($"{origin}: invalid JSON: {e.Message}", e); }
    }

    private static SftSource Build(string origin, IEnumerable<Func<SftConversation>> items, ChatFormat format, SftOptions options, int threads, TextWriter? log)
    {
        var rows = new SftRows(format, options.MaxSeqLen);
        var stats = new SftStats();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lastLog = TimeSpan.Zero;
        // Parsed, rendered and tokenized in parallel chunks; kept in input order, so rows never depend on the thread count.
        ParallelChunks.Run(items, threads, (make, index) =>
        {
            var conv = make();
            if (!conv.HasAssistant) return (conv, (int[]?)null, "no assistant turn", false);
            var choices = options.Augmentation?.Choose(index) ?? SftChoices.None;
            string text = conv.Render(format.Template, choices);
            return (conv, format.Tokenizer.Encode(text), (string?)null, false);
        }, r =>
        {
            stats.Read++;
            var (conv, ids, skip, _) = r;
            if (ids is null) { stats.Skip(skip!, conv.Origin); return; }
            ids = rows.Fit(ids, options.Overflow, conv.Origin, stats, out bool truncated);
            if (ids is null) return;
            rows.Add(ids);
            int labelled = rows.CountLabels(rows.Count - 1);
            if (labelled == 0 && options.Overflow != SftOverflow.Truncate)
            {
                // MiniMind keeps such rows (all targets ignored); e.g. "assistant\n" followed by whitespace tokenizes without the marker's "\n"
                rows.RemoveLast();
                stats.Skip("no label token (the assistant marker is not in the token ids)", conv.Origin);
                return;
            }
            stats.Kept++;
            if (truncated) stats.Truncated++;
            stats.Tokens += ids.Length;
            stats.LabelTokens += labelled;
            if (labelled == 0) stats.WithoutLabels++;
            if (log is not null && clock.Elapsed - lastLog > TimeSpan.FromSeconds(2))
            {
                lastLog = clock.Elapsed;
                log.WriteLine($"building SFT rows from {origin}: {stats.Read} conversations, {stats.Kept} kept");
            }
        });
        return new SftSource(origin, rows, stats);
    }
}
