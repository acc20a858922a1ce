using ScottPlot;
using SkiaSharp;

namespace Minimind.Plots;

/// <summary>The two formats a chart is written in; the file's extension picks one.</summary>
public enum ChartFormat
{
    /// <summary>A raster image (what a terminal's image viewer or a chat shows).</summary>
    Png,
    /// <summary>A vector image with real text (what docs embed; greppable, diffable).</summary>
    Svg,
}

/// <summary>
/// Renders a finished chart (a <see cref="Multiplot"/> of one or more panels) to PNG or SVG bytes and writes
/// it atomically, so a reader never sees half an image and a failed write leaves the previous one.
/// </summary>
public static class ChartFile
{
    /// <summary>The format <paramref name="path"/>'s extension names; throws an ArgumentException naming the path otherwise.</summary>
    public static ChartFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => ChartFormat.Png,
        ".svg" => ChartFormat.Svg,
        _ => throw new ArgumentException($"{path}: a chart is written as .png or .svg (the extension picks the format)"),
    };

    /// <summary>The chart as a <paramref name="width"/>×<paramref name="height"/> image in <paramref name="format"/>.</summary>
    public static byte[] Render(Multiplot chart, int width, int height, ChartFormat format)
    {
        if (width < 100 || height < 100) throw new ArgumentException($"a chart of {width}x{height} pixels is too small to read (at least 100x100)");
        var rect = new PixelRect(0, width, height, 0);
        // ScottPlot renders a plot a second time when its first render changed the axis limits (autoscale); on an SVG
        // canvas both passes would stay in the file. A first pass into a discarded recording settles the limits.
        using (var recorder = new SKPictureRecorder())
        {
            chart.Render(recorder.BeginRecording(new SKRect(0, 0, width, height)), rect);
            using var discarded = recorder.EndRecording();
        }
        if (format == ChartFormat.Png)
        {
            using var surface = SKSurface.Create(new SKImageInfo(width, height)) ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}x{height} surface");
            chart.Render(surface.Canvas, rect);
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            return data.ToArray();
        }
        using var ms = new MemoryStream();
        // The SVG canvas writes its closing tag when disposed, so it (and the stream wrapper) must end before ToArray.
        using (var ws = new SKManagedWStream(ms))
        using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), ws))
            chart.Render(canvas, rect);
        return ms.ToArray();
    }

    /// <summary>Writes the chart to <paramref name="path"/> (format from the extension), replacing any older file atomically.</summary>
    public static void Save(Multiplot chart, string path, int width, int height)
    {
        var bytes = Render(chart, width, height, FormatOf(path));
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        Minimind.Checkpoint.AtomicFile.Write(path, s => s.Write(bytes), bytes.Length);
    }
}
