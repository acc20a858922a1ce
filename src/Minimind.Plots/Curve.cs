namespace Minimind.Plots;

/// <summary>One line's points: x and y of equal length, x ascending.</summary>
public sealed record Curve(IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>A curve with no points.</summary>
    public static Curve Empty { get; } = new(Array.Empty<double>(), Array.Empty<double>());

    /// <summary>Number of points.</summary>
    public int Count => X.Count;

    /// <summary>True when some y is a finite number (a line with only NaN draws nothing and gets no legend entry).</summary>
    public bool HasValues => Y.Any(double.IsFinite);

    /// <summary>Throws when x and y differ in length.</summary>
    public Curve Checked(string what) =>
        X.Count == Y.Count ? this : throw new ArgumentException($"{what}: {X.Count} x values but {Y.Count} y values");
}
