using System.Diagnostics;
using System.Globalization;

namespace Minimind.Model.Evaluation;

/// <summary>
/// Progress of a long evaluation on one writer: "items 120/1000 (12.0%) 3.1 items/s ETA 4m43s acc 0.2500 ...".
/// On a terminal the line is rewritten in place (carriage return) about five times a second; otherwise a plain line
/// is written every <c>plainEvery</c> (10 s by default) and at the end, so logs hold no control codes.
/// </summary>
public sealed class EvalProgress
{
    private readonly TextWriter _log;
    private readonly bool _live;
    private readonly long _total;
    private readonly string _unit;
    private readonly TimeSpan _every;
    private readonly Stopwatch _sw = Stopwatch.StartNew();
    private TimeSpan? _last;
    private int _width;

    /// <summary>Progress over <paramref name="total"/> <paramref name="unit"/>; <paramref name="live"/> when <paramref name="log"/> is a terminal.</summary>
    public EvalProgress(TextWriter log, long total, string unit, bool live, TimeSpan? plainEvery = null)
    {
        _log = log; _total = total; _unit = unit; _live = live;
        _every = live ? TimeSpan.FromMilliseconds(200) : plainEvery ?? TimeSpan.FromSeconds(10);
    }

    /// <summary>True when the process's standard error is a terminal (where this project writes progress).</summary>
    public static bool StderrIsTerminal => !Console.IsErrorRedirected;

    /// <summary>Seconds since the start.</summary>
    public double Seconds => _sw.Elapsed.TotalSeconds;

    /// <summary>Reports <paramref name="done"/> of the total, with <paramref name="extra"/> (running metrics) after the rate.</summary>
    public void Report(long done, string extra = "")
    {
        bool end = done >= _total;
        if (!end && _last is { } last && _sw.Elapsed - last < _every) return;
        _last = _sw.Elapsed;
        double secs = _sw.Elapsed.TotalSeconds, rate = done / Math.Max(secs, 1e-9);
        string eta = done > 0 ? FormatTime(secs / done * (_total - done)) : "?";
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{_unit} {done}/{_total} ({100.0 * done / Math.Max(1, _total):F1}%) {rate:F2} {_unit}/s ETA {eta}{(extra.Length > 0 ? " " + extra : "")}");
        if (_live)
        {
            _log.Write("\r" + line.PadRight(_width));
            _width = line.Length;
            if (end) _log.WriteLine();
        }
        else _log.WriteLine(line);
        _log.Flush();
    }

    /// <summary>"1h02m", "4m43s", "12s".</summary>
    public static string FormatTime(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }
}
