using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Data.Sft;
using Minimind.Model.Lora;
using Minimind.Training;
using Minimind.Training.Stages;

namespace Minimind.Cli.Commands;

/// <summary>
/// Builds the <see cref="ITrainingStage"/> that <c>train --stage</c> names over the trained model, and owns what
/// the stage adds and keeps frozen (LoRA adapters, the distillation teacher, the DPO reference); they are loaded on every start,
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
    public static StageSetup Create(StageRecipe recipe, StageSettings s, MiniMindModel model, IPretrainSource data, TrainOptions o, IBackend backend, TextWriter log,
        string? fromWeight = null)
    {
        switch (recipe.Name)
        {
            case "dpo":
                {
                    if (data is not PreferenceSide side) throw new ArgumentException("--stage dpo reads preference pairs", nameof(data));
                    var (chosen, rejected) = PreferenceSide.Split(side.Pairs);
                    // MiniMind's ref_model: init_model(from_weight) again, frozen. Loaded on every start (never checkpointed),
                    // so its file's hash joins the run's signature: a resume against a changed file is refused.
                    var reference = MiniMindModel.Create(model.Config, backend, RowsPerSample(recipe) * o.BatchSize, data.SeqLen);
                    try
                    {
                        reference.Precision = o.Dtype; // as train_dpo.py runs ref_model under the same autocast
                        reference.InitRandom(checked((int)o.Seed));
                        string id = "none (random init, seed " + o.Seed + ")";
                        if (fromWeight is not null)
                        {
                            string path = TrainCommand.FromWeightPath(fromWeight, o, model.Config);
                            if (!File.Exists(path) && !Directory.Exists(path))
                                throw new FileNotFoundException($"--from-weight {fromWeight}: {path} not found (the DPO reference model and starting point; train --stage sft first or give a .pth)", path);
                            var report = reference.LoadStateDict(StateDict.Read(path), strict: false);
                            id = FrozenModelId(path);
                            log.WriteLine($"reference: {path} (frozen, {id[..19]}...): {report}");
                        }
                        else log.WriteLine("warning: --stage dpo with --from-weight none: policy and reference start from the same random weights");
                        return new StageSetup(new DpoStage(model, reference, chosen, rejected, s.Beta, id), null, reference);
                    }
                    catch { reference.Dispose(); throw; }
                }
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
                        string id = FrozenModelId(path);
                        log.WriteLine($"teacher: {path} (frozen, {id[..19]}...): {cfg.Arch} dim {cfg.Dim}, {cfg.NLayers} layers, vocab {cfg.VocabSize}: {teacher.Parameters.TotalElements:N0} parameters ({report})");
                        return new StageSetup(new DistillStage(model, teacher, data, s.Alpha, s.Temperature, id), null, teacher);
                    }
                    catch { teacher.Dispose(); throw; }
                }
            default:
                return new StageSetup(new LanguageModelStage(recipe.Name, model, data), null, null);
        }
    }

    /// <summary>Model rows per sample: 2 for DPO (chosen and rejected in one batch, as torch.cat in train_dpo.py), else 1.</summary>
    public static int RowsPerSample(StageRecipe recipe) => recipe.Name == "dpo" ? 2 : 1;

    // A frozen model (DPO reference, distillation teacher) is reloaded from its file on every start, never checkpointed:
    // its file's hash joins the run's signature, so a resume against a changed file is refused.
    private static string FrozenModelId(string path) => "sha256:" + FileHashes.Sha256(path);

    /// <inheritdoc/>
    public void Dispose()
    {
        Lora?.Dispose();
        _teacher?.Dispose();
    }
}
