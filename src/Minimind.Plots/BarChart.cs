using System.Globalization;
using ScottPlot;

namespace Minimind.Plots;

/// <summary>
/// Benchmark figures as horizontal grouped bars: one row per measured thing (op, model, dtype), one bar per
/// series (ours, then each baseline) in the series' colour, the value printed at the bar's end; panels of
/// different units stack. Horizontal so long row names (op and shape) stay readable.
/// </summary>
public static class BarChart
{
    /// <summary>Image width in pixels.</summary>
    public const int Width = 1000;
    private const int BarPixels = 20, GroupGap = 12, PanelChrome = 90;

    /// <summary>Builds the chart; returns it with its image size.</summary>
    public static (Multiplot Chart, int Width, int Height) Build(BarChartData d)
    {
        if (d.Series.Count == 0) throw new ArgumentException($"bar chart '{d.Title}': no series");
        if (d.Panels.Count == 0) throw new ArgumentException($"bar chart '{d.Title}': no panels");
        int longest = d.Panels.SelectMany(p => p.Categories).Select(c => c.Length).DefaultIfEmpty(4).Max();
        float left = Math.Clamp(16 + 7.2f * longest, 60, 520);
        int group = d.Series.Count * BarPixels + GroupGap;
        // The last panel is one bar group taller: its legend sits in that empty band below the bars, covering none.
        var heights = d.Panels.Select((p, i) => (p.Categories.Count + (i == d.Panels.Count - 1 ? 1 : 0)) * group + PanelChrome).ToList();
        // Grid rows of 10 pixels keep each panel's height proportional to its number of bars.
        var panels = d.Panels.Select((p, i) => (Panel(d, p.Checked(d.Series.Count), i == 0, i == d.Panels.Count - 1, left), (heights[i] + 9) / 10)).ToList();
        return (ChartStyle.Stack(panels), Width, panels.Sum(p => p.Item2) * 10 + 40);
    }

    /// <summary>Renders <paramref name="d"/> to <paramref name="path"/> (.png or .svg).</summary>
    public static void Save(BarChartData d, string path)
    {
        var (chart, w, h) = Build(d);
        ChartFile.Save(chart, path, w, h);
    }

    private static Plot Panel(BarChartData d, BarPanel panel, bool first, bool last, float left)
    {
        var p = ChartStyle.Panel();
        if (first) p.Title(d.Title);
        p.XLabel(panel.ValueLabel);
        int n = d.Series.Count;
        double barSize = 0.8 / n, max = 0;
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int c = 0; c < panel.Categories.Count; c++)
        {
            double center = -c; // first category at the top
            ticks.Add(new Tick(center, panel.Categories[c], isMajor: true));
            for (int s = 0; s < n; s++)
            {
                if (panel.Values[c][s] is not { } v || !double.IsFinite(v)) continue;
                max = Math.Max(max, v);
                bars.Add(new Bar
                {
                    Position = center + 0.4 - barSize * (s + 0.5), // series top to bottom in legend order
                    Value = v,
                    Size = barSize * 0.92,
                    FillColor = ChartStyle.Series(s),
                    LineWidth = 0,
                    Label = Format(v),
                    Orientation = Orientation.Horizontal,
                });
            }
        }
        var bp = p.Add.Bars(bars);
        bp.Horizontal = true;
        bp.ValueLabelStyle.FontSize = 11;
        bp.ValueLabelStyle.FontName = ChartStyle.FontName;
        p.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        p.Axes.Left.MajorTickStyle.Length = 0;
        p.Axes.Left.MinorTickStyle.Length = 0;
        p.Grid.YAxisStyle.IsVisible = false;
        p.Axes.SetLimitsY(-(panel.Categories.Count - 1) - 0.55 - (last ? 1 : 0), 0.55);
        p.Axes.SetLimitsX(0, max > 0 ? max * 1.18 : 1); // room for the value labels
        if (last)
        {
            foreach (var (name, s) in d.Series.Select((name, s) => (name, s)))
                p.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = ChartStyle.Series(s) });
            p.Legend.Alignment = Alignment.LowerRight;
            p.ShowLegend();
        }
        p.Layout.Fixed(new PixelPadding(left, 30, 50, first ? 45 : 12));
        return p;
    }

    /// <summary>A bar's printed value: three significant figures, large values compacted (12.3k).</summary>
    public static string Format(double v)
    {
        double a = Math.Abs(v);
        return a >= 1e4 ? ChartStyle.Compact(Math.Round(v, MidpointRounding.AwayFromZero))
            : a >= 100 ? v.ToString("0.#", CultureInfo.InvariantCulture)
            : a >= 1 ? v.ToString("0.##", CultureInfo.InvariantCulture)
            : v.ToString("G3", CultureInfo.InvariantCulture);
    }
}
