namespace Minimind.Plots;

/// <summary>One panel of a bar chart: categories (rows) in one unit, each with a value per series (null: not measured).</summary>
public sealed record BarPanel(string ValueLabel, IReadOnlyList<string> Categories, IReadOnlyList<IReadOnlyList<double?>> Values)
{
    /// <summary>Throws when a category lacks a value slot for some series.</summary>
    public BarPanel Checked(int series)
    {
        if (Values.Count != Categories.Count) throw new ArgumentException($"bar panel '{ValueLabel}': {Categories.Count} categories but {Values.Count} value rows");
        foreach (var row in Values)
            if (row.Count != series) throw new ArgumentException($"bar panel '{ValueLabel}': a row holds {row.Count} values for {series} series");
        return this;
    }
}

/// <summary>
/// What a benchmark bar chart shows: figures of "ours" and the baselines it ran beside (the series), grouped by
/// what was measured (the categories), in one or more panels of different units.
/// </summary>
public sealed record BarChartData
{
    /// <summary>Chart title (what was measured, on what).</summary>
    public required string Title { get; init; }
    /// <summary>Series names in legend order (ours first).</summary>
    public required IReadOnlyList<string> Series { get; init; }
    /// <summary>Panels from top to bottom.</summary>
    public required IReadOnlyList<BarPanel> Panels { get; init; }
}
