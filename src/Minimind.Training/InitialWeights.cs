using Minimind.Checkpoint;
using Minimind.Model;

namespace Minimind.Training;

/// <summary>
/// <c>--from-weight</c>: the weights a stage starts from (MiniMind's <c>init_model(from_weight)</c>), found
/// (NAME means <c>&lt;out-dir&gt;/NAME_&lt;dim&gt;[_moe].pth</c>), opened once, and loaded into every model that starts from it
/// — the trained model, and DPO's frozen reference. The load is strict: a model parameter the file does not fill, a
/// file key the model does not use, or a shape that differs is refused, naming them, unless the run asked for
/// <c>--allow-partial-load</c> (MiniMind's <c>strict=False</c>, a choice in its code, is a flag here); a partial load
/// then says what stayed at random initialisation and what in the file went unused.
/// </summary>
public sealed class InitialWeights
{
    private CheckpointSource? _source;

    private InitialWeights(string spec, string path, bool given, bool allowPartial, CheckpointSource? source)
    {
        Spec = spec; Path = path; Given = given; AllowPartial = allowPartial; _source = source;
    }

    /// <summary>The value given (or the stage's default).</summary>
    public string Spec { get; }
    /// <summary>The file or folder it names.</summary>
    public string Path { get; }
    /// <summary>True when the command line gave it (false: the stage's default).</summary>
    public bool Given { get; }
    /// <summary>True when parameters the file lacks may stay at random initialisation (<c>--allow-partial-load</c>).</summary>
    public bool AllowPartial { get; }

    /// <summary>The flag that opts into a partial load.</summary>
    public const string AllowPartialFlag = "--allow-partial-load";

    /// <summary>
    /// The weights <paramref name="fromWeight"/> names for model <paramref name="c"/> (null: none, random weights).
    /// <paramref name="opened"/> is the file when it was already opened (for its architecture: a path, or the one
    /// <c>NAME_*.pth</c> an earlier stage wrote), so it is not read again.
    /// </summary>
    public static InitialWeights? For(string? fromWeight, bool given, bool allowPartial, TrainOptions o, ModelConfig c, CheckpointSource? opened = null) =>
        fromWeight is null ? null : new InitialWeights(fromWeight, opened?.Path ?? PathOf(fromWeight, o, c), given, allowPartial, opened);

    /// <summary>--from-weight NAME means &lt;out-dir&gt;/NAME_&lt;dim&gt;[_moe].pth, as MiniMind's init_model; a path is taken as is.</summary>
    public static string PathOf(string fromWeight, TrainOptions o, ModelConfig c) =>
        fromWeight.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || File.Exists(fromWeight) || Directory.Exists(fromWeight)
            ? fromWeight : System.IO.Path.Combine(o.OutDir, RunPaths.RunNameOf(fromWeight, c) + ".pth");

    /// <summary>The opened file (read on first use, once).</summary>
    public CheckpointSource Source(TrainOptions o)
    {
        if (_source is not null) return _source;
        if (!File.Exists(Path) && !Directory.Exists(Path))
            throw new FileNotFoundException($"--from-weight {Spec}{(Given ? "" : " (this stage's default)")}: {Path} not found. " +
                $"Train that stage first (minimind train --stage ... --out-dir {o.OutDir}), give a .pth path, or --from-weight none to start from random weights", Path);
        return _source = CheckpointSource.Open(Path);
    }

    /// <summary>
    /// Loads the weights into <paramref name="model"/> (<paramref name="role"/> names it in messages: "initialised from",
    /// "reference"); writes what was loaded, and for a partial load what was not, to <paramref name="log"/>. Throws a
    /// <see cref="StateDictLoadException"/> naming every key that does not fit unless <see cref="AllowPartial"/>.
    /// </summary>
    public LoadReport LoadInto(MiniMindModel model, TrainOptions o, TextWriter log, string role = "initialised from")
    {
        var source = Source(o);
        LoadReport report;
        try { report = CheckpointLoader.Load(model, source, log, strict: !AllowPartial); }
        catch (StateDictLoadException e) { throw new StateDictLoadException(Refusal(source, model.Config, e.Report), e.Report); }
        int total = model.Parameters.Entries.Count;
        if (report.IsComplete) log.WriteLine($"{role} {Path}: all {total} parameters loaded");
        else
        {
            log.WriteLine($"{role} {Path} ({AllowPartialFlag}): {report.Loaded.Count} of {total} parameters loaded");
            if (report.Missing.Count > 0) log.WriteLine($"  not in the file, left at random initialisation ({report.Missing.Count}): {string.Join(", ", report.Missing)}");
            foreach (var m in report.Mismatched) log.WriteLine($"  shape differs, left at random initialisation: {m.Key}: file [{string.Join(", ", m.CheckpointShape)}], model [{string.Join(", ", m.ModelShape)}]");
            if (report.Unexpected.Count > 0) log.WriteLine($"  file keys the model does not use ({report.Unexpected.Count}): {string.Join(", ", report.Unexpected)}");
        }
        return report;
    }

    // Why a strict load failed: a count, which generation the file looks like, the flags that fix it, then PyTorch's full list.
    private string Refusal(CheckpointSource source, ModelConfig c, LoadReport r)
    {
        var file = CheckpointShapes.Generations(source.Weights);
        string looks = file.Count == 0 ? "no MiniMind layout" : $"{string.Join(" or ", file)} keys";
        var what = new List<string>();
        if (r.Missing.Count > 0) what.Add($"{r.Missing.Count} model parameter(s) are not in the file");
        if (r.Mismatched.Count > 0) what.Add($"{r.Mismatched.Count} have another shape");
        if (r.Unexpected.Count > 0) what.Add($"{r.Unexpected.Count} file key(s) would go unused");
        return $"--from-weight {Path} does not fit the model ({c.Arch}, dim {c.Dim}, {c.NLayers} layers; the file has {looks}): " +
               $"{string.Join(", ", what)}. Start from a file of this architecture (or drop the --arch options to take the file's own), " +
               $"or pass {AllowPartialFlag} to load the keys that fit and leave the rest at random initialisation (MiniMind's strict=False).\n" +
               r.ErrorText(source.Path);
    }
}
