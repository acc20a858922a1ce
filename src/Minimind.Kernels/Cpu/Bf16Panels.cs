using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// bf16 panels: a bf16-rounded float32 has zero low 16 bits, so its upper half holds it exactly, and widening is a
/// shift. Row p of a panel is NR/2 words; word j holds column j in its low half and column j + NR/2 in its high half,
/// so one load gives both register halves: columns 0..NR/2-1 by a 16-bit left shift, the others by masking the low
/// half. Packing refuses (returns false) a value with low bits set: only a NaN whose payload lies in them can be one
/// after bf16 rounding, and the caller then packs float32 so even that NaN's bits pass through unchanged.
/// </summary>
internal readonly unsafe struct Bf16Panels : IPanelFormat
{
    public static int Bytes => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(byte* row, int half)
    {
        var w = Vector512.Load((uint*)row);
        return (half == 0 ? Vector512.ShiftLeft(w, 16) : w & Vector512.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(byte* row, int half)
    {
        var w = Vector256.Load((uint*)row);
        return (half == 0 ? Vector256.ShiftLeft(w, 16) : w & Vector256.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load128(byte* row, int quarter)
    {
        var w = Vector128.Load((uint*)row + 4 * (quarter & 1));
        return (quarter < 2 ? Vector128.ShiftLeft(w, 16) : w & Vector128.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool PackB<TK>(byte* panel, float* s0, int rs, int cs, int nr, int kc, Precision precision) where TK : struct, IGemmKernel
    {
        // Eight rows at a time through a float32 panel in L1 (the float32 packing's 8×8 transposes), then narrowed.
        int NR = TK.NR;
        float* rows = stackalloc float[8 * NR];
        var low = Vector256<uint>.Zero;
        for (int p = 0; p < kc; p += 8)
        {
            int n = Math.Min(8, kc - p);
            Sgemm.PackB<TK>(rows, s0 + (long)p * rs, rs, cs, nr, n, precision);
            for (int q = 0; q < n; q++) low |= Narrow<Fp32Operands>(rows + q * NR, (uint*)panel + (long)(p + q) * (NR / 2), NR);
        }
        return Exact(low);
    }

    public static bool PackBRows<TK>(byte* panels, float* s0, int rs, int N, int first, int last, int kc, Precision precision) where TK : struct, IGemmKernel
        => precision switch
        {
            Precision.Bf16 => PackBRows<TK, Bf16Operands>(panels, s0, rs, N, first, last, kc),
            Precision.Fp16 => PackBRows<TK, Fp16Operands>(panels, s0, rs, N, first, last, kc),
            _ => PackBRows<TK, Fp32Operands>(panels, s0, rs, N, first, last, kc),
        };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool PackBRows<TK, TR>(byte* panels, float* s0, int rs, int N, int first, int last, int kc) where TK : struct, IGemmKernel where TR : struct, IOperandRounding
    {
        int NR = TK.NR;
        float* tail = stackalloc float[NR];
        var low = Vector256<uint>.Zero;
        int full = Math.Min(last, N / NR);
        for (int p = 0; p < kc; p++)
        {
            float* row = s0 + (long)p * rs;
            int panel = first;
            for (; panel < full; panel++)
                low |= Narrow<TR>(row + panel * NR, (uint*)panels + ((long)panel * NR * kc + (long)p * NR) / 2, NR);
            for (; panel < last; panel++)
            {
                int c0 = panel * NR;
                Sgemm.PackB<TK>(tail, row + c0, rs, 1, Math.Min(NR, N - c0), 1, TR.Precision);
                low |= Narrow<Fp32Operands>(tail, (uint*)panels + ((long)c0 * kc + (long)p * NR) / 2, NR);
            }
        }
        return Exact(low);
    }

    // One panel row: src[0..NR) rounded by TR, written as NR/2 words (column j low, j + NR/2 high); returns the OR of
    // the rounded values' bits, whose low 16 bits say whether any value was not held exactly.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Narrow<TR>(float* src, uint* dst, int NR) where TR : struct, IOperandRounding
    {
        int half = NR / 2;
        var low = Vector256<uint>.Zero;
        for (int g = 0; g < half; g += 8)
        {
            var lo = TR.Round(Vector256.Load(src + g)).AsUInt32();
            var hi = TR.Round(Vector256.Load(src + half + g)).AsUInt32();
            low |= lo | hi;
            (Vector256.ShiftRightLogical(lo, 16) | (hi & Vector256.Create(0xFFFF0000u))).Store(dst + g);
        }
        return low;
    }

    private static bool Exact(Vector256<uint> low) => (low & Vector256.Create(0xFFFFu)) == Vector256<uint>.Zero;
}
