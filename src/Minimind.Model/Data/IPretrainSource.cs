namespace Minimind.Model.Data;

/// <summary>
/// Pretraining samples, addressable by index. A sample is one MiniMind pretraining row (see
/// <see cref="PretrainRow"/>): <see cref="SeqLen"/> = max_seq_len − 1 input ids and as many targets, with
/// <see cref="Batch.IgnoreIndex"/> wherever the target is padding. Implementations that hold files are
/// <see cref="IDisposable"/>; dispose them when done.
/// </summary>
public interface IPretrainSource
{
    /// <summary>Number of samples.</summary>
    long Count { get; }
    /// <summary>Ids per sample (max_seq_len − 1).</summary>
    int SeqLen { get; }
    /// <summary>The RoPE positions a trained row may reach: <see cref="SeqLen"/>, unless rows start past position 0.</summary>
    int Positions => SeqLen;
    /// <summary>Writes sample <paramref name="index"/> into spans of length <see cref="SeqLen"/>.</summary>
    void Fill(long index, Span<int> inputs, Span<int> targets);
}
