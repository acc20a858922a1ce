using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// The free-space check before each save: a save writes all its new files before older ones are pruned, so it
/// needs its own size free. The size is the previous save's (measured on disk), or for the first save of a
/// process the sum the files will have: the components' buffers, the .pth at --save-dtype, the exports.
/// </summary>
internal static class SaveSpace
{
    private const long Slack = 1 << 20; // pickles, manifests, the state file, filesystem metadata

    /// <summary>Throws an IOException naming the folder, the bytes needed and free, before anything is written.</summary>
    public static void Check(TrainOptions o, RunPaths paths, long step, long previousBytes, long parameters,
        IEnumerable<ICheckpointState> states, IEnumerable<ICheckpointExport> exports)
    {
        if (!o.CheckFreeSpace) return;
        long estimate = previousBytes > 0 ? previousBytes
            : states.Sum(s => s.SnapshotBytes) + parameters * o.SaveDtype.ElementSize() + exports.Sum(e => e.EstimatedBytes) + Slack;
        DiskSpace.Require(o.OutDir, estimate, $"the checkpoint of step {step} ({paths.CheckpointRoot}, {paths.WeightsPath})");
    }

    /// <summary>Bytes the save just written occupies: its step folder, the .pth, the exports and the plot.</summary>
    public static long BytesOf(TrainOptions o, RunPaths paths, string folder, IEnumerable<ICheckpointExport> exports)
    {
        static long Len(string p) => File.Exists(p) ? new FileInfo(p).Length : 0;
        long b = ResumeStore.FolderBytes(folder) + Len(paths.WeightsPath) + Slack + exports.Sum(e => e.WrittenBytes());
        if (o.Plot) b += Len(paths.PlotPath);
        return b;
    }
}
