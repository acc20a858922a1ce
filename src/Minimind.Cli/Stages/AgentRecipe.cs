using Minimind.Cli.Commands;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Training;
using Minimind.Training.Rl;
using Minimind.Training.Rl.Agent;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>
/// MiniMind's <c>train_agent.py</c>: multi-turn tool-use RL. G rollouts per row of up to 3 turns, the six mock tools
/// executed between turns, MiniMind's agent reward, GRPO/CISPO over the packed sequences with the observation tokens
/// masked out, against a frozen reference (the --from-weight model loaded a second time). A sample is a row and takes
/// --num-generations model rows of --max-total-len tokens. It shares grpo's options (its defaults are train_agent.py's).
/// </summary>
public sealed class AgentRecipe() : StageRecipe("agent", "train_agent.py",
    "agentic RL: G multi-turn tool-use rollouts per row (mock tools executed between turns, observation tokens masked), MiniMind's agent reward, GRPO/CISPO against a frozen reference; built-in: tool questions",
    new RecipeDefaults("agent", "full_sft",
        Epochs: 1, BatchSize: 2, LearningRate: 3e-7, AccumulationSteps: 1, MaxSeqLen: 1024, LogInterval: 1, SaveInterval: 10,
        DemoEpochs: 1, DemoBatchSize: 2, DemoLearningRate: 2e-4)
    { Beta = 0.1, LossSpike = 0, Schedule = LrScheduleKind.CosineAnnealing, Generations = 4, MaxGenLen = 768, ThinkingRatio = 0.1 })
{
    /// <summary><c>--max-total-len</c>.</summary>
    public static readonly CliOption<int> MaxTotalLen = Opt.Int("max-total-len", "N", 2500,
        "agent: most tokens of a rollout's prompt + turns (the rollout context; the trained sequence keeps its last N, as MiniMind's --max_total_len)")
        .Or(256, TrainStages.BuiltinRun).AtLeast(2);

    /// <inheritdoc/>
    public override IReadOnlyList<CliOption> Options { get; } = new CliOption[]
    {
        GrpoRecipe.LossType, GrpoRecipe.NumGenerations, DpoRecipe.Beta, GrpoRecipe.Epsilon, GrpoRecipe.EpsilonHigh, GrpoRecipe.MaxGenLen,
        GrpoRecipe.ThinkingRatio, GrpoRecipe.RewardUrl, MaxTotalLen,
    }.Concat(RolloutLogOptions.All).ToArray();

    /// <inheritdoc/>
    public override int RowsPerSample(StageSettings s) => s.Grpo.Generations;

    /// <inheritdoc/>
    public override bool TrainsOnReplies => false;

    /// <inheritdoc/>
    protected override StageData OpenBuiltin(DataRequest r)
    {
        var set = AgentTaskSet.Builtin(ChatFormat.Load(r.TokSpec), r.MaxSeqLen, r.Settings.Grpo.MaxGenLen, r.Settings.AgentMaxTotalLen);
        return new StageData(set, $"built-in agent rows ({set.Stats}; {r.TokSpec} tokenizer)");
    }

    /// <inheritdoc/>
    protected override StageData OpenJsonl(string path, DataRequest r)
    {
        var set = AgentTaskSet.Open(path, ChatFormat.Load(r.TokSpec), r.MaxSeqLen, r.Settings.Grpo.MaxGenLen, r.Settings.AgentMaxTotalLen);
        return new StageData(set, $"agent RL rows {path} ({set.Stats})");
    }

    /// <inheritdoc/>
    protected override StageData OpenTokenFile(string path, DataRequest r) =>
        throw new UsageException($"--stage agent reads a jsonl of {{\"conversations\": [...], \"gt\": [...]}} rows (MiniMind's agent_rl.jsonl), not a token file ({path})");

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c)
    {
        if (c.Data is not AgentTaskSet set) throw new ArgumentException("--stage agent reads agent RL rows", nameof(c));
        var (o, g) = (c.Options, c.Settings.Grpo);
        if (g.RewardUrl is null)
            c.Log.WriteLine("note: no --reward-url: completions without tool calls get MiniMind's format terms alone, without its reward model");
        // train_agent.py runs the reference outside autocast
        var (reference, id) = FrozenReference.Load(c, c.Model.MaxBatch, Precision.Fp32, Name);
        RewardModelClient? client = null;
        try
        {
            if (g.RewardUrl is not null) client = new RewardModelClient(new Uri(g.RewardUrl));
            var options = new AgentOptions
            {
                Policy = new GrpoOptions { Loss = new PolicyLossOptions(g.LossType, g.Beta, g.Epsilon, g.EpsilonHigh), Generations = g.Generations },
                ThinkingRatio = g.ThinkingRatio, MaxTotalLen = set.SeqLen,
            };
            var stage = new AgentStage(c.Model, reference, set, options, client, o.BatchSize, o.Seed, id);
            var s = options.Policy.Sampling;
            c.Log.WriteLine($"agent: {g.LossType.ToString().ToLowerInvariant()} loss, {g.Generations} rollouts per row of up to {options.MaxTurns} turns, beta {g.Beta}, " +
                $"up to {set.MaxGenLen} new tokens per turn (temperature {s.Temperature}, top-p {s.TopP}, top-k {s.TopK}), thinking ratio {g.ThinkingRatio}, " +
                $"sequences cut to their last {set.SeqLen} tokens; schedule CosineAnnealingLR to lr/10");
            return new StageSetup(stage, frozen: new Disposables(stage, reference, client));
        }
        catch { reference.Dispose(); client?.Dispose(); throw; }
    }
}
