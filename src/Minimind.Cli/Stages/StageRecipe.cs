using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;
using Minimind.Training;
using Minimind.Kernels;

namespace Minimind.Cli.Stages;

/// <summary>
/// One stage of <c>minimind train --stage</c> (and <c>bench train --stage</c>): its MiniMind script's defaults, its own
/// options, how it opens its data, how many model rows a sample takes, and how it builds its <see cref="Training.Stages.ITrainingStage"/>
/// over the trained model. The CLI, the help pages and the bench iterate <see cref="TrainStages.All"/>; nothing compares stage names.
/// </summary>
public abstract class StageRecipe
{
    /// <summary>A recipe named <paramref name="name"/> after MiniMind's <c>trainer/<paramref name="script"/></c>.</summary>
    protected StageRecipe(string name, string script, string summary, RecipeDefaults defaults)
    {
        Name = name; Script = script; Summary = summary; Defaults = defaults;
    }

    /// <summary>The stage's name as <c>--stage</c> spells it.</summary>
    public string Name { get; }
    /// <summary>MiniMind's script for it (<c>train_pretrain.py</c>, ...).</summary>
    public string Script { get; }
    /// <summary>One line for --help.</summary>
    public string Summary { get; }
    /// <summary>The script's defaults, and the built-in run's.</summary>
    public RecipeDefaults Defaults { get; }

    /// <summary>Model rows per sample: 2 for DPO (chosen and rejected in one batch, as torch.cat in train_dpo.py), --num-generations for GRPO, else 1.</summary>
    public virtual int RowsPerSample(StageSettings settings) => 1;

    /// <summary>The options only this stage takes (another stage refuses them, naming this one).</summary>
    public virtual IReadOnlyList<CliOption> Options => Array.Empty<CliOption>();

    /// <summary>True when the stage's jsonl holds conversations rendered with the chat template (<see cref="SftRowOptions"/> apply).</summary>
    public virtual bool ReadsConversations => false;

    /// <summary>True when MiniMind's <c>pre_processing_chat</c> adds system prompts to the stage's rows (SFTDataset; not DPODataset).</summary>
    public virtual bool AddsSystemPrompts => false;

    /// <summary>True when only the assistant spans of a row carry targets (SFT's conversations).</summary>
    public virtual bool TrainsOnReplies => true;

    /// <summary><c>bench train --stage</c>: what the bench times for this stage on random rows, or null when it cannot (it needs pairs or a teacher).</summary>
    public virtual string? BenchNote => null;

    /// <summary>The file prefix when --save-weight is not given.</summary>
    public virtual string SaveWeight(ArgParser args) => Defaults.SaveWeight;

    /// <summary>The stage's data: its built-in set without --data, a token file (<c>.bin</c> from 'minimind tokenize'), else its jsonl.</summary>
    public StageData OpenData(DataRequest r) =>
        r.Path is null ? OpenBuiltin(r)
        : r.Path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? OpenTokenFile(r.Path, r)
        : OpenJsonl(r.Path, r);

    /// <summary>The built-in data (no --data).</summary>
    protected abstract StageData OpenBuiltin(DataRequest r);

    /// <summary>A jsonl --data file.</summary>
    protected abstract StageData OpenJsonl(string path, DataRequest r);

    /// <summary>A token file: rows as 'minimind tokenize' wrote them (their length wins over --max-seq-len).</summary>
    protected virtual StageData OpenTokenFile(string path, DataRequest r)
    {
        var data = TokenFilePretrainSource.Open(path);
        if (data.SeqLen + 1 != r.MaxSeqLen && r.MaxSeqLenGiven)
            r.Log.WriteLine($"note: {path} holds rows of {data.SeqLen + 1} tokens; --max-seq-len {r.MaxSeqLen} is ignored");
        return new StageData(data, $"token file {path}");
    }

    /// <summary>
    /// The stage over <paramref name="c"/>'s model and data, with what it loads and keeps frozen (adapters, a teacher,
    /// a reference model), loaded on every start, resumed or not: a checkpoint holds only the trained buffer.
    /// </summary>
    public abstract StageSetup CreateStage(StageContext c);
}

/// <summary>A stage's defaults as MiniMind's script sets them, and the toy-size values of the built-in run (no <c>--data</c>).</summary>
public sealed record RecipeDefaults(string SaveWeight, string FromWeight,
    int Epochs, int BatchSize, double LearningRate, int AccumulationSteps, int MaxSeqLen, int LogInterval, int SaveInterval,
    int DemoEpochs, int DemoBatchSize, double DemoLearningRate)
{
    /// <summary>--beta (DPO's β; GRPO's KL coefficient).</summary>
    public double Beta { get; init; } = Training.Stages.DpoStage.DefaultBeta;
    /// <summary>--loss-spike: 0 (off) for the RL stages, whose losses change sign and have no scale a spike is measured against.</summary>
    public double LossSpike { get; init; } = DivergenceGuard.DefaultSpikeFactor;
    /// <summary>The learning-rate schedule of the script.</summary>
    public LrScheduleKind Schedule { get; init; } = LrScheduleKind.MiniMindCosine;
    /// <summary>--num-generations of the RL stages (train_grpo.py 6, train_agent.py 4).</summary>
    public int Generations { get; init; } = 6;
    /// <summary>--max-gen-len of the RL stages (train_grpo.py 1024, train_agent.py 768).</summary>
    public int MaxGenLen { get; init; } = 1024;
    /// <summary>--thinking-ratio of the RL stages (train_grpo.py 0.9, train_agent.py 0.1).</summary>
    public double ThinkingRatio { get; init; } = 0.9;
}

/// <summary>What a stage's data is opened with: the --data path (null: the built-in set), the tokenizer (<paramref name="TokSpec"/> as given,
/// <paramref name="Tokenizer"/> loaded; none for a token file), the row length and whether --max-seq-len was given, the stage-only
/// options and the run's --seed (RL prompts draw their system prompt and thinking per row from it), and how conversation rows
/// are built (<paramref name="Rows"/>; null: MiniMind's defaults).</summary>
public sealed record DataRequest(string? Path, string TokSpec, ITokenizer? Tokenizer, int MaxSeqLen, bool MaxSeqLenGiven, TextWriter Log,
    StageSettings Settings, long Seed, SftRowOptions? Rows = null)
{
    /// <summary>The model layer's options for conversation rows of this request.</summary>
    public Model.Data.Sft.SftOptions SftOptions => Rows?.ToSftOptions(MaxSeqLen) ?? new Model.Data.Sft.SftOptions { MaxSeqLen = MaxSeqLen };
}

/// <summary>A stage's opened data and the sentence that describes it (stored in the checkpoints, printed at start).</summary>
public sealed record StageData(IPretrainSource Data, string Description) : IDisposable
{
    /// <summary>Releases a memory-mapped token file.</summary>
    public void Dispose() => (Data as IDisposable)?.Dispose();
}

/// <summary>What a stage is built from: its options, the trained model, the data, the recipe's knobs, the backend, the
/// log and the --from-weight weights (null: random weights), opened once for every model that starts from them.</summary>
public sealed record StageContext(StageSettings Settings, MiniMindModel Model, IPretrainSource Data, TrainOptions Options, IBackend Backend,
    TextWriter Log, InitialWeights? FromWeight);
