using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// <see cref="Sgemm.PackA{TK}"/> against its definition, panel[p·MR + i] = round(A(i, p)) with rows past mr zero, for
/// every kernel's MR this machine runs, on both A layouts the model matmuls give it: rows contiguous (forward and bwdIn:
/// the 4×8 and 2×8 transposes, 6 = 4 + 2 rows on the AVX2 and portable kernels) and columns contiguous (bwdW's dYᵀ: one
/// short copy per k, 4–7 values as two overlapping 4-float halves). A fault here would give every path the same wrong
/// bits, which comparing paths with each other cannot see.
/// </summary>
public unsafe class SgemmPackATests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var isa in CpuTestPaths.All)
            foreach (bool rowsContiguous in new[] { true, false })
                foreach (var pr in new[] { Precision.Fp32, Precision.Bf16, Precision.Fp16 })
                    foreach (int kc in new[] { 1, 7, 8, 19, 256 })
                        yield return new object[] { isa, rowsContiguous, pr, kc };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PackA_EqualsTheDefinition(CpuIsa isa, bool rowsContiguous, Precision pr, int kc)
    {
        switch (isa)
        {
            case CpuIsa.Avx512: Check<GemmKernelAvx512>(rowsContiguous, pr, kc); break;
            case CpuIsa.Avx2: Check<GemmKernelAvx2>(rowsContiguous, pr, kc); break;
            default: Check<GemmKernelPortable>(rowsContiguous, pr, kc); break;
        }
    }

    private static void Check<TK>(bool rowsContiguous, Precision pr, int kc) where TK : struct, IGemmKernel
    {
        int MR = TK.MR;
        // A is a window of a larger matrix (leading dimension off the panel sizes), so reads past the window show up.
        int ld = kc + MR + 5;
        float[] src = TestData.ToFloat(TestData.Uniform(kc * 31 + MR, ld * ld, -3, 3));
        foreach (int mr in new[] { MR, MR - 1, 1 })
        {
            int rs = rowsContiguous ? ld : 1, cs = rowsContiguous ? 1 : ld;
            var panel = new float[MR * kc + 8];
            Array.Fill(panel, float.NaN);
            fixed (float* s = src, d = panel) Sgemm.PackA<TK>(d, s + 2, rs, cs, mr, kc, pr);
            for (int p = 0; p < kc; p++)
                for (int i = 0; i < MR; i++)
                {
                    float want = i < mr ? PrecisionRounding.Round(src[2 + i * rs + p * cs], pr) : 0f;
                    float got = panel[p * MR + i];
                    if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got))
                        Assert.Fail($"{TK.Isa.Name()} MR {MR}, {(rowsContiguous ? "rows" : "columns")} contiguous, {pr.Name()}, kc {kc}, mr {mr}: " +
                            $"panel[{p}·{MR} + {i}] is {got:R}, A({i}, {p}) rounded is {want:R}");
                }
            for (int q = MR * kc; q < panel.Length; q++)
                Assert.True(float.IsNaN(panel[q]), $"{TK.Isa.Name()} kc {kc} mr {mr}: PackA wrote past its panel at {q}");
        }
    }
}
