namespace Minimind.Plots;

/// <summary>One run's line on a comparison chart: its legend label and its points.</summary>
public sealed record LabelledCurve(string Label, Curve Points);

/// <summary>What a comparison chart shows: one metric of several runs on one axis pair.</summary>
public sealed record RunComparison
{
    /// <summary>Chart title.</summary>
    public required string Title { get; init; }
    /// <summary>x axis label.</summary>
    public required string XLabel { get; init; }
    /// <summary>y axis label (the metric).</summary>
    public required string YLabel { get; init; }
    /// <summary>True when x counts whole things (steps, tokens): integer ticks.</summary>
    public bool IntegerX { get; init; } = true;
    /// <summary>Draw each run's raw values faintly under a trailing mean (per-step noise such as the training loss).</summary>
    public bool Smooth { get; init; }
    /// <summary>The runs, in legend order.</summary>
    public required IReadOnlyList<LabelledCurve> Runs { get; init; }
}
