using Minimind.Cli.Commands;
using Minimind.Model;
using Minimind.Training;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>MiniMind's <c>train_distillation.py</c>: a frozen teacher's soft targets mixed with the CE on the label tokens.</summary>
public sealed class DistillRecipe() : ConversationRecipe("distill", "train_distillation.py", "distillation from a frozen teacher: alpha·CE + (1-alpha)·T²·KL on the label tokens",
    new RecipeDefaults("full_dist", "full_sft",
        Epochs: 6, BatchSize: 32, LearningRate: 5e-6, AccumulationSteps: 1, MaxSeqLen: 340, LogInterval: 100, SaveInterval: 100,
        DemoEpochs: 2, DemoBatchSize: 16, DemoLearningRate: 1e-3))
{
    /// <summary><c>--teacher-weight</c>.</summary>
    public static readonly CliOption<string?> TeacherWeight = Opt.String("teacher-weight", "NAME|PATH", "full_sft",
        "distill: the frozen teacher, <out-dir>/NAME_<dim>.pth of the student's shape or any .pth this project loads (its shapes read from it)").Sample("teacher.pth");
    /// <summary><c>--teacher-arch</c>.</summary>
    public static readonly CliOption<string?> TeacherArch = Opt.ChoiceOrNull("teacher-arch",
        "distill: the teacher's generation when its file does not tell (2024 and minimind2 share keys)", ModelConfig.PresetNames.ToArray()).DefaultIs("detected").Sample("minimind2");
    /// <summary><c>--alpha</c>.</summary>
    public static readonly CliOption<double> Alpha = Opt.Double("alpha", "X", DistillStage.DefaultAlpha, "distill: weight of the CE part").AtLeast(0).Check(v => v <= 1, "must be at most 1");
    /// <summary><c>--temperature</c>.</summary>
    public static readonly CliOption<double> Temperature = Opt.Double("temperature", "T", DistillStage.DefaultTemperature, "distill: softmax temperature of the KL part").Positive();

    /// <inheritdoc/>
    public override IReadOnlyList<CliOption> Options { get; } = new CliOption[] { TeacherWeight, TeacherArch, Alpha, Temperature };

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c)
    {
        var (s, o) = (c.Settings, c.Options);
        string path = InitialWeights.PathOf(s.TeacherWeight!, o, c.Model.Config);
        if (!File.Exists(path))
            throw new FileNotFoundException($"--teacher-weight {s.TeacherWeight}: {path} not found (give the teacher's .pth)", path);
        var source = ModelOptions.Open(path);
        var cfg = ModelOptions.Resolve(new ArgParser(s.TeacherArch is null ? Array.Empty<string>() : new[] { "--arch", s.TeacherArch }), source);
        if (cfg.MaxSeqLen < c.Data.SeqLen) cfg = cfg with { MaxSeqLen = c.Data.SeqLen };
        // The teacher stays fp32 whatever --dtype: MiniMind runs it outside the autocast context.
        var teacher = MiniMindModel.CreateForwardOnly(cfg, c.Backend, o.BatchSize, c.Data.SeqLen); // frozen: no gradients, one block's activations
        try
        {
            var report = CheckpointLoader.Load(teacher, source, c.Log);
            string id = StageSetup.FrozenModelId(path);
            c.Log.WriteLine($"teacher: {path} (frozen, {id[..19]}...): {cfg.Arch} dim {cfg.Dim}, {cfg.NLayers} layers, vocab {cfg.VocabSize}: {teacher.Parameters.TotalElements:N0} parameters ({report})");
            return new StageSetup(new DistillStage(c.Model, teacher, c.Data, s.Alpha, s.Temperature, id), frozen: teacher);
        }
        catch { teacher.Dispose(); throw; }
    }
}
