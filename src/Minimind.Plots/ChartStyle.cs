using System.Globalization;
using ScottPlot;

namespace Minimind.Plots;

/// <summary>
/// The look every chart shares: one sans font, one colour cycle (matplotlib's tab10, which readers of training
/// curves know), fixed panel margins so stacked panels line up, and the tick formats of the axes.
/// </summary>
public static class ChartStyle
{
    /// <summary>Series colours in order; the n-th run gets <c>Palette[n % 10]</c>.</summary>
    public static IReadOnlyList<Color> Palette { get; } = new[]
    {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    }.Select(Color.FromHex).ToArray();

    /// <summary>The n-th series colour (cycling).</summary>
    public static Color Series(int n) => Palette[n % Palette.Count];

    /// <summary>DejaVu Sans, bundled with this assembly (<see cref="BundledFont"/>), so text renders on machines without fonts.</summary>
    public const string FontName = "DejaVu Sans";

    /// <summary>Margins around a panel's data area in pixels. Fixed, not measured, so that stacked panels share one x scale on screen.</summary>
    public static PixelPadding Margins(bool title, bool xLabel, bool rightAxis, float left = 90) =>
        new(left, rightAxis ? 95 : 30, xLabel ? 55 : 28, title ? 45 : 12);

    /// <summary>A new panel in the shared look.</summary>
    public static Plot Panel()
    {
        BundledFont.Register();
        var p = new Plot();
        p.Font.Set(FontName);
        p.Legend.FontName = FontName;
        p.Legend.FontSize = 12;
        p.Legend.BackgroundColor = Colors.White.WithAlpha(0.85);
        p.Axes.Title.Label.FontSize = 16;
        return p;
    }

    /// <summary>Tick labels in scientific notation (learning rates: 5e-4 reads better than 0.0005).</summary>
    public static void ScientificTicks(IAxis axis) =>
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v == 0 ? "0" : v.ToString("0.##e+0", CultureInfo.InvariantCulture) };

    /// <summary>Only whole-number ticks (optimizer steps, token counts).</summary>
    public static void IntegerTicks(IAxis axis) =>
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true, LabelFormatter = Compact };

    /// <summary>12,000 → "12k", 3,500,000 → "3.5M": tick labels that fit under a point.</summary>
    public static string Compact(double v)
    {
        double a = Math.Abs(v);
        return a >= 1e9 ? (v / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G"
            : a >= 1e6 ? (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M"
            : a >= 1e4 ? (v / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k"
            : v.ToString("0.####", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Panels stacked top to bottom in one chart, each <c>Units</c> rows of a shared row grid tall (so heights keep their
    /// proportions at any image size).
    /// </summary>
    public static Multiplot Stack(IReadOnlyList<(Plot Plot, int Units)> panels)
    {
        if (panels.Count == 0) throw new ArgumentException("a chart needs at least one panel");
        var chart = new Multiplot();
        chart.Reset(panels[0].Plot); // a new Multiplot holds a blank plot of its own
        foreach (var (p, _) in panels.Skip(1)) chart.AddPlot(p);
        var grid = new ScottPlot.MultiplotLayouts.CustomGrid();
        int rows = panels.Sum(p => p.Units), row = 0;
        foreach (var (p, units) in panels)
        {
            grid.Set(p, new GridCell(row, 0, rows, 1, units, 1));
            row += units;
        }
        chart.Layout = grid;
        return chart;
    }
}
