namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    // ---- objectives beyond the mean CE: DPO's sequence log-probabilities, distillation's logits ----

    /// <summary>
    /// Forward; per row r of <paramref name="batch"/>, Σ_t log p(target[r,t]) over the targets that are not
    /// ignored (train_dpo.py's (logits_to_log_probs · mask).sum(1)), summed in float64 in position order,
    /// and the MoE aux loss. Keeps the activations for <see cref="SequenceLogProbsBackward"/>.
    /// </summary>
    public (double[] LogProbs, float Aux) SequenceLogProbs(Batch batch)
    {
        var (sumW, w) = Prepare(batch);
        Forward(batch.BatchSize, batch.SeqLen);
        int rows = batch.BatchSize * batch.SeqLen, t = batch.SeqLen;
        HeadLoss(rows, sumW, w);
        var ce = new float[rows];
        Backend.Download(Rows(_losses, rows, 1), ce);
        var lp = new double[batch.BatchSize];
        for (int r = 0; r < batch.BatchSize; r++)
            for (int i = 0; i < t; i++)
                if (batch.Targets[r * t + i] != Batch.IgnoreIndex) lp[r] -= ce[r * t + i];
        return (lp, AuxLossOnly(batch.BatchSize, batch.SeqLen));
    }

    /// <summary>
    /// Right after <see cref="SequenceLogProbs"/> on the same batch: adds the gradient of
    /// Σ_r coef[r]·logp_r + lossScale·aux into <see cref="Gradients"/> (coef already holds any loss scaling).
    /// </summary>
    public void SequenceLogProbsBackward(Batch batch, ReadOnlySpan<double> coef, float lossScale)
    {
        int t = batch.SeqLen, rows = batch.BatchSize * t;
        if (coef.Length != batch.BatchSize) throw new ArgumentException($"coef holds {coef.Length} values, the batch has {batch.BatchSize} rows");
        // ∂logp/∂logits = −(softmax − onehot): CrossEntropyBackward's rowScale is −coef of the row.
        var scale = new float[rows];
        for (int r = 0; r < batch.BatchSize; r++)
            for (int i = 0; i < t; i++)
                if (batch.Targets[r * t + i] != Batch.IgnoreIndex) scale[r * t + i] = (float)-coef[r];
        Backend.Upload(_rowScale, scale);
        LastAuxLoss = Backward(batch.BatchSize, batch.SeqLen, lossScale);
    }

    /// <summary>
    /// Forward; the log-probability of every position's target, log softmax(logits)[target] [B·T] (0 where the target
    /// is ignored; the batch's loss mask plays no part), and the MoE aux loss — the per-token log-probs of MiniMind's RL
    /// losses. Keeps the activations for <see cref="TokenLogProbsBackward"/>.
    /// </summary>
    public (float[] LogProbs, float Aux) TokenLogProbs(Batch batch)
    {
        var (sumW, w) = Prepare(batch);
        Forward(batch.BatchSize, batch.SeqLen);
        int rows = batch.BatchSize * batch.SeqLen;
        HeadLoss(rows, sumW, w);
        var lp = new float[rows];
        Backend.Download(Rows(_losses, rows, 1), lp);
        for (int i = 0; i < rows; i++) lp[i] = batch.Targets[i] == Batch.IgnoreIndex ? 0f : -lp[i];
        return (lp, AuxLossOnly(batch.BatchSize, batch.SeqLen));
    }

    /// <summary>
    /// Right after <see cref="TokenLogProbs"/> on the same batch: adds the gradient of Σ_i dLogProbs[i]·logp_i +
    /// lossScale·aux into <see cref="Gradients"/> (an RL loss's per-token gradient, already scaled). dLogits =
    /// −dLogProbs·(softmax − onehot), i.e. CrossEntropyBackward with the row scale −dLogProbs.
    /// </summary>
    public void TokenLogProbsBackward(Batch batch, ReadOnlySpan<float> dLogProbs, float lossScale)
    {
        int rows = batch.BatchSize * batch.SeqLen;
        if (dLogProbs.Length != rows) throw new ArgumentException($"dLogProbs holds {dLogProbs.Length} values, the batch has {rows} positions");
        var scale = new float[rows];
        for (int i = 0; i < rows; i++) scale[i] = batch.Targets[i] == Batch.IgnoreIndex ? 0f : -dLogProbs[i];
        Backend.Upload(_rowScale, scale);
        LastAuxLoss = Backward(batch.BatchSize, batch.SeqLen, lossScale);
    }

    /// <summary>
    /// Forward; the logits [B·T, V] on the host and the MoE aux loss. Keeps the activations for
    /// <see cref="LogitsBackward"/>.
    /// </summary>
    public (float[] Logits, float Aux) ForwardLogits(Batch batch)
    {
        var (sumW, w) = Prepare(batch);
        Forward(batch.BatchSize, batch.SeqLen);
        int rows = batch.BatchSize * batch.SeqLen, v = Config.VocabSize;
        HeadLoss(rows, sumW, w);
        var host = new float[(long)rows * v];
        Backend.Download(Rows(_logits, rows, v), host);
        return (host, AuxLossOnly(batch.BatchSize, batch.SeqLen));
    }

    /// <summary>Right after <see cref="ForwardLogits"/> on the same batch: backward from ∂loss/∂logits <paramref name="dLogits"/> (plus lossScale·aux).</summary>
    public void LogitsBackward(Batch batch, float[] dLogits, float lossScale)
    {
        int rows = batch.BatchSize * batch.SeqLen, v = Config.VocabSize;
        if (dLogits.Length != (long)rows * v) throw new ArgumentException($"dLogits holds {dLogits.Length} values, expected {(long)rows * v}");
        Backend.Upload(Rows(_logits, rows, v), dLogits);
        LastAuxLoss = Backward(batch.BatchSize, batch.SeqLen, lossScale, logitsAreGradient: true);
    }
}
