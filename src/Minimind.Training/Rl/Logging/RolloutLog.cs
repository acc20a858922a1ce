using Minimind.Kernels.Distributed;
using Minimind.Training.Stages;

namespace Minimind.Training.Rl.Logging;

/// <summary>What <c>--log-rollouts FILE [--log-rollouts-every N]</c> and <c>--debug-mode [--debug-interval N]</c> ask for.</summary>
/// <param name="Path">The rollout log (JSON lines), or null.</param>
/// <param name="Every">Log the rollouts of every N-th optimizer step.</param>
/// <param name="DebugInterval">Print MiniMind's debug form every N-th optimizer step; 0 = off (no --debug-mode).</param>
public sealed record RolloutLogSettings(string? Path, int Every, int DebugInterval)
{
    /// <summary>Nothing logged or printed.</summary>
    public static RolloutLogSettings None { get; } = new(null, 1, 0);

    /// <summary>True when anything is asked for.</summary>
    public bool Enabled => Path is not null || DebugInterval > 0;
}

/// <summary>
/// The rollout log of an RL run (<c>--log-rollouts</c>) and MiniMind's debug print (<c>--debug-mode</c>): after every
/// optimizer step it takes the step's rollouts from the stage (<see cref="IRolloutSource"/>); on a logged step every rank
/// turns its micro-batches into lines (<see cref="RolloutJson"/>: one per prompt, with the micro-batch's global index),
/// rank 0 gathers them and appends them in rank order, which is micro-batch order, to one <see cref="JsonLinesFile"/>. On a
/// debug step rank 0 prints its own micro-batches as MiniMind's main process does. Lines are written before the step's
/// checkpoint is taken, so a resumed run finds every step up to its checkpoint in the file and recomputes the rest.
/// </summary>
public sealed class RolloutLog : IDisposable
{
    private readonly IRolloutSource _source;
    private readonly RolloutLogSettings _settings;
    private readonly ICommunicator _comm;
    private readonly JsonLinesFile? _file;
    private readonly TextWriter _console;

    private RolloutLog(IRolloutSource source, RolloutLogSettings settings, ICommunicator comm, JsonLinesFile? file, TextWriter console)
    {
        _source = source; _settings = settings; _comm = comm; _file = file; _console = console;
        source.KeepRollouts = true;
    }

    /// <summary>The log file (rank 0), or null.</summary>
    public string? Path => _file?.Path;

    /// <summary>
    /// Starts logging <paramref name="stage"/>'s rollouts as <paramref name="settings"/> ask (null when they ask for
    /// nothing). Rank 0 opens the file: on a resume from step k (<paramref name="keepUpToStep"/>) it keeps the lines up to k;
    /// a fresh run (null) refuses a file that already holds lines rather than mix two runs in it.
    /// </summary>
    public static RolloutLog? Open(ITrainingStage stage, RolloutLogSettings settings, ICommunicator comm, long? keepUpToStep, TextWriter console)
    {
        if (!settings.Enabled) return null;
        if (settings.Every < 1) throw new ArgumentException("--log-rollouts-every must be at least 1");
        if (stage is not IRolloutSource source)
            throw new ArgumentException($"--stage {stage.Name} samples no rollouts: --log-rollouts and --debug-mode apply to the RL stages");
        JsonLinesFile? file = null;
        if (settings.Path is { } path && comm.Rank == 0)
        {
            if (keepUpToStep is null && File.Exists(path) && new FileInfo(path).Length > 0)
                throw new IOException($"--log-rollouts {path} already holds rollouts of a run: a fresh run would mix two runs in one file. " +
                    "Give another path or delete it, or continue the run it belongs to with --resume");
            if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
            file = new JsonLinesFile(path, keepUpToStep);
        }
        return new RolloutLog(source, settings, comm, file, console);
    }

    /// <summary>
    /// After optimizer step <paramref name="step"/> of <paramref name="epoch"/>, whose first micro-batch on this rank has
    /// global index <paramref name="firstMicroBatch"/> in the epoch: logs and prints its rollouts when due. Every rank calls it.
    /// </summary>
    public void AfterStep(long step, int epoch, long firstMicroBatch)
    {
        var batches = _source.TakeStepRollouts();
        if (_settings.DebugInterval > 0 && step % _settings.DebugInterval == 0 && _comm.Rank == 0)
            foreach (var b in batches) RolloutConsole.Write(_console, step, b, _source.ConsoleForm);
        if (_settings.Path is null || step % _settings.Every != 0) return;
        using var mine = new MemoryStream();
        for (int m = 0; m < batches.Count; m++)
            for (int i = 0; i < batches[m].Prompts.Count; i++)
            {
                mine.Write(RolloutJson.Line(new RolloutJson.Position(step, epoch, firstMicroBatch + m, _comm.Rank, i), batches[m].Loss, batches[m].Prompts[i]));
                mine.WriteByte((byte)'\n');
            }
        var all = Collectives.Gather(_comm, mine.ToArray(), root: 0);
        if (all is null || _file is null) return;
        _file.WriteLines(all.SelectMany(b => b).ToArray());
    }

    /// <inheritdoc/>
    public void Dispose() => _file?.Dispose();
}
