using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Data.Rl;
using Minimind.Training;
using Minimind.Training.Rl;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>
/// MiniMind's <c>train_ppo.py</c>: PPO with an actor (the trained model, saved as <c>ppo_actor_&lt;dim&gt;.pth</c>), a critic
/// (MiniMind body + final norm + Linear(hidden, 1), started from the --from-weight file as MiniMind loads it; saved as
/// <c>ppo_critic_&lt;dim&gt;.pth</c>) and a frozen reference (the --from-weight model loaded again). A sample is a prompt;
/// one completion each. Shares --max-gen-len, --thinking-ratio and --reward-url with grpo.
/// </summary>
public sealed class PpoRecipe() : StageRecipe("ppo", "train_ppo.py",
    "PPO: actor + critic (value head on the --from-weight body) + frozen reference; GAE, clipped policy and value losses, KL early stop; built-in: verifiable tasks",
    new RecipeDefaults("ppo_actor", "full_sft",
        Epochs: 1, BatchSize: 2, LearningRate: 3e-7, AccumulationSteps: 1, MaxSeqLen: 768, LogInterval: 1, SaveInterval: 10,
        DemoEpochs: 1, DemoBatchSize: 2, DemoLearningRate: 1e-5)
    { LossSpike = 0, Schedule = LrScheduleKind.CosineAnnealing })
{
    /// <summary><c>--critic-learning-rate</c>.</summary>
    public static readonly CliOption<double> CriticLearningRate = Opt.Double("critic-learning-rate", "LR", 5e-7,
        "ppo: the critic's peak learning rate (CosineAnnealingLR to LR/10 beside the actor's --learning-rate)").Or(3e-4, TrainStages.BuiltinRun).Positive();
    /// <summary><c>--clip-epsilon</c>.</summary>
    public static readonly CliOption<double> ClipEpsilon = Opt.Double("clip-epsilon", "X", 0.2, "ppo: policy ratio clipped to [1-X, 1+X]").Positive().Check(v => v < 1, "must be below 1");
    /// <summary><c>--vf-coef</c>.</summary>
    public static readonly CliOption<double> VfCoef = Opt.Double("vf-coef", "X", 0.5, "ppo: weight of the value loss in the total").AtLeast(0);
    /// <summary><c>--kl-coef</c>.</summary>
    public static readonly CliOption<double> KlCoef = Opt.Double("kl-coef", "X", 0.02, "ppo: weight of the k3 KL to the reference in the policy loss").AtLeast(0);
    /// <summary><c>--gamma</c>.</summary>
    public static readonly CliOption<double> Gamma = Opt.Double("gamma", "X", 1.0, "ppo: GAE discount").AtLeast(0).Check(v => v <= 1, "must be at most 1").Sample("0.99");
    /// <summary><c>--lam</c>.</summary>
    public static readonly CliOption<double> Lam = Opt.Double("lam", "X", 0.95, "ppo: GAE lambda").AtLeast(0).Check(v => v <= 1, "must be at most 1").Sample("0.9");
    /// <summary><c>--cliprange-value</c>.</summary>
    public static readonly CliOption<double> ClipRangeValue = Opt.Double("cliprange-value", "X", 0.2, "ppo: values clipped to the rollout's value +-X in the value loss").Positive();
    /// <summary><c>--ppo-update-iters</c>.</summary>
    public static readonly CliOption<int> UpdateIters = Opt.Int("ppo-update-iters", "N", 2, "ppo: update epochs over each rollout batch").AtLeast(1);
    /// <summary><c>--early-stop-kl</c>.</summary>
    public static readonly CliOption<double> EarlyStopKl = Opt.Double("early-stop-kl", "X", 0.25,
        "ppo: a minibatch whose mean 0.5*(log ratio)^2 passes X zeroes the rest of that epoch's losses and skips the later epochs").Positive();
    /// <summary><c>--mini-batch-size</c>.</summary>
    public static readonly CliOption<int> MiniBatchSize = Opt.Int("mini-batch-size", "N", 2, "ppo: prompts per update minibatch (one optimizer step of actor and critic each)").AtLeast(1);

    /// <inheritdoc/>
    public override IReadOnlyList<CliOption> Options { get; } = new CliOption[]
    {
        CriticLearningRate, ClipEpsilon, VfCoef, KlCoef, Gamma, Lam, ClipRangeValue, UpdateIters, EarlyStopKl, MiniBatchSize,
        GrpoRecipe.MaxGenLen, GrpoRecipe.ThinkingRatio, GrpoRecipe.RewardUrl,
    }.Concat(RolloutLogOptions.All).ToArray();

    /// <inheritdoc/>
    public override bool TrainsOnReplies => false;

    /// <inheritdoc/>
    protected override StageData OpenBuiltin(DataRequest r) => GrpoRecipe.BuiltinPrompts(r);

    /// <inheritdoc/>
    /// <remarks>train_ppo.py's tokenizer call truncates a long prompt on the right (HF's default side), keeping its start.</remarks>
    protected override StageData OpenJsonl(string path, DataRequest r) => GrpoRecipe.RlaifPrompts(path, r, keepEnd: false);

    /// <inheritdoc/>
    protected override StageData OpenTokenFile(string path, DataRequest r) => throw GrpoRecipe.NotPrompts(Name, path);

    /// <summary>The critic's file beside the actor's: <c>ppo_critic_&lt;dim&gt;.pth</c> for MiniMind's <c>ppo_actor</c>, else <c>{save_weight}_critic</c>.</summary>
    public static string CriticWeight(string saveWeight) =>
        saveWeight.EndsWith("actor", StringComparison.Ordinal) ? saveWeight[..^"actor".Length] + "critic" : saveWeight + "_critic";

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c)
    {
        if (c.Data is not RlPromptSet prompts) throw new ArgumentException("--stage ppo reads RL prompts", nameof(c));
        var (o, g, p) = (c.Options, c.Settings.Grpo, c.Settings.Ppo);
        var format = ChatFormat.Load(o.TokenizerSpec ?? throw new UsageException("--stage ppo needs --tokenizer (completions are decoded to be scored)"));
        if (prompts.Prompts.All(x => x.Task is null) && g.RewardUrl is null)
            c.Log.WriteLine("note: no --reward-url: the rewards are MiniMind's rule terms alone (length, think block, repetition), without its reward model");
        var (reference, id) = FrozenReference.Load(c, c.Model.MaxBatch, Precision.Fp32, Name); // train_ppo.py runs the reference outside autocast
        MiniMindModel? critic = null;
        RewardModelClient? client = null;
        try
        {
            // train_ppo.py: CriticModel(lm_config).load_state_dict(torch.load(from_weight), strict=False): the body from the
            // actor's starting file, the value head at nn.Linear's initialisation. The critic runs in float32 (outside autocast).
            critic = MiniMindModel.CreateCritic(c.Model.Config, c.Backend, c.Model.MaxBatch, c.Data.SeqLen);
            critic.Precision = Precision.Fp32;
            critic.InitRandom(checked((int)o.Seed));
            if (c.FromWeight is { } start)
            {
                critic.LoadCritic(start.Source(o).Weights, checked((int)o.Seed));
                c.Log.WriteLine($"critic: body from {start.Path}, value head Linear({c.Model.Config.Dim}, 1) initialised as torch's nn.Linear");
            }
            else c.Log.WriteLine("warning: --stage ppo with --from-weight none: the critic starts from random weights");
            if (g.RewardUrl is not null) client = new RewardModelClient(new Uri(g.RewardUrl));
            var options = new PpoOptions(p.ClipEpsilon, p.KlCoef, p.VfCoef, p.ClipRangeValue, p.Gamma, p.Lam, p.EarlyStopKl, p.UpdateIters, p.MiniBatchSize)
            {
                CriticLearningRate = p.CriticLearningRate,
            };
            string criticPath = RunPaths.Of(o.OutDir, CriticWeight(o.SaveWeight), c.Model.Config).WeightsPath;
            var stage = new PpoStage(c.Model, critic, reference, prompts, options, new GrpoRewards(client), format.Tokenizer, format.StopId, o.BatchSize, o.Seed, id, o, criticPath);
            c.Log.WriteLine($"ppo: {options.UpdateEpochs} update epochs over minibatches of {options.MiniBatchSize}, clip {options.ClipEpsilon}, kl_coef {options.KlCoef}, " +
                $"vf_coef {options.VfCoef}, GAE gamma {options.Gamma} lambda {options.Lambda}, early stop at approx KL {options.EarlyStopKl}; up to {prompts.MaxGenLen} new tokens " +
                $"(temperature {options.Sampling.Temperature}, top-p {options.Sampling.TopP}, top-k {options.Sampling.TopK}); actor lr {o.LearningRate}, critic lr {options.CriticLearningRate}, " +
                $"each CosineAnnealingLR to lr/10; critic saved to {criticPath}");
            return new StageSetup(stage, frozen: new Disposables(stage, critic, reference, client));
        }
        catch { reference.Dispose(); critic?.Dispose(); client?.Dispose(); throw; }
    }
}

/// <summary>What the ppo-only options asked for (the rollout options --max-gen-len, --thinking-ratio, --reward-url are grpo's, in <see cref="GrpoSettings"/>).</summary>
public sealed record PpoSettings(double CriticLearningRate, double ClipEpsilon, double VfCoef, double KlCoef, double Gamma, double Lam, double ClipRangeValue,
    int UpdateIters, double EarlyStopKl, int MiniBatchSize)
{
    /// <summary>MiniMind's defaults.</summary>
    public static PpoSettings Defaults { get; } = new(5e-7, 0.2, 0.5, 0.02, 1.0, 0.95, 0.2, 2, 0.25, 2);
}
