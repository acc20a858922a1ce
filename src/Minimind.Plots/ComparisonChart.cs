using ScottPlot;

namespace Minimind.Plots;

/// <summary>
/// Several runs' curves of one metric on one chart: one colour and one legend entry per run (labelled by the
/// caller with what tells the runs apart); a noisy metric is drawn faint with its trailing mean on top.
/// </summary>
public static class ComparisonChart
{
    /// <summary>Image size in pixels.</summary>
    public const int Width = 1000, Height = 600;

    /// <summary>Builds the chart.</summary>
    public static Multiplot Build(RunComparison c)
    {
        var p = ChartStyle.Panel();
        p.Title(c.Title);
        p.XLabel(c.XLabel);
        p.YLabel(c.YLabel);
        if (c.IntegerX) ChartStyle.IntegerTicks(p.Axes.Bottom);
        for (int i = 0; i < c.Runs.Count; i++)
        {
            var color = ChartStyle.Series(i);
            var pts = TrainingChart.Finite(c.Runs[i].Points).ToList();
            if (c.Smooth && pts.Count > 2)
            {
                TrainingChart.Line(p, pts, color.WithAlpha(0.25), 1, "");
                var smooth = Smoothing.TrailingMean(pts.Select(q => q.Y).ToArray(), Smoothing.Window(pts.Count));
                TrainingChart.Line(p, pts.Select((q, k) => (q.X, smooth[k])).ToList(), color, 2, c.Runs[i].Label);
            }
            else
            {
                var s = TrainingChart.Line(p, pts, color, 2, c.Runs[i].Label);
                if (pts.Count <= 50) s.MarkerSize = 5; // sparse points (validation loss every N steps) stay visible
            }
        }
        p.Legend.Alignment = Alignment.UpperRight;
        p.ShowLegend();
        return ChartStyle.Stack(new[] { (p, 1) });
    }

    /// <summary>Renders <paramref name="c"/> to <paramref name="path"/> (.png or .svg).</summary>
    public static void Save(RunComparison c, string path) => ChartFile.Save(Build(c), path, Width, Height);
}
