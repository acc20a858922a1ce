using Minimind.Checkpoint;
using Minimind.Cli.Commands;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Data.Sft;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>
/// MiniMind's <c>train_dpo.py</c>: chosen/rejected pairs (DPODataset) against a frozen reference, the --from-weight model
/// loaded a second time; a sample is one pair, two model rows.
/// </summary>
public sealed class DpoRecipe() : StageRecipe("dpo", "train_dpo.py", "direct preference optimisation on chosen/rejected pairs against a frozen reference (the --from-weight model)",
    new RecipeDefaults("dpo", "full_sft",
        Epochs: 1, BatchSize: 4, LearningRate: 4e-8, AccumulationSteps: 1, MaxSeqLen: 1024, LogInterval: 100, SaveInterval: 100,
        DemoEpochs: 1, DemoBatchSize: 8, DemoLearningRate: 1e-5))
{
    /// <summary><c>--beta</c>.</summary>
    public static readonly CliOption<double> Beta = Opt.Double("beta", "X", DpoStage.DefaultBeta, "dpo: β of the DPO loss; grpo, agent: weight of the k3 KL to the reference (MiniMind's --beta)").Positive();

    /// <inheritdoc/>
    public override IReadOnlyList<CliOption> Options { get; } = new CliOption[] { Beta };

    /// <inheritdoc/>
    public override int RowsPerSample(StageSettings settings) => 2;

    /// <inheritdoc/>
    public override bool ReadsConversations => true;

    /// <inheritdoc/>
    protected override StageData OpenBuiltin(DataRequest r)
    {
        var pairs = DpoPairSource.Builtin(ChatFormat.Load(r.TokSpec), r.SftOptions);
        return new StageData(PreferenceSide.Split(pairs).Chosen, $"built-in preference pairs ({pairs.Count} pairs, {r.TokSpec} tokenizer; {pairs.Stats})");
    }

    /// <inheritdoc/>
    protected override StageData OpenJsonl(string path, DataRequest r)
    {
        var pairs = DpoPairSource.Open(path, ChatFormat.Load(r.TokSpec), r.SftOptions);
        return new StageData(PreferenceSide.Split(pairs).Chosen, $"preference pairs {path} ({pairs.Stats})");
    }

    /// <inheritdoc/>
    protected override StageData OpenTokenFile(string path, DataRequest r) =>
        throw new UsageException($"--stage dpo reads a jsonl of {{\"chosen\": [...], \"rejected\": [...]}} pairs, not a token file ({path})");

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c)
    {
        if (c.Data is not PreferenceSide side) throw new ArgumentException("--stage dpo reads preference pairs", nameof(c));
        var (chosen, rejected) = PreferenceSide.Split(side.Pairs);
        // as train_dpo.py runs ref_model under the same autocast
        var (reference, id) = FrozenReference.Load(c, RowsPerSample(c.Settings) * c.Options.BatchSize, c.Options.Dtype, Name);
        try { return new StageSetup(new DpoStage(c.Model, reference, chosen, rejected, c.Settings.Beta, id), frozen: reference); }
        catch { reference.Dispose(); throw; }
    }
}
