using Minimind.Model.Data;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>MiniMind's <c>train_pretrain.py</c>: next-token CE on every weight over plain text (its values are the option table's plain defaults).</summary>
public sealed class PretrainRecipe() : StageRecipe("pretrain", "train_pretrain.py", "next-token pretraining of every weight", new RecipeDefaults("pretrain", "none",
    Epochs: 2, BatchSize: 32, LearningRate: 5e-4, AccumulationSteps: 8, MaxSeqLen: 340, LogInterval: 100, SaveInterval: 1000,
    DemoEpochs: 3, DemoBatchSize: 16, DemoLearningRate: 2e-3))
{
    /// <inheritdoc/>
    public override bool TrainsOnReplies => false;

    /// <inheritdoc/>
    public override string BenchNote => "every target counts";

    /// <inheritdoc/>
    protected override StageData OpenBuiltin(DataRequest r)
    {
        var data = BuiltinCorpus.CreateSource(r.Tokenizer!, r.MaxSeqLen);
        return new StageData(data, $"built-in corpus ({data.Count} documents, {r.TokSpec} tokenizer)");
    }

    /// <inheritdoc/>
    protected override StageData OpenJsonl(string path, DataRequest r)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--data file not found: {path}", path);
        return new StageData(JsonlPretrainSource.Open(path, r.Tokenizer!, r.MaxSeqLen, r.Log), $"jsonl {path}");
    }

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c) => new(new LanguageModelStage(Name, c.Model, c.Data));
}
