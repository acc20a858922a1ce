using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// One precision's operand rounding as a type parameter, so a packing routine specialised on it has no per-vector test of
/// the precision: with the precision a run-time value the JIT kept the rounded vector on the stack between the branches
/// (a store and a reload per 8 values, at every precision). Each implementation is
/// <see cref="PrecisionRounding.Round(float, Precision)"/> at one <see cref="Precision"/>, bit for bit (vectors through
/// <see cref="OperandRounding"/>).
/// </summary>
internal interface IOperandRounding
{
    /// <summary>The precision this type rounds to.</summary>
    static abstract Precision Precision { get; }

    /// <summary>Eight values rounded to <see cref="Precision"/>, widened back to float32.</summary>
    static abstract Vector256<float> Round(Vector256<float> v);

    /// <summary>One value rounded to <see cref="Precision"/>.</summary>
    static abstract float Round(float x);
}

/// <summary>float32 operands: no rounding.</summary>
internal readonly struct Fp32Operands : IOperandRounding
{
    public static Precision Precision => Precision.Fp32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> v) => v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x) => x;
}

/// <summary>Operands rounded to bf16.</summary>
internal readonly struct Bf16Operands : IOperandRounding
{
    public static Precision Precision => Precision.Bf16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> v) => OperandRounding.RoundBf16(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x) => PrecisionRounding.Round(x, Precision.Bf16);
}

/// <summary>Operands rounded to IEEE float16.</summary>
internal readonly struct Fp16Operands : IOperandRounding
{
    public static Precision Precision => Precision.Fp16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> v) => OperandRounding.RoundFp16(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x) => PrecisionRounding.Round(x, Precision.Fp16);
}
