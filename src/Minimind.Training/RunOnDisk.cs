namespace Minimind.Training;

/// <summary>
/// A run found from a path a user typed (<c>minimind plot</c>): its metrics jsonl and checkpoint folder, laid out as
/// <see cref="RunPaths"/> writes them (<c>&lt;out-dir&gt;/checkpoints/&lt;run&gt;/step_*</c> beside <c>&lt;run&gt;_metrics.jsonl</c>).
/// </summary>
public sealed record RunOnDisk(string Label, string RunName, string MetricsPath, string CheckpointRoot)
{
    private const string MetricsSuffix = "_metrics.jsonl";

    /// <summary>
    /// The runs <paramref name="path"/> names: a <c>*_metrics.jsonl</c> file; a run's checkpoint folder
    /// (<c>checkpoints/&lt;run&gt;</c>) or one of its <c>step_NNNNNN</c> folders; a <c>checkpoints/</c> folder; or an
    /// --out-dir (every run under its <c>checkpoints/</c>). Each is labelled by the path as given, plus the run name
    /// when the folder holds several runs. Throws a FileNotFoundException saying what was looked for.
    /// </summary>
    public static IReadOnlyList<RunOnDisk> Find(string path)
    {
        string given = Path.TrimEndingDirectorySeparator(path);
        if (File.Exists(path))
        {
            string file = Path.GetFileName(path);
            string name = file.EndsWith(MetricsSuffix, StringComparison.Ordinal) ? file[..^MetricsSuffix.Length] : Path.GetFileNameWithoutExtension(file);
            return new[] { new RunOnDisk(given, name, path, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, name)) };
        }
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder (give a run's --out-dir, its checkpoints/<run> folder, or a <run>_metrics.jsonl)");
        var full = Path.GetFullPath(given);
        // A step folder or a run's checkpoint folder: the metrics file sits beside the run's folder.
        if (Path.GetFileName(full).StartsWith("step_", StringComparison.Ordinal) && File.Exists(Path.GetDirectoryName(full) + MetricsSuffix))
            full = Path.GetDirectoryName(full)!;
        if (File.Exists(full + MetricsSuffix))
            return new[] { new RunOnDisk(given, Path.GetFileName(full), full + MetricsSuffix, full) };
        var folder = Directory.Exists(Path.Combine(full, "checkpoints")) ? Path.Combine(full, "checkpoints") : full;
        var files = Directory.EnumerateFiles(folder, "*" + MetricsSuffix).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new FileNotFoundException($"{path}: no run found: no {folder}{Path.DirectorySeparatorChar}<run>{MetricsSuffix} (give a run's --out-dir, its checkpoints/<run> folder, or a metrics .jsonl)");
        return files.Select(f =>
        {
            string name = Path.GetFileName(f)[..^MetricsSuffix.Length];
            return new RunOnDisk(files.Count == 1 ? given : given + "/" + name, name, f, Path.Combine(folder, name));
        }).ToList();
    }
}
