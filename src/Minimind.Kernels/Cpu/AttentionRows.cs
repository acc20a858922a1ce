using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The element-wise softmax steps of blocked attention on one score row, fused into single passes of 8-lane vectors
/// (a ragged tail goes through one padded vector, so every element takes the same code path). Sums run lanes first,
/// then across lanes: a fixed order.
/// </summary>
internal static unsafe class AttentionRows
{
    /// <summary>s[j] = scale·s[j] for j &lt; n; returns max(m, max_j s[j]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ScaleMax(float* s, int n, float scale, float m)
    {
        var vs = Vector256.Create(scale);
        var vm = Vector256.Create(float.NegativeInfinity);
        int j = 0;
        for (; j + 8 <= n; j += 8)
        {
            var x = Vector256.Load(s + j) * vs;
            x.Store(s + j);
            vm = Vector256.Max(vm, x);
        }
        for (; j < n; j++) { s[j] *= scale; m = Math.Max(m, s[j]); }
        for (int i = 0; i < 8; i++) m = Math.Max(m, vm.GetElement(i));
        return m;
    }

    /// <summary>s[j] = exp(s[j] − m) for j &lt; n; returns Σ s[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ExpSum(float* s, int n, float m)
    {
        var vm = Vector256.Create(m);
        var sum = Vector256<float>.Zero;
        int j = 0;
        for (; j + 8 <= n; j += 8)
        {
            var x = VectorExp.Exp(Vector256.Load(s + j) - vm);
            x.Store(s + j);
            sum += x;
        }
        if (j < n)
        {
            float* t = stackalloc float[8];
            for (int i = 0; i < 8; i++) t[i] = j + i < n ? s[j + i] - m : float.NegativeInfinity;
            var x = VectorExp.Exp(Vector256.Load(t));
            x.Store(t);
            sum += x;
            for (int i = 0; j + i < n; i++) s[j + i] = t[i];
        }
        return Vector256.Sum(sum);
    }

    /// <summary>The backward's row: p[j] = exp(scale·s[j] − lse), then dp[j] = p[j]·(dp[j] − dRow), in place, j &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ProbGrad(float* s, float* dp, int n, float scale, float lse, float dRow)
    {
        var vs = Vector256.Create(scale); var vl = Vector256.Create(lse); var vd = Vector256.Create(dRow);
        int j = 0;
        for (; j + 8 <= n; j += 8)
        {
            var p = VectorExp.Exp(Vector256.Load(s + j) * vs - vl);
            p.Store(s + j);
            (p * (Vector256.Load(dp + j) - vd)).Store(dp + j);
        }
        if (j < n)
        {
            float* t = stackalloc float[16];
            for (int i = 0; i < 8; i++) { bool live = j + i < n; t[i] = live ? s[j + i] : 0f; t[8 + i] = live ? dp[j + i] : 0f; }
            var p = VectorExp.Exp(Vector256.Load(t) * vs - vl);
            var g = p * (Vector256.Load(t + 8) - vd);
            p.Store(t); g.Store(t + 8);
            for (int i = 0; j + i < n; i++) { s[j + i] = t[i]; dp[j + i] = t[8 + i]; }
        }
    }
}
