using Minimind.Checkpoint;
using Minimind.Cli.Commands;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Data.Rl;
using Minimind.Training;
using Minimind.Training.Rl;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>
/// MiniMind's <c>train_grpo.py</c>: GRPO/CISPO on rollouts of the current policy, against a frozen reference (the
/// --from-weight model loaded a second time). A sample is a prompt and takes --num-generations model rows.
/// </summary>
public sealed class GrpoRecipe() : StageRecipe("grpo", "train_grpo.py",
    "GRPO/CISPO: G sampled completions per prompt, group-normalised rewards, k3 KL to a frozen reference (the --from-weight model); built-in: verifiable tasks",
    new RecipeDefaults("grpo", "full_sft",
        Epochs: 1, BatchSize: 2, LearningRate: 3e-7, AccumulationSteps: 1, MaxSeqLen: 768, LogInterval: 1, SaveInterval: 10,
        // built-in run: 2 epochs (the second asks the same 512 tasks, so its mean reward shows the rise: GrpoDemoTests)
        DemoEpochs: 2, DemoBatchSize: 2, DemoLearningRate: 2e-4)
    { Beta = 0.1, LossSpike = 0, Schedule = LrScheduleKind.CosineAnnealing })
{
    /// <summary><c>--loss-type</c>.</summary>
    public static readonly CliOption<string> LossType = Opt.Choice("loss-type", "cispo", "grpo, agent: the policy objective (MiniMind's --loss_type)", "cispo", "grpo");
    /// <summary><c>--num-generations</c>.</summary>
    public static readonly CliOption<int> NumGenerations = Opt.Int("num-generations", "G", 6, "grpo, agent: completions sampled per prompt (agent: rollouts per row; default 4)").AtLeast(2);
    /// <summary><c>--epsilon</c>.</summary>
    public static readonly CliOption<double> Epsilon = Opt.Double("epsilon", "X", 0.2, "grpo, agent: PPO clip range of --loss-type grpo, ratio kept in [1-X, 1+X]").Positive().Check(v => v < 1, "must be below 1");
    /// <summary><c>--epsilon-high</c>.</summary>
    public static readonly CliOption<double> EpsilonHigh = Opt.Double("epsilon-high", "X", 5.0, "grpo, agent: CISPO's cap on the (detached) ratio").Positive();
    /// <summary><c>--max-gen-len</c>.</summary>
    public static readonly CliOption<int> MaxGenLen = Opt.Int("max-gen-len", "N", 1024, "grpo, ppo, agent: most tokens generated per completion, per turn for agent (the prompt takes --max-seq-len; agent default 768)").Or(24, TrainStages.BuiltinRun).AtLeast(1);
    /// <summary><c>--thinking-ratio</c>.</summary>
    public static readonly CliOption<double> ThinkingRatio = Opt.Double("thinking-ratio", "P", 0.9, "grpo, ppo, agent: share of prompts rendered with thinking open (grpo, ppo: drawn per --data row and --seed; agent: per rollout, default 0.1)")
        .AtLeast(0).Check(v => v <= 1, "must be at most 1").Sample("0.5");
    /// <summary><c>--reward-url</c>.</summary>
    public static readonly CliOption<string?> RewardUrl = Opt.String("reward-url", "URL", null,
        "grpo, ppo, agent: a reward model over HTTP (POST {\"messages\": [...], \"response\": \"...\"} -> {\"score\": x}, clipped to +-3; docs/rl.md), added to the rule rewards of --data prompts (agent: of the completions that call no tool)")
        .DefaultIs("none: the rule rewards alone").Sample("http://127.0.0.1:8000/score");

    /// <inheritdoc/>
    public override IReadOnlyList<CliOption> Options { get; } =
        new CliOption[] { LossType, NumGenerations, DpoRecipe.Beta, Epsilon, EpsilonHigh, MaxGenLen, ThinkingRatio, RewardUrl }.Concat(RolloutLogOptions.All).ToArray();

    /// <inheritdoc/>
    public override int RowsPerSample(StageSettings s) => s.Grpo.Generations;

    /// <inheritdoc/>
    public override bool TrainsOnReplies => false;

    /// <inheritdoc/>
    protected override StageData OpenBuiltin(DataRequest r) => BuiltinPrompts(r);

    /// <inheritdoc/>
    protected override StageData OpenJsonl(string path, DataRequest r) => RlaifPrompts(path, r);

    /// <inheritdoc/>
    protected override StageData OpenTokenFile(string path, DataRequest r) => throw NotPrompts(Name, path);

    /// <summary>The built-in verifiable tasks as RL prompts (grpo, ppo), completions of up to --max-gen-len tokens.</summary>
    internal static StageData BuiltinPrompts(DataRequest r)
    {
        var prompts = RlPromptSet.Builtin(ChatFormat.Load(r.TokSpec), r.MaxSeqLen, r.Settings.Grpo.MaxGenLen);
        return new StageData(prompts, $"built-in RL prompts ({prompts.Stats}; {r.TokSpec} tokenizer)");
    }

    /// <summary>MiniMind's RLAIFDataset rows (grpo, ppo): the conversation minus its last reply, thinking open per --thinking-ratio;
    /// a prompt past --max-seq-len keeps its end (grpo) or its start (<paramref name="keepEnd"/> false: ppo).</summary>
    internal static StageData RlaifPrompts(string path, DataRequest r, bool keepEnd = true)
    {
        var g = r.Settings.Grpo;
        var prompts = RlPromptSet.Open(path, ChatFormat.Load(r.TokSpec), r.MaxSeqLen, g.MaxGenLen, g.ThinkingRatio, unchecked((ulong)r.Seed), keepEnd);
        return new StageData(prompts, $"RLAIF prompts {path} ({prompts.Stats})");
    }

    internal static UsageException NotPrompts(string stage, string path) =>
        new($"--stage {stage} reads a jsonl of {{\"conversations\": [...]}} prompts (MiniMind's rlaif.jsonl), not a token file ({path})");

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c)
    {
        if (c.Data is not RlPromptSet prompts) throw new ArgumentException("--stage grpo reads RL prompts", nameof(c));
        var (o, g) = (c.Options, c.Settings.Grpo);
        var format = ChatFormat.Load(o.TokenizerSpec ?? throw new UsageException("--stage grpo needs --tokenizer (completions are decoded to be scored)"));
        if (prompts.Prompts.All(p => p.Task is null) && g.RewardUrl is null)
            c.Log.WriteLine("note: no --reward-url: the rewards are MiniMind's rule terms alone (length, think block, repetition), without its reward model");
        var (reference, id) = FrozenReference.Load(c, c.Model.MaxBatch, Precision.Fp32, Name); // train_grpo.py runs the reference outside autocast
        RewardModelClient? client = null;
        try
        {
            if (g.RewardUrl is not null) client = new RewardModelClient(new Uri(g.RewardUrl));
            var options = new GrpoOptions
            {
                Loss = new PolicyLossOptions(g.LossType, g.Beta, g.Epsilon, g.EpsilonHigh), Generations = g.Generations,
            };
            var stage = new GrpoStage(c.Model, reference, prompts, options, new GrpoRewards(client), format.Tokenizer, format.StopId, o.BatchSize, o.Seed, id);
            c.Log.WriteLine($"grpo: {g.LossType.ToString().ToLowerInvariant()} loss, {g.Generations} generations per prompt, beta {g.Beta}, up to {prompts.MaxGenLen} new tokens " +
                $"(temperature {options.Sampling.Temperature}, top-p {options.Sampling.TopP}, top-k {options.Sampling.TopK}); schedule CosineAnnealingLR to lr/10");
            return new StageSetup(stage, frozen: new Disposables(stage, reference, client));
        }
        catch { reference.Dispose(); client?.Dispose(); throw; }
    }
}

/// <summary>What the grpo-only options asked for.</summary>
public sealed record GrpoSettings(PolicyLossType LossType, int Generations, double Beta, double Epsilon, double EpsilonHigh, int MaxGenLen, double ThinkingRatio, string? RewardUrl)
{
    /// <summary>MiniMind's defaults (the bench).</summary>
    public static GrpoSettings Defaults { get; } = new(PolicyLossType.Cispo, 6, 0.1, 0.2, 5.0, 1024, 0.9, null);
}
