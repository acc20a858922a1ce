using System.Text.Json;
using Minimind.Model.Chat;

namespace Minimind.Model.Data.Sft;

/// <summary>
/// DPO pairs as MiniMind's <c>DPODataset</c> builds them (<c>trainer/train_dpo.py</c>): jsonl lines
/// <c>{"chosen": [messages], "rejected": [messages]}</c>, each side rendered with the chat template (no system-prompt
/// pre-processing, no tools argument; the empty-think post-processing as in SFT), tokenized, padded to max_seq_len
/// (MiniMind pads with the pad id and truncates), labelled with the same assistant-span rule:
/// x = ids[:-1], y = ids[1:], and y is <see cref="Batch.IgnoreIndex"/> where MiniMind's loss mask is 0. A pair
/// is skipped (counted) when either side has no assistant turn or, with <see cref="SftOverflow.Skip"/>, is too long.
/// MiniMind's DPO default max_length is 1024.
/// </summary>
public sealed class DpoPairSource : IPreferenceSource
{
    private readonly SftRows _chosen, _rejected;

    /// <summary>The file read.</summary>
    public string Origin { get; }
    /// <summary>What building the pairs did (one "conversation" = one pair).</summary>
    public SftStats Stats { get; }
    /// <inheritdoc/>
    public long Count => _chosen.Count;
    /// <inheritdoc/>
    public int SeqLen => _chosen.MaxSeqLen - 1;

    private DpoPairSource(string origin, SftRows chosen, SftRows rejected, SftStats stats) { Origin = origin; _chosen = chosen; _rejected = rejected; Stats = stats; }

    /// <summary>Reads <paramref name="path"/>; errors name file:line.</summary>
    public static DpoPairSource Open(string path, ChatFormat format, SftOptions options, int threads = 0)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"DPO data file not found: {path}", path);
        var source = Build(path, JsonlTexts.ReadLines(path).Select(line =>
        {
            string origin = $"{path}:{line.LineNumber}";
            return (origin, (Func<(SftConversation, SftConversation)>)(() => ParsePair(origin, line.Text)));
        }), format, options, threads);
        if (source.Stats.Read == 0) throw new InvalidDataException($"{path}: no pairs (the file has no non-blank lines)");
        return source;
    }

    /// <summary>
    /// The built-in preference set (<see cref="BuiltinPreferences"/>), for <c>--stage dpo</c> without <c>--data</c>;
    /// augmentation off, as for the built-in conversations.
    /// </summary>
    public static DpoPairSource Builtin(ChatFormat format, SftOptions options, int count = BuiltinPreferences.DefaultCount) =>
        Build("built-in preference pairs", BuiltinPreferences.Create(count).Select((p, i) =>
            ($"built-in preference pair {i}", (Func<(SftConversation, SftConversation)>)(() => p))), format, options with { Augmentation = null }, 0);

    private static DpoPairSource Build(string name, IEnumerable<(string Origin, Func<(SftConversation, SftConversation)> Pair)> items,
        ChatFormat format, SftOptions options, int threads)
    {
        var chosen = new SftRows(format, options.MaxSeqLen);
        var rejected = new SftRows(format, options.MaxSeqLen);
        var stats = new SftStats();
        ParallelChunks.Run(items, threads, (item, index) =>
        {
            string origin = item.Origin;
            var (c, r) = item.Pair();
            if (!c.HasAssistant || !r.HasAssistant) return (origin, (int[]?)null, (int[]?)null);
            var choices = options.Augmentation?.Choose(index) ?? SftChoices.None;
            return (origin, format.Tokenizer.Encode(c.Render(format.Template, choices, preProcess: false)),
                            format.Tokenizer.Encode(r.Render(format.Template, choices, preProcess: false)));
        }, res =>
        {
            stats.Read++;
            var (origin, ci, ri) = res;
            if (ci is null || ri is null) { stats.Skip("chosen or rejected has no assistant turn", origin); return; }
            var cFit = chosen.Fit(ci, options.Overflow, origin + " (chosen)", stats, out bool ct);
            if (cFit is null) return;
            var rFit = rejected.Fit(ri, options.Overflow, origin + " (rejected)", stats, out bool rt);
            if (rFit is null) return;
            chosen.Add(cFit);
            rejected.Add(rFit);
            stats.Kept++;
            if (ct || rt) stats.Truncated++;
            stats.Tokens += cFit.Length + rFit.Length;
            int labelled = chosen.CountLabels(chosen.Count - 1) + rejected.CountLabels(rejected.Count - 1);
            stats.LabelTokens += labelled;
            if (labelled == 0) stats.WithoutLabels++;
        });
        if (stats.Read > 0 && chosen.Count == 0) throw new InvalidDataException($"{name}: every pair was skipped: {stats}");
        return new DpoPairSource(name, chosen, rejected, stats);
    }

    private static (SftConversation Chosen, SftConversation Rejected) ParsePair(string origin, string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("chosen", out var c) || !root.TryGetProperty("rejected", out var r))
                throw new InvalidDataException($"{origin}: expected a JSON object with \"chosen\" and \"rejected\" message arrays");
            return (SftConversation.Parse(c, origin + " chosen"), SftConversation.Parse(r, origin + " rejected"));
        }
        catch (JsonException e) { throw new InvalidDataException($"{origin}: invalid JSON: {e.Message}", e); }
    }

    /// <inheritdoc/>
    public void Fill(long index, Span<int> chosenInputs, Span<int> chosenTargets, Span<int> rejectedInputs, Span<int> rejectedTargets)
    {
        if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index), $"pair {index} of {Count}");
        _chosen.Fill((int)index, chosenInputs, chosenTargets);
        _rejected.Fill((int)index, rejectedInputs, rejectedTargets);
    }
}
