using Minimind.Checkpoint.Resume;
using Minimind.Training;

namespace Minimind.Cli.Commands;

/// <summary>The lines <c>minimind train</c> ends with: what happened, where the files are, and the commands that continue from there.</summary>
internal static class TrainReport
{
    /// <summary>Prints the end of a run that ended as <paramref name="outcome"/>; returns the exit code.</summary>
    public static int Print(TrainOutcome outcome, Trainer trainer, TrainCommand.Settings settings, bool lora, TextWriter log)
    {
        var (paths, options, state) = (trainer.Paths, settings.Options, trainer.State);
        string again = ResumeCommandLine();
        if (outcome == TrainOutcome.Diverged)
        {
            var last = ResumeStore.ListSteps(paths.CheckpointRoot).FirstOrDefault();
            log.WriteLine($"error: training diverged at step {state.OptimizerStep}: {trainer.DivergedReason}.");
            log.WriteLine(last is null
                ? "No checkpoint had been written yet; nothing on disk was touched."
                : $"The newest checkpoint, {last.Path} (step {last.Step}), is the last good state and {paths.WeightsPath} holds its weights; nothing after it was saved.");
            string remedy = options.GradClip > 0
                ? $"Lower --learning-rate (gradients are already clipped at --grad-clip {options.GradClip:G})"
                : "Lower --learning-rate or enable --grad-clip (e.g. --grad-clip 1)";
            if (last is null)
                log.WriteLine($"{remedy} and start again.");
            else
            {
                log.WriteLine($"{remedy}: a resumed run keeps its schedule's length and takes a changed --learning-rate from its next step (printed as 'changed:'),");
                log.WriteLine($"or continue from the last checkpoint with: {again}");
            }
            return TrainCommand.DivergedExitCode;
        }
        if (outcome == TrainOutcome.Stopped)
        {
            log.WriteLine($"stopped at step {state.OptimizerStep}/{trainer.StopStep}; checkpoint in {paths.CheckpointRoot}");
            log.WriteLine($"resume with: {again}");
            return 0;
        }
        log.WriteLine($"done: {state.OptimizerStep} steps, final loss {(state.Losses.Count > 0 ? state.Losses[^1] : float.NaN):F4}");
        log.WriteLine($"weights:    {paths.WeightsPath}");
        log.WriteLine($"checkpoint: {paths.CheckpointRoot}");
        if (options.Plot) log.WriteLine($"loss plot:  {paths.PlotPath}");
        log.WriteLine($"metrics:    {paths.MetricsPath}");
        var config = trainer.Stage.Config;
        string tokSpec = settings.TokSpec;
        // The .pth alone does not say which generation wrote it (2024 and minimind2 share keys): spell the architecture out.
        string tokHint = tokSpec.Length > 0 ? $" --tokenizer {tokSpec}" : "";
        if (lora)
        {
            string merged = Path.Combine(options.OutDir, RunPaths.RunNameOf(options.SaveWeight + "_merged", config) + ".pth");
            log.WriteLine($"merge it:   minimind convert {(settings.FromWeight is null ? "BASE.pth" : TrainCommand.FromWeightPath(settings.FromWeight, options, config))} {merged} --merge-lora {paths.WeightsPath}");
            log.WriteLine($"try it:     minimind generate --weights {merged} {ModelOptions.Describe(config)}{tokHint} --prompt \"...\"");
        }
        // The .pth records its architecture and tokenizer, so the weights are all generate needs.
        else log.WriteLine($"try it:     minimind generate --weights {paths.WeightsPath}{(tokSpec.Length > 0 ? "" : " --tokenizer TOKENIZER")} --prompt \"...\"");
        log.WriteLine($"resume command (for a run that was interrupted; a finished one has nothing left): {again}");
        return 0;
    }

    // The command line that continues this run: the same options with --resume.
    private static string ResumeCommandLine()
    {
        var a = Environment.GetCommandLineArgs().Skip(1).ToList();
        int i = a.IndexOf("train");
        var opts = i >= 0 ? a.Skip(i + 1).ToList() : a;
        var kept = new List<string>();
        for (int k = 0; k < opts.Count; k++)
        {
            if (opts[k] == "--resume") continue;
            if (opts[k] == "--resume-from") { k++; continue; }
            if (opts[k].StartsWith("--resume-from=", StringComparison.Ordinal)) continue;
            kept.Add(opts[k].Contains(' ') ? $"\"{opts[k]}\"" : opts[k]);
        }
        return "minimind train " + string.Join(' ', kept.Append("--resume")).Trim();
    }
}
