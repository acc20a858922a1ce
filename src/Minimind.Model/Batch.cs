namespace Minimind.Model;

/// <summary>
/// One micro-batch of token rows, already shifted: the model predicts Targets[b,t] from Inputs[b,0..t].
/// Both MiniMind loss conventions map onto it: the 2024/minimind2 (X, Y, loss_mask) triple, and the
/// HF-style labels with -100 (targets = labels shifted by one, ignored where -100).
/// </summary>
public sealed class Batch
{
    /// <summary>Target value that contributes no loss (PyTorch's ignore_index).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>Rows in the batch.</summary>
    public int BatchSize { get; }
    /// <summary>Tokens per row.</summary>
    public int SeqLen { get; }
    /// <summary>Input ids [BatchSize·SeqLen].</summary>
    public int[] Inputs { get; }
    /// <summary>Target ids [BatchSize·SeqLen]; <see cref="IgnoreIndex"/> contributes no loss.</summary>
    public int[] Targets { get; }
    /// <summary>Optional per-position loss weight [BatchSize·SeqLen] (MiniMind's loss_mask); null = all ones.</summary>
    public float[]? LossMask { get; }

    /// <summary>Creates a batch; checks the array lengths.</summary>
    public Batch(int batchSize, int seqLen, int[] inputs, int[] targets, float[]? lossMask = null)
    {
        long n = (long)batchSize * seqLen;
        if (batchSize <= 0 || seqLen <= 0) throw new ArgumentException("batch size and sequence length must be positive");
        if (inputs.Length != n) throw new ArgumentException($"inputs hold {inputs.Length} ids, expected {n} (batch {batchSize} × seq {seqLen})");
        if (targets.Length != n) throw new ArgumentException($"targets hold {targets.Length} ids, expected {n} (batch {batchSize} × seq {seqLen})");
        if (lossMask is not null && lossMask.Length != n) throw new ArgumentException($"loss mask holds {lossMask.Length} values, expected {n}");
        BatchSize = batchSize; SeqLen = seqLen; Inputs = inputs; Targets = targets; LossMask = lossMask;
    }
}
