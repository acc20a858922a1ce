using System.Runtime.InteropServices;
using Minimind.Kernels.Distributed;
using Minimind.Model.Data;

namespace Minimind.Model.Evaluation;

/// <summary>Mean next-token loss of a set of rows and its perplexity.</summary>
/// <param name="Loss">Σ −log p over every non-ignored target / their count (the MoE aux loss not included).</param>
/// <param name="Tokens">Targets counted.</param>
/// <param name="Rows">Rows evaluated.</param>
public readonly record struct HeldOutResult(double Loss, long Tokens, long Rows)
{
    /// <summary>exp(<see cref="Loss"/>).</summary>
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// Validation loss on a fixed set of rows, the same rows every time it runs: any <see cref="IPretrainSource"/>, so every
/// stage's data format (<see cref="JsonlPretrainSource"/> or <see cref="TokenFilePretrainSource"/> for pretraining,
/// <see cref="Data.Sft.SftSource"/> for SFT/LoRA/distillation, a <see cref="Data.Sft.PreferenceSide"/> of DPO pairs). The rows are cut into fixed batches of
/// <see cref="BatchSize"/> consecutive rows; each row's Σ −log p is summed in float64 in position order, and the rows'
/// sums in row order, so the result has the same bits whatever the batch-to-rank assignment: under mpirun each rank
/// scores the batches b ≡ rank (mod world size), the per-row sums are all-gathered and every rank adds them up in row
/// order. It only runs forwards, so training bits are untouched (the model's activations are recomputed by the next step).
/// </summary>
public sealed class HeldOutLoss
{
    private readonly IPretrainSource _rows;

    /// <summary>Scores the first <paramref name="maxRows"/> rows (all when null) of <paramref name="rows"/>, <paramref name="batchSize"/> at a time.</summary>
    public HeldOutLoss(IPretrainSource rows, int batchSize, long? maxRows = null)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "the evaluation batch size must be at least 1");
        _rows = rows;
        BatchSize = batchSize;
        Rows = Math.Min(rows.Count, maxRows ?? long.MaxValue);
        if (Rows <= 0) throw new InvalidDataException("the evaluation data has no rows");
    }

    /// <summary>Rows per forward (and the unit handed to a rank).</summary>
    public int BatchSize { get; }
    /// <summary>Rows evaluated.</summary>
    public long Rows { get; }
    /// <summary>Ids per row.</summary>
    public int SeqLen => _rows.SeqLen;
    /// <summary>Batches the rows make (the last one may be short).</summary>
    public long Batches => (Rows + BatchSize - 1) / BatchSize;

    /// <summary>
    /// Loss and perplexity of <paramref name="model"/> (created for at least <see cref="BatchSize"/> rows of <see cref="SeqLen"/>).
    /// With <paramref name="comm"/> every rank must call it; each gets the same result. <paramref name="progress"/> is called
    /// after each batch with (batches done on this rank, batches of this rank).
    /// </summary>
    public HeldOutResult Evaluate(MiniMindModel model, ICommunicator? comm = null, Action<long, long>? progress = null)
    {
        comm ??= SoloCommunicator.Instance;
        var nll = new double[Rows];
        var tokens = new long[Rows];
        long mine = Batches / comm.Size + (comm.Rank < Batches % comm.Size ? 1 : 0), done = 0;
        for (long b = comm.Rank; b < Batches; b += comm.Size)
        {
            long start = b * BatchSize;
            int n = (int)Math.Min(BatchSize, Rows - start);
            var batch = RowsBatch(start, n);
            var (lp, _) = model.SequenceLogProbs(batch);
            for (int r = 0; r < n; r++)
            {
                nll[start + r] = -lp[r];
                foreach (int t in batch.Targets.AsSpan(r * batch.SeqLen, batch.SeqLen)) if (t != Batch.IgnoreIndex) tokens[start + r]++;
            }
            progress?.Invoke(++done, mine);
        }
        if (comm.Size > 1) Gather(comm, nll, tokens);
        double sum = 0;
        long count = 0;
        for (long r = 0; r < Rows; r++) { sum += nll[r]; count += tokens[r]; }
        return new HeldOutResult(count == 0 ? double.NaN : sum / count, count, Rows);
    }

    // Rows start..start+n-1, in order.
    private Batch RowsBatch(long start, int n)
    {
        int t = _rows.SeqLen;
        var inputs = new int[n * t];
        var targets = new int[n * t];
        for (int r = 0; r < n; r++) _rows.Fill(start + r, inputs.AsSpan(r * t, t), targets.AsSpan(r * t, t));
        return new Batch(n, t, inputs, targets);
    }

    // Every rank holds zeros for the rows it did not score; the owner of row r is the rank of its batch.
    private void Gather(ICommunicator comm, double[] nll, long[] tokens)
    {
        var all = Collectives.AllGather(comm, MemoryMarshal.AsBytes(nll.AsSpan()));
        var allTok = Collectives.AllGather(comm, MemoryMarshal.AsBytes(tokens.AsSpan()));
        var n = MemoryMarshal.Cast<byte, double>(all);
        var t = MemoryMarshal.Cast<byte, long>(allTok);
        for (long r = 0; r < Rows; r++)
        {
            int owner = (int)(r / BatchSize % comm.Size);
            nll[r] = n[(int)(owner * Rows + r)];
            tokens[r] = t[(int)(owner * Rows + r)];
        }
    }
}
