using Minimind.Model;

namespace Minimind.Training;

/// <summary>
/// Where a run's files go, from MiniMind's file stem <c>{save_weight}_{hidden}{_moe}</c> (pretrain_512,
/// full_sft_512_moe, lora_medical_512, dpo_512, full_dist_512) and the output folder.
/// </summary>
public sealed record RunPaths(string OutDir, string RunName)
{
    /// <summary>MiniMind's name for a weight file: <c>{save_weight}_{hidden}{_moe}</c>.</summary>
    public static string RunNameOf(string saveWeight, ModelConfig c) => $"{saveWeight}_{c.Dim}{(c.UseMoe ? "_moe" : "")}";

    /// <summary>The paths of run <paramref name="saveWeight"/> for model <paramref name="c"/> under <paramref name="outDir"/>.</summary>
    public static RunPaths Of(string outDir, string saveWeight, ModelConfig c) => new(outDir, RunNameOf(saveWeight, c));

    /// <summary>Folder holding the step_* resume states.</summary>
    public string CheckpointRoot => Path.Combine(OutDir, "checkpoints", RunName);
    /// <summary>The PyTorch weight file written at every save.</summary>
    public string WeightsPath => Path.Combine(OutDir, RunName + ".pth");
    /// <summary>MiniMind's resume layout, written with --export-minimind-resume.</summary>
    public string MinimindResumePath => Path.Combine(OutDir, "checkpoints", RunName + "_resume.pth");
    /// <summary>The metrics jsonl.</summary>
    public string MetricsPath => Path.Combine(OutDir, "checkpoints", RunName + "_metrics.jsonl");
    /// <summary>The loss-curve PNG.</summary>
    public string PlotPath => Path.Combine(OutDir, RunName + "_loss.png");
}
