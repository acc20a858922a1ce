using ScottPlot;

namespace Minimind.Plots;

/// <summary>
/// One run's training chart, readable on its own: a title naming the run; a loss panel with the raw loss, its
/// smoothed line, validation loss, skipped updates as dashed red lines and the learning rate on a right axis; a
/// gradient-norm panel (with the clip threshold); a reward panel for RL stages. Panels share the x axis.
/// </summary>
public static class TrainingChart
{
    /// <summary>Image width in pixels.</summary>
    public const int Width = 1000;
    private const int UnitHeight = 230; // the loss panel is two units tall, the others one

    /// <summary>Builds the chart; returns it with its image size.</summary>
    public static (Multiplot Chart, int Width, int Height) Build(TrainingCurves c)
    {
        var lossPanel = ChartStyle.Panel();
        var panels = new List<(Plot Plot, int Units)> { (lossPanel, 2) };
        DrawLoss(lossPanel, c);
        if (c.GradNorm.HasValues) panels.Add((GradNormPanel(c), 1));
        if (c.Reward.HasValues) panels.Add((SimplePanel(c.Reward, "reward (mean per step)", ChartStyle.Series(1)), 1));

        var xs = new[] { c.Loss, c.LearningRate, c.GradNorm, c.ValidationLoss, c.Reward }.SelectMany(Finite).Select(p => p.X).Concat(c.Skipped).ToList();
        for (int i = 0; i < panels.Count; i++)
        {
            var plot = panels[i].Plot;
            bool last = i == panels.Count - 1;
            if (last) plot.XLabel(c.XLabel);
            if (c.IntegerX) ChartStyle.IntegerTicks(plot.Axes.Bottom);
            // Every panel keeps a right margin (the loss panel's learning-rate axis) so the x scales line up.
            plot.Layout.Fixed(ChartStyle.Margins(title: i == 0, xLabel: last, rightAxis: true));
            if (xs.Count > 0)
            {
                double lo = xs.Min(), hi = xs.Max(), pad = hi > lo ? (hi - lo) * 0.02 : 1;
                plot.Axes.SetLimitsX(lo - pad, hi + pad);
            }
        }
        int rows = panels.Sum(p => p.Units);
        var chart = ChartStyle.Stack(panels);
        return (chart, Width, rows * UnitHeight + 40);
    }

    /// <summary>Renders <paramref name="c"/> to <paramref name="path"/> (.png or .svg).</summary>
    public static void Save(TrainingCurves c, string path)
    {
        var (chart, w, h) = Build(c);
        ChartFile.Save(chart, path, w, h);
    }

    private static void DrawLoss(Plot p, TrainingCurves c)
    {
        p.Title(c.Title);
        p.YLabel("loss");
        var blue = ChartStyle.Series(0);
        var loss = Finite(c.Loss).ToList();
        if (loss.Count > 0)
        {
            Line(p, loss, blue.WithAlpha(loss.Count > 1 ? 0.35 : 1), 1, "loss");
            if (loss.Count > 1)
            {
                int w = Smoothing.Window(loss.Count);
                var smooth = Smoothing.TrailingMean(loss.Select(q => q.Y).ToArray(), w);
                Line(p, loss.Select((q, i) => (q.X, smooth[i])).ToList(), blue, 2, $"loss, mean of the last {w} logged steps");
            }
        }
        var val = Finite(c.ValidationLoss).ToList();
        if (val.Count > 0)
        {
            var s = Line(p, val, ChartStyle.Series(3), 1.5f, "validation loss");
            s.MarkerSize = 6;
            s.MarkerShape = MarkerShape.FilledCircle;
        }
        for (int i = 0; i < c.Skipped.Count; i++)
        {
            var v = p.Add.VerticalLine(c.Skipped[i]);
            v.LineColor = ChartStyle.Series(3).WithAlpha(0.6);
            v.LinePattern = LinePattern.Dashed;
            v.LineWidth = 1;
            v.LegendText = i == 0 ? $"skipped update ({c.Skipped.Count})" : "";
            v.ExcludeFromLegend = i > 0;
        }
        var lr = Finite(c.LearningRate).ToList();
        if (lr.Count > 0)
        {
            var s = Line(p, lr, ChartStyle.Series(2), 1.5f, "learning rate (right axis)");
            s.LinePattern = LinePattern.Dashed;
            s.Axes.YAxis = p.Axes.Right;
            p.Axes.Right.Label.Text = "learning rate";
            ChartStyle.ScientificTicks(p.Axes.Right);
        }
        p.Legend.Alignment = Alignment.UpperRight;
        p.ShowLegend();
    }

    private static Plot GradNormPanel(TrainingCurves c)
    {
        var p = SimplePanel(c.GradNorm, "grad norm", ChartStyle.Series(4));
        if (c.GradClip is > 0 and var clip && double.IsFinite(clip))
        {
            var h = p.Add.HorizontalLine(clip);
            h.LineColor = Colors.Gray;
            h.LinePattern = LinePattern.Dotted;
            h.LegendText = $"clip threshold (--grad-clip {clip:G4})";
            p.Legend.Alignment = Alignment.UpperRight;
            p.ShowLegend();
        }
        return p;
    }

    private static Plot SimplePanel(Curve curve, string yLabel, Color color)
    {
        var p = ChartStyle.Panel();
        p.YLabel(yLabel);
        Line(p, Finite(curve).ToList(), color, 1.5f, "");
        return p;
    }

    /// <summary>Adds a line without markers; an empty legend text keeps it out of the legend.</summary>
    internal static ScottPlot.Plottables.Scatter Line(Plot p, IReadOnlyList<(double X, double Y)> pts, Color color, float width, string legend)
    {
        var s = p.Add.Scatter(pts.Select(q => q.X).ToArray(), pts.Select(q => q.Y).ToArray());
        s.Color = color;
        s.LineWidth = width;
        s.MarkerSize = 0;
        s.LegendText = legend;
        return s;
    }

    /// <summary>The points of <paramref name="c"/> whose x and y are finite (ScottPlot draws no gaps; a NaN would break autoscaling).</summary>
    internal static IEnumerable<(double X, double Y)> Finite(Curve c)
    {
        for (int i = 0; i < c.Count; i++)
            if (double.IsFinite(c.X[i]) && double.IsFinite(c.Y[i])) yield return (c.X[i], c.Y[i]);
    }
}
