using System.Diagnostics;
using System.Globalization;

namespace Minimind.Cli;

/// <summary>
/// A progress bar for long work with named stages, on standard error. In a terminal (standard output and error
/// both interactive) one line is redrawn in place; otherwise (a log file, a pipe, CI) no control codes are written:
/// a plain line at most every <see cref="PlainEvery"/> and when a stage ends.
/// </summary>
public sealed class ProgressBar
{
    /// <summary>How often a plain (non-terminal) progress line is written.</summary>
    public static readonly TimeSpan PlainEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RedrawEvery = TimeSpan.FromMilliseconds(100);
    private const int BarWidth = 30;

    private readonly TextWriter _w;
    private readonly bool _live;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _last;
    private string? _stage, _finished;
    private TimeSpan _stageStart, _lastEnd;

    /// <summary>A bar writing to <paramref name="w"/>; <paramref name="live"/> null decides from the console (both streams a terminal).</summary>
    public ProgressBar(TextWriter w, bool? live = null)
    {
        _w = w;
        _live = live ?? (!Console.IsOutputRedirected && !Console.IsErrorRedirected);
    }

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> in <paramref name="stage"/>; <paramref name="unit"/>
    /// formats the numbers (e.g. "MB" from bytes); a new stage name ends the previous one.</summary>
    public void Report(string stage, long done, long total, Func<long, string>? unit = null)
    {
        if (_stage != stage && _finished == stage && done >= total) return; // already shown complete
        if (_stage != stage)
        {
            End();
            _stage = stage;
            _stageStart = _lastEnd; // a stage reported only when done still shows its time
            _last = null;
        }
        var now = _clock.Elapsed;
        if (_last is { } last && now - last < (_live ? RedrawEvery : PlainEvery) && done < total) return;
        _last = now;
        string line = Line(stage, done, total, unit, now - _stageStart);
        if (_live) _w.Write("\r\u001b[K" + line);
        else _w.WriteLine(line);
        if (done >= total) { End(); _finished = stage; }
    }

    /// <summary>Ends the current stage (its last line stays on screen).</summary>
    public void End()
    {
        if (_stage is null) return;
        if (_live) _w.WriteLine();
        _stage = null;
        _lastEnd = _clock.Elapsed;
    }

    private static string Line(string stage, long done, long total, Func<long, string>? unit, TimeSpan elapsed)
    {
        unit ??= v => v.ToString(CultureInfo.InvariantCulture);
        double frac = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 1;
        int fill = (int)Math.Round(frac * BarWidth);
        return string.Create(CultureInfo.InvariantCulture,
            $"[{(int)elapsed.TotalHours:00}:{elapsed.Minutes:00}:{elapsed.Seconds:00}] {stage,-16} [{new string('#', fill)}{new string('-', BarWidth - fill)}] {unit(done)}/{unit(total)} ({frac * 100:F0}%)");
    }
}
