namespace Minimind.Training;

/// <summary>Which learning-rate schedule a stage's MiniMind script uses.</summary>
public enum LrScheduleKind
{
    /// <summary>trainer_utils.get_lr: cosine from lr down to lr/10 (pretrain, SFT, LoRA, DPO, distillation).</summary>
    MiniMindCosine,
    /// <summary>torch's <c>CosineAnnealingLR(T_max = total steps, eta_min = lr/10)</c> (train_grpo.py, train_ppo.py, train_agent.py).</summary>
    CosineAnnealing,
}

/// <summary>
/// MiniMind's learning-rate schedules. <see cref="At(long, long, double)"/> is trainer_utils.get_lr: cosine from 1.0·lr down to 0.1·lr,
/// <c>lr·(0.1 + 0.45·(1 + cos(π·step/total)))</c>. Here <c>step</c> counts optimizer steps (1-based,
/// the step about to be taken) and <c>total</c> is fixed when a run starts and kept across resumes.
/// With --accumulation-steps 1 this is exactly MiniMind's value at each step.
/// </summary>
public static class LrSchedule
{
    /// <summary>The learning rate for optimizer step <paramref name="step"/> of <paramref name="total"/>.</summary>
    public static double At(long step, long total, double baseLr)
    {
        if (total <= 0) throw new ArgumentOutOfRangeException(nameof(total), "the schedule needs at least one step");
        return baseLr * (0.1 + 0.45 * (1.0 + Math.Cos(Math.PI * step / total)));
    }

    /// <summary>The learning rate of <paramref name="kind"/> for optimizer step <paramref name="step"/> (1-based) of <paramref name="total"/>.</summary>
    public static double At(LrScheduleKind kind, long step, long total, double baseLr) => kind switch
    {
        LrScheduleKind.CosineAnnealing => CosineAnnealing(step - 1, total, baseLr, baseLr / 10),
        _ => At(step, total, baseLr),
    };

    /// <summary>
    /// torch.optim.lr_scheduler.CosineAnnealingLR's learning rate after <paramref name="epoch"/> scheduler steps, computed
    /// with its own recursive (chainable) formula so every double matches the one MiniMind's optimizer holds (the closed
    /// form differs in the last bits). O(epoch); a step's value costs microseconds for any realistic run.
    /// </summary>
    public static double CosineAnnealing(long epoch, long tMax, double baseLr, double etaMin)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), "the schedule needs at least one step");
        double lr = baseLr;
        for (long e = 1; e <= epoch; e++)
        {
            if ((e - 1 - tMax) % (2 * tMax) == 0)
                lr += (baseLr - etaMin) * (1 - Math.Cos(Math.PI / tMax)) / 2;
            else
                lr = (1 + Math.Cos(Math.PI * e / tMax)) / (1 + Math.Cos(Math.PI * (e - 1) / tMax)) * (lr - etaMin) + etaMin;
        }
        return lr;
    }
}
