namespace Minimind.Cli;

/// <summary>"Did you mean" for mistyped option names and values: the nearest candidate by edit distance.</summary>
public static class Suggest
{
    /// <summary>The candidate closest to <paramref name="typed"/> formatted into <paramref name="format"/>, or "" when none is close.</summary>
    public static string Nearest(string typed, IEnumerable<string> candidates, string format)
    {
        string? best = null;
        int bestD = int.MaxValue;
        foreach (var c in candidates)
        {
            // A prefix ("--learning" for "--learning-rate") counts as close.
            int d = c.StartsWith(typed, StringComparison.Ordinal) ? 1 : Distance(typed, c);
            if (d < bestD) { bestD = d; best = c; }
        }
        return best is not null && bestD <= Math.Max(2, typed.Length / 3) ? string.Format(System.Globalization.CultureInfo.InvariantCulture, format, best) : "";
    }

    /// <summary>Levenshtein distance (insert, delete, substitute; an adjacent swap counts as one).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        return d[a.Length, b.Length];
    }
}
