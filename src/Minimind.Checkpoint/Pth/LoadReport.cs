using System.Text;

namespace Minimind.Checkpoint;

/// <summary>A checkpoint key whose shape differs from the model's.</summary>
/// <param name="Key">The model's key.</param>
/// <param name="CheckpointShape">Shape in the checkpoint.</param>
/// <param name="ModelShape">Shape the model expects.</param>
public sealed record ShapeMismatch(string Key, int[] CheckpointShape, int[] ModelShape);

/// <summary>What <see cref="StateDictLoader.Load"/> did: loaded, missing, unexpected and mismatched keys.</summary>
public sealed class LoadReport
{
    /// <summary>Model keys filled from the checkpoint.</summary>
    public required IReadOnlyList<string> Loaded { get; init; }
    /// <summary>Model keys the checkpoint lacks (left unchanged).</summary>
    public required IReadOnlyList<string> Missing { get; init; }
    /// <summary>Checkpoint keys (as written in the file) the model has no parameter for.</summary>
    public required IReadOnlyList<string> Unexpected { get; init; }
    /// <summary>Keys present on both sides with different shapes (skipped).</summary>
    public required IReadOnlyList<ShapeMismatch> Mismatched { get; init; }
    /// <summary>Checkpoint keys whose name was normalised (prefix → stripped name).</summary>
    public required IReadOnlyList<(string From, string To)> Renamed { get; init; }

    /// <summary>True when every model key was loaded and nothing was left over.</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <summary>PyTorch's strict-mode error text: "Error(s) in loading state_dict ...".</summary>
    public string ErrorText(string? source)
    {
        var sb = new StringBuilder($"Error(s) in loading state_dict{(source is null ? "" : $" from {source}")}:");
        if (Missing.Count > 0) sb.Append("\n\tMissing key(s) in state_dict: ").Append(string.Join(", ", Missing.Select(k => $"\"{k}\""))).Append('.');
        if (Unexpected.Count > 0) sb.Append("\n\tUnexpected key(s) in state_dict: ").Append(string.Join(", ", Unexpected.Select(k => $"\"{k}\""))).Append('.');
        foreach (var m in Mismatched)
            sb.Append($"\n\tsize mismatch for {m.Key}: copying a param with shape torch.Size({TorchTensor.Fmt(m.CheckpointShape)}) from checkpoint, the shape in current model is torch.Size({TorchTensor.Fmt(m.ModelShape)}).");
        return sb.ToString();
    }

    /// <summary>As PyTorch prints the non-strict result: <c>_IncompatibleKeys(missing_keys=[...], unexpected_keys=[...])</c>, plus size mismatches.</summary>
    public override string ToString()
    {
        var s = $"_IncompatibleKeys(missing_keys=[{string.Join(", ", Missing.Select(k => $"'{k}'"))}], unexpected_keys=[{string.Join(", ", Unexpected.Select(k => $"'{k}'"))}])";
        foreach (var m in Mismatched)
            s += $"\nsize mismatch for {m.Key}: checkpoint {TorchTensor.Fmt(m.CheckpointShape)}, model {TorchTensor.Fmt(m.ModelShape)} (skipped)";
        return s;
    }
}

/// <summary>A strict load found missing, unexpected or mismatched keys; the message is PyTorch's.</summary>
public sealed class StateDictLoadException(string message, LoadReport report) : IOException(message)
{
    /// <summary>The full report.</summary>
    public LoadReport Report { get; } = report;
}
