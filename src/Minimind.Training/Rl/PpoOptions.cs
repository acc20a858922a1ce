using Minimind.Model.Generation;

namespace Minimind.Training.Rl;

/// <summary>
/// PPO hyper-parameters with MiniMind's defaults (train_ppo.py): <c>--clip-epsilon 0.2 --kl-coef 0.02 --vf-coef 0.5
/// --cliprange-value 0.2 --gamma 1.0 --lam 0.95 --ppo-update-iters 2 --early-stop-kl 0.25 --mini-batch-size 2</c>.
/// Doubles, as Python's floats; each is rounded to float32 where MiniMind's tensors meet it.
/// </summary>
public sealed record PpoOptions(double ClipEpsilon = 0.2, double KlCoef = 0.02, double VfCoef = 0.5, double ClipRangeValue = 0.2,
    double Gamma = 1.0, double Lambda = 0.95, double EarlyStopKl = 0.25, int UpdateEpochs = 2, int MiniBatchSize = 2)
{
    /// <summary>The critic's peak learning rate (<c>--critic-learning-rate</c>, MiniMind's 5e-7); the actor's is the run's --learning-rate.</summary>
    public double CriticLearningRate { get; init; } = 5e-7;

    /// <summary>How rollouts sample: one completion per prompt, as train_grpo.py's engine samples.</summary>
    public SamplingOptions Sampling { get; init; } = GrpoOptions.MiniMindRollout;

    /// <summary>Throws an ArgumentException naming the flag of the first invalid value.</summary>
    public void Validate()
    {
        if (!(ClipEpsilon > 0 && ClipEpsilon < 1)) throw new ArgumentException($"--clip-epsilon must be in (0, 1), got {ClipEpsilon}");
        if (!(KlCoef >= 0) || !double.IsFinite(KlCoef)) throw new ArgumentException($"--kl-coef must be 0 or positive, got {KlCoef}");
        if (!(VfCoef >= 0) || !double.IsFinite(VfCoef)) throw new ArgumentException($"--vf-coef must be 0 or positive, got {VfCoef}");
        if (!(ClipRangeValue > 0) || !double.IsFinite(ClipRangeValue)) throw new ArgumentException($"--cliprange-value must be positive, got {ClipRangeValue}");
        if (!(Gamma >= 0 && Gamma <= 1)) throw new ArgumentException($"--gamma must be in [0, 1], got {Gamma}");
        if (!(Lambda >= 0 && Lambda <= 1)) throw new ArgumentException($"--lam must be in [0, 1], got {Lambda}");
        if (!(EarlyStopKl > 0)) throw new ArgumentException($"--early-stop-kl must be positive, got {EarlyStopKl}");
        if (UpdateEpochs < 1) throw new ArgumentException($"--ppo-update-iters must be at least 1, got {UpdateEpochs}");
        if (MiniBatchSize < 1) throw new ArgumentException($"--mini-batch-size must be at least 1, got {MiniBatchSize}");
        if (!(CriticLearningRate > 0) || !double.IsFinite(CriticLearningRate)) throw new ArgumentException($"--critic-learning-rate must be positive, got {CriticLearningRate}");
        Sampling.Validate();
    }
}
