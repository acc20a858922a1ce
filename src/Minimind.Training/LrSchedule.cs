namespace Minimind.Training;

/// <summary>
/// MiniMind's learning-rate schedule (trainer_utils.get_lr): cosine from 1.0·lr down to 0.1·lr,
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
}
