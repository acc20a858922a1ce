namespace Minimind.Training.Rl;

/// <summary>
/// PPO hyper-parameters with MiniMind's defaults (train_ppo.py): <c>--clip-epsilon 0.2 --kl-coef 0.02 --vf-coef 0.5
/// --cliprange-value 0.2 --gamma 1.0 --lam 0.95 --ppo-update-iters 2 --early-stop-kl 0.25 --mini-batch-size 2</c>.
/// Doubles, as Python's floats; each is rounded to float32 where MiniMind's tensors meet it.
/// </summary>
public sealed record PpoOptions(double ClipEpsilon = 0.2, double KlCoef = 0.02, double VfCoef = 0.5, double ClipRangeValue = 0.2,
    double Gamma = 1.0, double Lambda = 0.95, double EarlyStopKl = 0.25, int UpdateEpochs = 2, int MiniBatchSize = 2);
