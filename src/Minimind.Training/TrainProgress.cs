using System.Diagnostics;
using System.Globalization;

namespace Minimind.Training;

/// <summary>One optimizer step's numbers, as the progress line and the metrics log report them.</summary>
public readonly record struct StepReport(long Step, long StopStep, int Epoch, int Epochs, float Loss, double Lr, double GradNorm, long Tokens)
{
    /// <summary>The MoE aux-loss part of <see cref="Loss"/> (mean over the micro-batches; 0 for a dense model).</summary>
    public float AuxLoss { get; init; }
    /// <summary>The stage's own values of the step (<see cref="Stages.IStepMetricsSource"/>), or null.</summary>
    public IReadOnlyList<KeyValuePair<string, double>>? Extra { get; init; }
    /// <summary>Which of <see cref="Extra"/> the progress line shows.</summary>
    public IReadOnlyList<string>? ConsoleExtra { get; init; }
}

/// <summary>
/// A run's progress output and metrics: a line per --log-interval step (live-updating in a terminal), the
/// metrics jsonl (start/resume/stop/end events and logged steps) and the tokens/s and ETA they show.
/// </summary>
public sealed class TrainProgress : IDisposable
{
    private readonly TextWriter _log;
    private readonly MetricsLog _metrics;
    private readonly TensorBoardLog? _tb;
    private readonly int _logInterval;
    private readonly bool _live;
    private readonly Stopwatch _sw = Stopwatch.StartNew();
    private readonly long _startStep, _tokensAtStart;

