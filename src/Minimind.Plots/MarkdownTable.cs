using System.Globalization;
using System.Text.RegularExpressions;

namespace Minimind.Plots;

/// <summary>
/// A pipe table as the benchmark commands print and docs/benchmarks.md records them (<c>| a | b |</c> rows under a
/// <c>|---|</c> separator), with the heading it sits under, so its figures can be charted.
/// </summary>
public sealed partial record MarkdownTable(string Heading, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>Every table of <paramref name="markdown"/>, in order, each with the nearest heading above it ("" when none).</summary>
    public static IReadOnlyList<MarkdownTable> All(string markdown)
    {
        var tables = new List<MarkdownTable>();
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        string heading = "";
        bool fenced = false; // a '# comment' inside a ``` block is not a heading
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (fenced) continue;
            if (line.StartsWith('#')) { heading = line.TrimStart('#').Trim(); continue; }
            if (!IsRow(line) || i + 1 >= lines.Count || !IsSeparator(lines[i + 1].Trim())) continue;
            var header = Cells(line);
            var rows = new List<IReadOnlyList<string>>();
            for (i += 2; i < lines.Count && IsRow(lines[i].Trim()); i++) rows.Add(Cells(lines[i].Trim()));
            i--;
            tables.Add(new MarkdownTable(heading, header, rows));
        }
        return tables;
    }

    /// <summary>The index of the column whose header is <paramref name="name"/> (case-insensitive, markdown emphasis ignored); throws naming the headers otherwise.</summary>
    public int Column(string name)
    {
        for (int i = 0; i < Header.Count; i++)
            if (string.Equals(Plain(Header[i]), Plain(name), StringComparison.OrdinalIgnoreCase)) return i;
        throw new ArgumentException($"table under '{Heading}' has no column '{name}' (its columns: {string.Join(", ", Header.Select(h => $"'{Plain(h)}'"))})");
    }

    /// <summary>The cell at <paramref name="row"/>, <paramref name="column"/> ("" past a short row).</summary>
    public string Cell(int row, int column) => column < Rows[row].Count ? Rows[row][column] : "";

    /// <summary>The first number in <paramref name="cell"/> ("**48.2**" → 48.2, "1,234.5 GB/s" → 1234.5, "2.43×" → 2.43), or null ("—", "FAIL").</summary>
    public static double? Number(string cell)
    {
        var m = NumberPattern().Match(Plain(cell));
        return m.Success && double.TryParse(m.Value.Replace(",", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>Cell text without markdown emphasis or code marks.</summary>
    public static string Plain(string cell) => cell.Replace("**", "").Replace("`", "").Trim();

    private static bool IsRow(string line) => line.StartsWith('|') && line.Length > 1;
    private static bool IsSeparator(string line) => IsRow(line) && line.Trim('|').Split('|').All(c => c.Trim().Trim(':').Length > 0 && c.Trim().Trim(':').All(ch => ch == '-'));
    private static IReadOnlyList<string> Cells(string line) => line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToList();

    [GeneratedRegex(@"-?\d[\d,]*(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex NumberPattern();
}
