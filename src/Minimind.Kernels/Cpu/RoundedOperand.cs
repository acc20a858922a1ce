namespace Minimind.Kernels.Cpu;

/// <summary>
/// An op input as autocast sees it: the tensor itself at <see cref="Precision.Fp32"/>, else a pooled copy rounded to
/// bf16/fp16, so the float32 kernels then accumulate exactly what a bf16 tensor core would be fed.
/// Dispose returns the copy to the pool.
/// </summary>
internal readonly struct RoundedOperand : IDisposable
{
    /// <summary>The array holding the (rounded) values.</summary>
    public readonly float[] Data;
    /// <summary>Where the operand starts in <see cref="Data"/>.</summary>
    public readonly int Offset;
    private readonly bool _pooled;

    private RoundedOperand(float[] data, int offset, bool pooled) { Data = data; Offset = offset; _pooled = pooled; }

    /// <summary>The first <paramref name="length"/> elements of <paramref name="t"/> at precision <paramref name="p"/>.</summary>
    public static RoundedOperand Of(WorkPartition work, Tensor t, long length, Precision p)
    {
        var (a, o) = CpuOps.In(t);
        if (p == Precision.Fp32 || length == 0) return new(a, o, pooled: false);
        int n = checked((int)length);
        var r = PackPool.Rent(n);
        work.For(n, 1 << 15, (s, e) => PrecisionRounding.Round(a.AsSpan(o + (int)s, (int)(e - s)), r.AsSpan((int)s, (int)(e - s)), p));
        return new(r, 0, pooled: true);
    }

    /// <inheritdoc/>
    public void Dispose() { if (_pooled) PackPool.Return(Data); }
}
