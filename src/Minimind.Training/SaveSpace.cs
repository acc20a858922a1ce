using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;

namespace Minimind.Training;

/// <summary>
/// The free-space check before each save: a save writes all its new files before older ones are pruned, so it
/// needs its own size free. The size is the previous save's (measured on disk), or for the first save of a
/// process the sum the files will have: three float32 buffers, the .pth at --save-dtype, the MiniMind exports.
/// </summary>
internal static class SaveSpace
{
    private const long Slack = 1 << 20; // pickles, manifests, the state file, filesystem metadata

    /// <summary>Throws an IOException naming the folder, the bytes needed and free, before anything is written.</summary>
    public static void Check(Trainer t, TrainOptions o, long previousBytes, long parameters)
    {
        if (!o.CheckFreeSpace) return;
        long elem = o.SaveDtype.ElementSize();
        long estimate = previousBytes > 0 ? previousBytes
            : parameters * (12 + elem) + (o.ExportMinimindResume || o.MinimindRoot is not null ? parameters * (8 + elem) : 0)
              + (o.MinimindRoot is not null ? 2 * parameters * elem : 0) + Slack;
        DiskSpace.Require(o.OutDir, estimate, $"the checkpoint of step {t.State.OptimizerStep} ({t.Paths.CheckpointRoot}, {t.Paths.WeightsPath})");
    }

    /// <summary>Bytes the save just written occupies: its step folder, the .pth and the optional exports.</summary>
    public static long BytesOf(Trainer t, TrainOptions o, string folder)
    {
        static long Len(string p) => File.Exists(p) ? new FileInfo(p).Length : 0;
        long b = ResumeStore.FolderBytes(folder) + Len(t.Paths.WeightsPath) + Slack;
        if (o.ExportMinimindResume || o.MinimindRoot is not null) b += Len(t.MinimindResumePath);
        if (o.MinimindRoot is { } mr) b += 2 * Len(Path.Combine(mr, "out", t.Paths.RunName + ".pth"));
        if (o.Plot) b += Len(t.Paths.PlotPath);
        return b;
    }
}
