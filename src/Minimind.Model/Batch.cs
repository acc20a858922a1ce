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
    /// <summary>Optional RoPE position of each row's first token [BatchSize]; null = every row starts at 0. MiniMind's
    /// left-padded rows without the pads: a row of L real tokens in a batch padded to P starts at P − L, its pads counted
    /// in the positions as MiniMind counts them but neither stored nor attended to (pads after the real tokens, masked out
    /// of the loss, change nothing before them).</summary>
    public int[]? PositionOffsets { get; }

    /// <summary>Creates a batch; checks the array lengths.</summary>
    public Batch(int batchSize, int seqLen, int[] inputs, int[] targets, float[]? lossMask = null, int[]? positionOffsets = null)
    {
        long n = (long)batchSize * seqLen;
        if (batchSize <= 0 || seqLen <= 0) throw new ArgumentException("batch size and sequence length must be positive");
        if (inputs.Length != n) throw new ArgumentException($"inputs hold {inputs.Length} ids, expected {n} (batch {batchSize} × seq {seqLen})");
        if (targets.Length != n) throw new ArgumentException($"targets hold {targets.Length} ids, expected {n} (batch {batchSize} × seq {seqLen})");
        if (lossMask is not null && lossMask.Length != n) throw new ArgumentException($"loss mask holds {lossMask.Length} values, expected {n}");
        if (positionOffsets is not null && positionOffsets.Length != batchSize)
            throw new ArgumentException($"position offsets hold {positionOffsets.Length} values, expected one per row ({batchSize})");
        BatchSize = batchSize; SeqLen = seqLen; Inputs = inputs; Targets = targets; LossMask = lossMask; PositionOffsets = positionOffsets;
    }
}
