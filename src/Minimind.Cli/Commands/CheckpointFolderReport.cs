using System.Globalization;
using Minimind.Checkpoint.Resume;
using Minimind.Training;
using Minimind.Training.Checkpointing;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind inspect &lt;folder&gt;</c>: every step folder of a run's checkpoint folder (or of each run under an
/// <c>--out-dir</c>'s <c>checkpoints/</c>), whether its manifest and checksums verify, what it holds, and the
/// one <c>--resume</c> would take — the same choice as the trainer (<see cref="ResumeStore.FindNewestValid"/>).
/// </summary>
internal static class CheckpointFolderReport
{
    /// <summary>Prints the report for <paramref name="folder"/>; returns 0, or 1 when no run folder is found there.</summary>
    public static int Run(string folder, TextWriter o)
    {
        var roots = RunRoots(folder);
        if (roots.Count == 0)
        {
            o.WriteLine($"{folder}: no checkpoints (expected step_NNNNNN folders, a run folder holding them, or an --out-dir with checkpoints/)");
            return 1;
        }
        foreach (var root in roots) Report(root, o);
        return 0;
    }

    /// <summary>True when <paramref name="folder"/> holds training checkpoints (rather than, say, a HuggingFace model).</summary>
    public static bool Handles(string folder) => RunRoots(folder).Count > 0;

    private static List<string> RunRoots(string folder)
    {
        if (File.Exists(Path.Combine(folder, ResumeStore.ManifestFileName))) return new() { folder }; // one step folder
        if (ResumeStore.ListSteps(folder).Count > 0 || File.Exists(Path.Combine(folder, RunLock.FileName))) return new() { folder };
        var ck = Path.Combine(folder, "checkpoints");
        if (!Directory.Exists(ck)) return new();
        return Directory.EnumerateDirectories(ck).Where(d => ResumeStore.ListSteps(d).Count > 0).OrderBy(d => d, StringComparer.Ordinal).ToList();
    }

    private static void Report(string root, TextWriter o)
    {
        bool single = File.Exists(Path.Combine(root, ResumeStore.ManifestFileName));
        var steps = single
            ? new List<ResumeCandidate> { new(root, long.TryParse(Path.GetFileName(root).AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1) }
            : ResumeStore.ListSteps(root).ToList();
        o.WriteLine($"{root}: {steps.Count} step folder{(steps.Count == 1 ? "" : "s")}");
        if (!single && RunLock.IsHeld(root)) o.WriteLine($"  in use by a running trainer, {RunLock.ReadOwner(root)}");
        string? pick = null;
        foreach (var c in steps)
        {
            var problem = ResumeStore.Verify(c.Path, out var manifest);
            string what = problem is null ? "verified" : "DAMAGED: " + problem;
            if (problem is null && pick is null) { pick = c.Path; what += "  <- --resume takes this one"; }
            o.WriteLine($"  {Path.GetFileName(c.Path)}  {what}");
            if (manifest is not null) o.WriteLine($"      written {manifest.CreatedUtc}, {manifest.Files.Sum(f => f.Length):N0} bytes in {manifest.Files.Count} files");
            var statePath = Path.Combine(c.Path, ResumeStateFolder.StateFile);
            if (problem is null && File.Exists(statePath))
            {
                try
                {
                    var st = TrainingState.Deserialize(File.ReadAllBytes(statePath), statePath);
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      {Position(st)}, lr {st.LearningRate:G}, device {st.Device}"));
                }
                catch (Exception e) when (e is InvalidDataException or IOException) { o.WriteLine($"      state: {e.Message}"); }
            }
        }
        o.WriteLine(pick is null ? "  --resume: nothing verifies; a --resume would start a fresh run" : $"  --resume: {pick}");
    }

    // Where a saved run stands. A finished one (its last step taken, or every epoch) has no next epoch or batch, and its
    // save recorded no next-batch loss: it says "complete" instead.
    private static string Position(TrainingState st)
    {
        float last = st.Losses.Count > 0 ? st.Losses[^1] : float.NaN;
        string lastLoss = float.IsNaN(last) ? "" : string.Create(CultureInfo.InvariantCulture, $", last loss {last:F4}");
        bool complete = st.OptimizerStep >= st.TotalSteps || st.Epoch >= st.Epochs || float.IsNaN(st.NextBatchLoss) && st.OptimizerStep > 0;
        string where = complete
            ? st.Epoch >= st.Epochs ? $"complete (all {st.Epochs} epochs)" : $"complete (its last step, in epoch {st.Epoch + 1} of {st.Epochs})"
            : string.Create(CultureInfo.InvariantCulture, $"epoch {st.Epoch + 1}/{st.Epochs}, batch {st.MicroStepInEpoch}");
        string next = complete || float.IsNaN(st.NextBatchLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $", next-batch loss {st.NextBatchLoss:F4}");
        return string.Create(CultureInfo.InvariantCulture, $"step {st.OptimizerStep}/{st.TotalSteps}, {where}, {st.TokensSeen:N0} tokens{lastLoss}{next}");
    }
}
