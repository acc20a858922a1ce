using System.Text;

namespace Minimind.Model.Data.Sft;

/// <summary>What building the rows did: rows read, kept, skipped (by reason, with the first places), truncated, token counts.</summary>
public sealed class SftStats
{
    private readonly Dictionary<string, (long Count, List<string> First)> _skips = new(StringComparer.Ordinal);

    /// <summary>Conversations read.</summary>
    public long Read { get; internal set; }
    /// <summary>Rows kept.</summary>
    public long Kept { get; internal set; }
    /// <summary>Rows cut at max_seq_len (only with <see cref="SftOverflow.Truncate"/>).</summary>
    public long Truncated { get; internal set; }
    /// <summary>Kept rows whose every target is ignored (their assistant turn lies past max_seq_len).</summary>
    public long WithoutLabels { get; internal set; }
    /// <summary>Non-pad tokens of the kept rows.</summary>
    public long Tokens { get; internal set; }
    /// <summary>Labelled targets (assistant tokens) of the kept rows.</summary>
    public long LabelTokens { get; internal set; }
    /// <summary>Skipped rows by reason: count and up to three places (file:line).</summary>
    public IReadOnlyDictionary<string, (long Count, List<string> First)> Skipped => _skips;
    /// <summary>Total skipped rows.</summary>
    public long SkippedCount => _skips.Values.Sum(s => s.Count);

    internal void Skip(string reason, string origin)
    {
        if (!_skips.TryGetValue(reason, out var s)) s = (0, new List<string>());
        if (s.First.Count < 3) s.First.Add(origin);
        _skips[reason] = (s.Count + 1, s.First);
    }

    /// <summary>One or more lines for the log.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append($"{Kept} of {Read} conversations kept, {Tokens} tokens, {LabelTokens} labelled (assistant) tokens");
        if (Truncated > 0) sb.Append($", {Truncated} truncated at max_seq_len");
        if (WithoutLabels > 0) sb.Append($", {WithoutLabels} without any label token");
        foreach (var (reason, (count, first)) in _skips)
            sb.Append($"\n  skipped {count}: {reason} (e.g. {string.Join(", ", first)})");
        return sb.ToString();
    }
}
