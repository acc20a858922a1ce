namespace Minimind.Serve;

/// <summary>
/// A reply's text as it streams: applies the request's stop strings (the reply ends before the first one; text that could
/// still become one is held back) and splits what is safe to send into <c>reasoning_content</c> and <c>content</c> deltas
/// as MiniMind's <c>generate_stream_response</c> does: with thinking open, everything before <c>&lt;/think&gt;</c> is
/// reasoning, the newlines right after it are dropped, the rest is content; with thinking closed, all of it is content.
/// Unlike MiniMind's, the split does not depend on how the text arrives in pieces (a tag or the newlines after it may
/// come split over tokens).
/// </summary>
public sealed class ReplyStream(bool openThinking, IReadOnlyList<string> stops)
{
    private string _full = "";
    private int _emitted;
    private bool _thinkingEnded = !openThinking;
    private const string CloseThink = "</think>";
    private readonly int _holdBack = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;
    private bool _skipNewlines;

    /// <summary>The reply so far (cut at a stop string once one appeared).</summary>
    public string Text => _full;
    /// <summary>True once a stop string appeared: the caller stops generating.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns the deltas now safe to send (<paramref name="final"/>: the reply is complete,
    /// send everything).</summary>
    public List<(bool Reasoning, string Text)> Add(string text, bool final = false)
    {
        var deltas = new List<(bool, string)>();
        if (Stopped) return deltas;
        int from = Math.Max(0, _full.Length - _holdBack);
        _full += text;
        int cut = -1;
        foreach (var s in stops)
        {
            int at = _full.IndexOf(s, from, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0) { _full = _full[..cut]; Stopped = true; }
        int visible = Stopped || final ? _full.Length : Math.Max(_emitted, _full.Length - _holdBack);
        string vis = _full[..visible];
        if (!_thinkingEnded)
        {
            int pos = vis.IndexOf(CloseThink, StringComparison.Ordinal);
            if (pos < 0)
            {
                // a "</thi" at the end may be the start of the tag: it waits for the next piece
                int safe = final || Stopped ? vis.Length : vis.Length - PartialTag(vis);
                if (safe > _emitted) { deltas.Add((true, vis[_emitted..safe])); _emitted = safe; }
                return deltas;
            }
            _thinkingEnded = true;
            if (pos > _emitted) deltas.Add((true, vis[_emitted..pos]));
            _emitted = Math.Max(_emitted, pos + CloseThink.Length);
            _skipNewlines = true;
        }
        // MiniMind lstrips '\n' right after </think>; here also when they come in a later piece, so the split does not
        // depend on how the text was cut
        if (_skipNewlines)
        {
            while (_emitted < vis.Length && vis[_emitted] == '\n') _emitted++;
            if (_emitted < vis.Length) _skipNewlines = false;
        }
        if (vis.Length > _emitted) { deltas.Add((false, vis[_emitted..])); _emitted = vis.Length; }
        return deltas;
    }

    // Length of the longest proper prefix of </think> that ends the text.
    private static int PartialTag(string text)
    {
        for (int n = Math.Min(CloseThink.Length - 1, text.Length); n > 0; n--)
            if (text.EndsWith(CloseThink[..n], StringComparison.Ordinal)) return n;
        return 0;
    }
}
