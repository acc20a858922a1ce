using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// How the SGEMM's packed B panels hold their values: <see cref="F32Panels"/> (float32) or <see cref="Bf16Panels"/>
/// (the upper 16 bits of each float, for operands already rounded to bf16). A panel has kc rows of NR values; the
/// micro-kernels read a row through the Load methods, which return float32 lanes, so a kernel computes the same FMAs on
/// either format and the format changes bytes moved, never bits. Packing returns false where a value cannot be held
/// exactly (the caller then packs the same values as float32).
/// </summary>
internal unsafe interface IPanelFormat
{
    /// <summary>Bytes per packed value.</summary>
    static abstract int Bytes { get; }

    /// <summary>Columns 16·half .. 16·half+15 of the 32-value panel row at <paramref name="row"/>.</summary>
    static abstract Vector512<float> Load512(byte* row, int half);

    /// <summary>Columns 8·half .. 8·half+7 of the 16-value panel row at <paramref name="row"/>.</summary>
    static abstract Vector256<float> Load256(byte* row, int half);

    /// <summary>Columns 4·quarter .. 4·quarter+3 of the 16-value panel row at <paramref name="row"/>.</summary>
    static abstract Vector128<float> Load128(byte* row, int quarter);

    /// <summary><see cref="Sgemm.PackB{TK}"/> in this format: panel row p holds round(B(p, j)), j &lt; NR, zero past
    /// <paramref name="nr"/>. False when some value is not representable (the panel is then unusable).</summary>
    static abstract bool PackB<TK>(byte* panel, float* s0, int rs, int cs, int nr, int kc, Precision precision) where TK : struct, IGemmKernel;

    /// <summary><see cref="Sgemm.PackBRows{TK}"/> in this format: panels [first, last) of a B with contiguous columns.
    /// False when some value is not representable.</summary>
    static abstract bool PackBRows<TK>(byte* panels, float* s0, int rs, int N, int first, int last, int kc, Precision precision) where TK : struct, IGemmKernel;
}
