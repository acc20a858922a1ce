using System.Globalization;
using System.Security.Cryptography;
using Minimind.Checkpoint.Resume;
using Minimind.Training.Checkpointing;

namespace Minimind.Training;

/// <summary>
/// What a run was trained with, read back from its resume state: the hyper-parameters, world size, dtype, data
/// and architecture fields, named as the CLI flags are, so that the flags telling several runs apart can be named
/// (<c>dtype=bf16</c> vs <c>dtype=fp32</c>, <c>W=1</c> vs <c>W=2</c>).
/// </summary>
public static class RunFlags
{
    /// <summary>
    /// The state record of the newest step folder under <paramref name="checkpointRoot"/> whose manifest decodes and whose
    /// state file matches its recorded length and SHA-256 (the model-sized buffers are not read: only labels are
    /// wanted); null when there is none.
    /// </summary>
    public static TrainingState? ReadNewestState(string checkpointRoot)
    {
        foreach (var c in ResumeStore.ListSteps(checkpointRoot))
        {
            try
            {
                var mpath = Path.Combine(c.Path, ResumeStore.ManifestFileName);
                if (!File.Exists(mpath)) continue;
                var m = ResumeManifest.Deserialize(File.ReadAllBytes(mpath), mpath);
                var entry = m.Files.FirstOrDefault(f => f.Name == ResumeStateFolder.StateFile);
                var spath = Path.Combine(c.Path, ResumeStateFolder.StateFile);
                if (entry is null || !File.Exists(spath)) continue;
                var bytes = File.ReadAllBytes(spath);
                if (bytes.Length != entry.Length || !SHA256.HashData(bytes).AsSpan().SequenceEqual(entry.Sha256)) continue;
                return TrainingState.Deserialize(bytes, spath);
            }
            catch (InvalidDataException) { } // a damaged folder: try the next older one
            catch (IOException) { }
        }
        return null;
    }

    /// <summary>The run's settings as (flag, value) pairs: training flags first, then the architecture record's fields.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Of(TrainingState s)
    {
        static string N(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        var r = new List<KeyValuePair<string, string>>
        {
            new("dtype", s.Dtype),
            new("W", s.WorldSize.ToString(CultureInfo.InvariantCulture)),
            new("batch-size", s.BatchSize.ToString(CultureInfo.InvariantCulture)),
            new("accumulation-steps", s.AccumulationSteps.ToString(CultureInfo.InvariantCulture)),
            new("seq-len", s.SeqLen.ToString(CultureInfo.InvariantCulture)),
            new("learning-rate", N(s.LearningRate)),
            new("grad-clip", N(s.GradClip)),
            new("weight-decay", N(s.WeightDecay)),
            new("epochs", s.Epochs.ToString(CultureInfo.InvariantCulture)),
            new("total-steps", s.TotalSteps.ToString(CultureInfo.InvariantCulture)),
            new("seed", s.Seed.ToString(CultureInfo.InvariantCulture)),
            new("device", s.Device),
            new("data", s.DataDescription),
        };
        r.AddRange(s.Arch);
        return r;
    }

    /// <summary>The flag names whose value is not the same in every run (a flag one run lacks differs), in first-seen order.</summary>
    public static IReadOnlyList<string> Differing(IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> runs)
    {
        var maps = runs.Select(r => r.GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal)).ToList();
        var names = runs.SelectMany(r => r.Select(kv => kv.Key)).Distinct(StringComparer.Ordinal).ToList();
        return names.Where(n => maps.Select(m => m.GetValueOrDefault(n)).Distinct().Count() > 1).ToList();
    }

    /// <summary>"minimind-v1, dim 512, 8 layers, MoE 4x top-2" from an architecture record (empty pairs: "").</summary>
    public static string DescribeArch(IReadOnlyList<KeyValuePair<string, string>> arch)
    {
        var a = arch.GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
        var parts = new List<string>();
        if (a.TryGetValue("arch", out var name) && name.Length > 0) parts.Add(name);
        if (a.TryGetValue("dim", out var dim)) parts.Add("dim " + dim);
        if (a.TryGetValue("n-layers", out var layers)) parts.Add(layers + " layers");
        if (a.GetValueOrDefault("use-moe") == "1") parts.Add($"MoE {a.GetValueOrDefault("n-experts", "?")}x top-{a.GetValueOrDefault("top-k", "?")}");
        return string.Join(", ", parts);
    }
}
