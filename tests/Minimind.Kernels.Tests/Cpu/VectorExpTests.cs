using System.Runtime.Intrinsics;
using Minimind.Kernels.Cpu;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// <see cref="VectorExp"/> against the runtime's own <see cref="Vector256.Exp(Vector256{float})"/> (the reference: the
/// attention rows used it, and their bits must not move), on every one of the 2³² float bit patterns, and against
/// float64 exp on a range, so that a runtime whose exp changed is caught as a mismatch rather than silently followed.
/// </summary>
public class VectorExpTests
{
    [Fact]
    public void Exp_SameBitsAsVector256Exp_OnEveryFloat()
    {
        const long Count = 1L << 32, Chunk = 1L << 24;
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, Count / Chunk, c =>
        {
            var lanes = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            for (long i = c * Chunk; i < (c + 1) * Chunk && mismatches.Count < 8; i += 8)
            {
                var x = (Vector256.Create((uint)i) + lanes).AsSingle();
                var ours = VectorExp.Exp(x).AsUInt32();
                var theirs = Vector256.Exp(x).AsUInt32();
                if (ours != theirs)
                    for (int j = 0; j < 8; j++)
                        if (ours[j] != theirs[j]) mismatches.Add($"exp(0x{x.AsUInt32()[j]:X8}) = 0x{ours[j]:X8}, Vector256.Exp 0x{theirs[j]:X8}");
            }
        });
        Assert.True(mismatches.IsEmpty, string.Join("; ", mismatches.Take(8)));
    }

    [Fact]
    public void Exp_WithinTwoUlpsOfFloat64_AndLimits()
    {
        for (float x = -103f; x <= 88.7f; x += 0.0137f)
        {
            float e = VectorExp.Exp(Vector256.Create(x))[3];
            double exact = Math.Exp(x);
            float ulp = MathF.BitIncrement((float)exact) - (float)exact;
            Assert.True(Math.Abs(e - exact) <= 2 * (ulp > 0 ? ulp : float.Epsilon), $"exp({x}) = {e}, float64 {exact}");
        }
        var edge = VectorExp.Exp(Vector256.Create(float.NegativeInfinity, -104f, 89f, float.PositiveInfinity, float.NaN, 0f, -0f, 1f));
        Assert.Equal(0f, edge[0]); Assert.Equal(0f, edge[1]);
        Assert.Equal(float.PositiveInfinity, edge[2]); Assert.Equal(float.PositiveInfinity, edge[3]);
        Assert.True(float.IsNaN(edge[4]));
        // exp(0) is 1 + 1 ulp: the polynomial's constant term is 1.0000000754895704 (the runtime's result, kept).
        Assert.Equal(MathF.BitIncrement(1f), edge[5]); Assert.Equal(MathF.BitIncrement(1f), edge[6]); Assert.Equal(MathF.E, edge[7], 6);
    }
}
