namespace Minimind.Plots;

/// <summary>
/// A bar chart of a markdown table's figures (docs/benchmarks.md, a GPU session's report): one bar group per row,
/// labelled by a text column, one series per chosen numeric column.
/// </summary>
public static class TableBars
{
    /// <summary>
    /// The table in <paramref name="markdown"/> under the first heading containing <paramref name="section"/> (the first
    /// table of the text when null; <paramref name="index"/> picks a later one under that heading, 1-based).
    /// Throws an ArgumentException listing the headings that have tables when none matches.
    /// </summary>
    public static MarkdownTable Find(string markdown, string? section, int index = 1)
    {
        var all = MarkdownTable.All(markdown);
        var under = section is null ? all : all.Where(t => t.Heading.Contains(section, StringComparison.OrdinalIgnoreCase)).ToList();
        if (under.Count >= index && index >= 1) return under[index - 1];
        var headings = all.Select(t => $"'{t.Heading}'").Distinct();
        throw new ArgumentException(under.Count == 0
            ? $"no table under a heading containing '{section}' (headings with tables: {string.Join(", ", headings)})"
            : $"only {under.Count} table(s) under '{section}', asked for number {index}");
    }

    /// <summary>
    /// Bars of <paramref name="columns"/> (every column after the label's whose cells all hold a number, when empty), one group
    /// per row labelled by <paramref name="labelColumn"/> (the first column when null).
    /// </summary>
    public static BarChartData From(MarkdownTable t, IReadOnlyList<string> columns, string? labelColumn, string title, string valueLabel)
    {
        if (t.Rows.Count == 0) throw new ArgumentException($"the table under '{t.Heading}' has no rows");
        int label = labelColumn is null ? 0 : t.Column(labelColumn);
        var chosen = columns.Count > 0 ? columns.Select(t.Column).ToList()
            : Enumerable.Range(0, t.Header.Count).Where(c => c != label && Enumerable.Range(0, t.Rows.Count).All(r => MarkdownTable.Number(t.Cell(r, c)) is not null)).ToList();
        if (chosen.Count == 0) throw new ArgumentException($"the table under '{t.Heading}' has no column whose every cell is a number; name them with --columns");
        var values = Enumerable.Range(0, t.Rows.Count).Select(r => (IReadOnlyList<double?>)chosen.Select(c => MarkdownTable.Number(t.Cell(r, c))).ToList()).ToList();
        var rows = Enumerable.Range(0, t.Rows.Count).Select(r => MarkdownTable.Plain(t.Cell(r, label))).ToList();
        return new BarChartData
        {
            Title = title,
            Series = chosen.Select(c => MarkdownTable.Plain(t.Header[c])).ToList(),
            Panels = new[] { new BarPanel(valueLabel, rows, values) },
        };
    }
}
