using Minimind.Training.Rl.Logging;

namespace Minimind.Cli.Stages;

/// <summary>
/// The RL stages' rollout log and debug print: <c>--log-rollouts FILE [--log-rollouts-every N]</c> and MiniMind's
/// <c>--debug-mode [--debug-interval N]</c>. An RL recipe lists <see cref="All"/> among its options.
/// </summary>
public static class RolloutLogOptions
{
    /// <summary><c>--log-rollouts</c>.</summary>
    public static readonly CliOption<string?> LogRollouts = Opt.String("log-rollouts", "FILE", null,
        "RL stages: append the sampled rollouts to FILE as JSON lines, one per prompt per logged step: step, epoch, micro-batch, rank, " +
        "the micro-batch's loss, prompt ids and text, and per completion its ids, text, loss mask, reward and reward parts, advantage and " +
        "old per-token log-probs (floats exact); continued across resumes with each step once; under mpirun rank 0 writes every rank's (docs/rl.md)")
        .Sample("out/rollouts.jsonl");
    /// <summary><c>--log-rollouts-every</c>.</summary>
    public static readonly CliOption<int> LogRolloutsEvery = Opt.Int("log-rollouts-every", "N", 1,
        "RL stages: log the rollouts of every N-th optimizer step (needs --log-rollouts)").AtLeast(1);
    /// <summary><c>--debug-mode</c>.</summary>
    public static readonly CliOption<bool> DebugMode = Opt.Flag("debug-mode",
        "RL stages: print the sampled rollouts every --debug-interval steps as MiniMind's --debug_mode does (context, each response, its reward; rank 0's)");
    /// <summary><c>--debug-interval</c>.</summary>
    public static readonly CliOption<int> DebugInterval = Opt.Int("debug-interval", "N", 20, "RL stages: optimizer steps between --debug-mode prints (MiniMind's --debug_interval)").AtLeast(1);

    /// <summary>The four, for an RL recipe's option list.</summary>
    public static IReadOnlyList<CliOption> All { get; } = new CliOption[] { LogRollouts, LogRolloutsEvery, DebugMode, DebugInterval };

    /// <summary>Reads the four; an interval given without the flag it applies to is refused rather than ignored.</summary>
    public static RolloutLogSettings Bind(ArgParser args)
    {
        string? path = args.Get(LogRollouts);
        bool debug = args.Get(DebugMode);
        if (path is null && args.Has(LogRolloutsEvery)) throw new UsageException("--log-rollouts-every applies to the rollout log: give --log-rollouts FILE");
        if (!debug && args.Has(DebugInterval)) throw new UsageException("--debug-interval applies to the debug print: give --debug-mode");
        return new RolloutLogSettings(path, args.Get(LogRolloutsEvery), debug ? args.Get(DebugInterval) : 0);
    }
}