    /// <summary>Opens the metrics log (dropping lines after <paramref name="startStep"/> on a resume) and records the start event.</summary>
    public TrainProgress(TextWriter log, string metricsPath, int logInterval, bool resumed, long startStep, long totalSteps, long tokensAtStart, string device,
        string? tensorBoardDir = null)
    {
        if (tensorBoardDir is not null) _tb = new TensorBoardLog(tensorBoardDir, resumed);
        _log = log; _logInterval = logInterval; _startStep = startStep; _tokensAtStart = tokensAtStart;
        _metrics = new MetricsLog(metricsPath, resumed ? startStep : null);
        // A live line (\r, an ANSI erase) only on a terminal: not into a file or pipe, nor under mpirun, which hands the ranks a
        // pseudo-terminal and forwards every byte into whatever its own output is.
        _live = !Console.IsOutputRedirected && ReferenceEquals(log, Console.Out) && !Distributed.GradientTransport.UnderMpirun()
            && Environment.GetEnvironmentVariable("TERM") != "dumb";
        _metrics.Write(new KeyValuePair<string, object?>[]
        {
            new("event", resumed ? "resume" : "start"), new("step", startStep), new("total_steps", totalSteps),
            new("device", device), new("time", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)),
        });
    }

    /// <summary>Appended to each progress line (the data-parallel throughput and communication share), when set.</summary>
    public Func<double, string>? Suffix { get; set; }

    /// <summary>Reports step <paramref name="r"/>: a log line (and a metrics line) every --log-interval steps, on the first and the last.</summary>
    public void Step(in StepReport r, bool last)
    {
        double secs = _sw.Elapsed.TotalSeconds;
        double tps = (r.Tokens - _tokensAtStart) / Math.Max(secs, 1e-9);
        double eta = secs / (r.Step - _startStep) * (r.StopStep - r.Step);
        string line = $"step {r.Step}/{r.StopStep} epoch {Math.Min(r.Epoch + 1, r.Epochs)}/{r.Epochs} loss {r.Loss:F4} lr {r.Lr:E3} grad-norm {r.GradNorm:F3} tok/s {tps:F0} ETA {FormatTime(eta)}{Suffix?.Invoke(tps)}";
        if (r.Extra is { } extra && r.ConsoleExtra is { } shown)
            foreach (var (k, v) in extra)
                if (shown.Contains(k)) line += string.Create(CultureInfo.InvariantCulture, $" {k.Replace('_', '-')} {v:F4}");
        if (r.Step % _logInterval == 0 || last || r.Step == _startStep + 1)
        {
            ClearLine();
            _log.WriteLine(line);
            _metrics.Write(new KeyValuePair<string, object?>[]
            {
                new("step", r.Step), new("epoch", r.Epoch), new("loss", r.Loss), new("lr", r.Lr), new("grad_norm", r.GradNorm),
                new("tokens", r.Tokens), new("tokens_per_s", tps), new("elapsed_s", secs),
            }.Concat((r.Extra ?? Array.Empty<KeyValuePair<string, double>>()).Select(e => new KeyValuePair<string, object?>(e.Key, e.Value))));
            _tb?.Scalars(r.Step, new KeyValuePair<string, float>[]
            {
                new("train/loss", r.Loss), new("train/lr", (float)r.Lr), new("train/grad_norm", (float)r.GradNorm),
                new("train/tokens_per_s", (float)tps), new("train/aux_loss", r.AuxLoss),
            }.Concat((r.Extra ?? Array.Empty<KeyValuePair<string, double>>()).Select(e => new KeyValuePair<string, float>("train/" + e.Key, (float)e.Value))).ToArray());
        }
        else if (_live) _log.Write("\r\u001b[K" + line);
    }

    /// <summary>Reports the held-out loss after step <paramref name="step"/>: a log line, a metrics line (<c>val_loss</c>, <c>val_perplexity</c>),
    /// TensorBoard scalars <c>val/loss</c> and <c>val/perplexity</c>.</summary>
    public void Validation(long step, Model.Evaluation.HeldOutResult r)
    {
        ClearLine();
        _log.WriteLine($"step {step}: val_loss {r.Loss:F4} perplexity {r.Perplexity:F3} ({r.Rows} rows, {r.Tokens} targets)");
        _metrics.Write(new KeyValuePair<string, object?>[]
        {
            new("step", step), new("val_loss", r.Loss), new("val_perplexity", r.Perplexity), new("val_tokens", r.Tokens), new("val_rows", r.Rows),
        });
        _tb?.Scalars(step, new KeyValuePair<string, float>[] { new("val/loss", (float)r.Loss), new("val/perplexity", (float)r.Perplexity) });
    }

    /// <summary>Reports the greedy samples after step <paramref name="step"/>: log lines, one metrics line (<c>samples</c>: prompt, text, tokens),
    /// TensorBoard text <c>samples/i</c>.</summary>
    public void Samples(long step, IReadOnlyList<Model.Evaluation.Sample> samples)
    {
        ClearLine();
        foreach (var s in samples) _log.WriteLine($"step {step} sample: {s.Prompt} → {s.Text}");
        _metrics.Write(new KeyValuePair<string, object?>[]
        {
            new("step", step), new("event", "samples"),
            new("samples", samples.Select(s => (IEnumerable<KeyValuePair<string, object?>>)new KeyValuePair<string, object?>[] { new("prompt", s.Prompt), new("text", s.Text), new("tokens", s.Tokens) }).ToList()),
        });
        _tb?.Texts(step, samples.Select((s, i) => new KeyValuePair<string, string>($"samples/{i}", s.Prompt + " → " + s.Text)));
    }

    /// <summary>Clears a live progress line before other output.</summary>
    public void ClearLine()
    {
        if (_live) _log.Write("\r\u001b[K");
    }

    /// <summary>Records a run event ("stop", "end", "data_change") at <paramref name="step"/>, with its own <paramref name="fields"/>.</summary>
    public void Event(string name, long step, params KeyValuePair<string, object?>[] fields) =>
        _metrics.Write(new KeyValuePair<string, object?>[] { new("event", name), new("step", step) }.Concat(fields));

    private static string FormatTime(double s) => Model.Evaluation.EvalProgress.FormatTime(s);

    /// <inheritdoc/>
    public void Dispose()
    {
        _metrics.Dispose();
        _tb?.Dispose();
    }
}
