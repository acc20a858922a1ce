using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Lora;
using Minimind.Model.Training;
using Minimind.Model.Training.Stages;

namespace Minimind.Cli.Commands;

/// <summary>
/// Builds the <see cref="ITrainingStage"/> that <c>train --stage</c> names over the trained model, and owns what
/// the stage adds and keeps frozen (LoRA adapters, the distillation teacher); they are loaded on every start,
/// resumed or not, since a checkpoint holds only the trained buffer.
/// </summary>
internal sealed class StageSetup : IDisposable
{
    private readonly MiniMindModel? _teacher;

    private StageSetup(ITrainingStage stage, LoraAdapters? lora, MiniMindModel? teacher) { Stage = stage; Lora = lora; _teacher = teacher; }

    /// <summary>The stage the trainer runs.</summary>
    public ITrainingStage Stage { get; }
    /// <summary>The adapters of a LoRA stage (attached to the model), else null.</summary>
    public LoraAdapters? Lora { get; }

    /// <summary>The stage of <paramref name="recipe"/> over <paramref name="model"/> and <paramref name="data"/>.</summary>
    public static StageSetup Create(StageRecipe recipe, StageSettings s, MiniMindModel model, IPretrainSource data, TrainOptions o, IBackend backend, TextWriter log)
    {
        switch (recipe.Name)
        {
            case "lora":
                {
                    var lora = new LoraAdapters(model, s.LoraRank);
                    lora.InitRandom(checked((int)o.Seed));
                    return new StageSetup(new LoraStage(model, lora, data), lora, null);
                }
            case "distill":
                {
                    string path = TrainCommand.FromWeightPath(s.TeacherWeight!, o, model.Config);
                    if (!File.Exists(path))
                        throw new FileNotFoundException($"--teacher-weight {s.TeacherWeight}: {path} not found (give the teacher's .pth)", path);
                    var cfg = ModelOptions.Parse(new ArgParser(s.TeacherArch is null ? Array.Empty<string>() : new[] { "--arch", s.TeacherArch }), path, out var sd);
                    if (cfg.MaxSeqLen < data.SeqLen) cfg = cfg with { MaxSeqLen = data.SeqLen };
                    // The teacher stays fp32 whatever --dtype: MiniMind runs it outside the autocast context.
                    var teacher = MiniMindModel.Create(cfg, backend, o.BatchSize, data.SeqLen);
                    try
                    {
                        var report = teacher.LoadStateDict(sd!, strict: true);
                        log.WriteLine($"teacher: {path}: {cfg.Arch} dim {cfg.Dim}, {cfg.NLayers} layers, vocab {cfg.VocabSize}: {teacher.Parameters.TotalElements:N0} parameters ({report})");
                        return new StageSetup(new DistillStage(model, teacher, data, s.Alpha, s.Temperature), null, teacher);
                    }
                    catch { teacher.Dispose(); throw; }
                }
            default:
                return new StageSetup(new LanguageModelStage(recipe.Name, model, data), null, null);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Lora?.Dispose();
        _teacher?.Dispose();
    }
}
