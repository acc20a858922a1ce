using Minimind.Plots;

namespace Minimind.Training;

/// <summary>
/// A run's training chart from its metrics jsonl and resume state (never from the live trainer): what <c>train --plot</c>
/// writes at every save as <c>&lt;out-dir&gt;/&lt;run&gt;_loss.png</c> and <c>.svg</c>, and <c>minimind plot RUN</c> draws after the fact.
/// </summary>
public static class TrainingPlot
{
    /// <summary>"pretrain_512 · minimind-v1, dim 512, 8 layers · bf16" (the state's parts when known).</summary>
    public static string Title(string runName, TrainingState? s)
    {
        if (s is null) return runName;
        var arch = RunFlags.DescribeArch(s.Arch);
        var parts = new List<string> { runName };
        if (arch.Length > 0) parts.Add(arch);
        parts.Add(s.Dtype + (s.WorldSize > 1 ? $", W={s.WorldSize}" : ""));
        return string.Join(" · ", parts);
    }

    /// <summary>The curves of <paramref name="h"/> on <paramref name="axis"/>.</summary>
    public static TrainingCurves Curves(MetricsHistory h, PlotAxis axis, string title, double gradClip)
    {
        Curve C(string metric) { var (x, y) = h.Series(metric, axis); return new Curve(x, y); }
        return new TrainingCurves
        {
            Title = title,
            XLabel = MetricsHistory.AxisLabel(axis),
            IntegerX = axis != PlotAxis.Time,
            Loss = C("loss"),
            LearningRate = C("lr"),
            GradNorm = C("grad_norm"),
            ValidationLoss = C("val_loss"),
            Reward = C("reward"),
            Skipped = h.SkippedX(axis),
            GradClip = gradClip,
        };
    }

    /// <summary>The SVG written beside <see cref="RunPaths.PlotPath"/>.</summary>
    public static string SvgPath(RunPaths paths) => Path.ChangeExtension(paths.PlotPath, ".svg");

    /// <summary>
    /// Renders the run's chart to <see cref="RunPaths.PlotPath"/> (PNG) and <see cref="SvgPath"/> from its metrics file.
    /// A chart that cannot be drawn is reported on <paramref name="log"/> and training goes on: the checkpoint it
    /// accompanies is already committed, and <c>minimind plot</c> can draw it later.
    /// </summary>
    public static void Save(RunPaths paths, TrainingState state, PlotAxis axis, TextWriter log)
    {
        try
        {
            var curves = Curves(MetricsHistory.Read(paths.MetricsPath), axis, Title(paths.RunName, state), state.GradClip);
            TrainingChart.Save(curves, paths.PlotPath);
            TrainingChart.Save(curves, SvgPath(paths));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.WriteLine($"warning: the --plot chart {paths.PlotPath} was not drawn ({e.GetType().Name}: {e.Message}); training goes on, 'minimind plot {paths.OutDir}' draws it later");
        }
    }
}
