using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>
/// Autocast precision of the ILGPU attention ops (simulator) against the CPU backend, the reference, at the same
/// precision. Both read the same rounded operands and accumulate in float32, so they differ only by summation order
/// and exp's last bits: measured ≤ 2.5e-7 relative, 2.5e-6 for the lse of a one-key row (one 8-term dot that nearly
/// cancels), so <see cref="Tol"/> = 1e-5. To show that tolerance catches a missed rounding, each case rebuilds the CPU
/// result with one operand left unrounded (forward and backward separately) and requires it to move the results by more
/// than <see cref="Margin"/>·Tol (the smallest measured move is 8e-5, fp16 forward): a kernel that forgets any one fails.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuAttentionPrecisionTests(IlgpuFixture f, CudaShapeFixture cuda) : IClassFixture<CudaShapeFixture>
{
    private const double Tol = 1e-5;
    private const double Margin = 5;

    [Theory]
    [InlineData(Precision.Bf16, 1, 1, 2, 1, 8, 71)]     // T = 1
    [InlineData(Precision.Bf16, 2, 9, 4, 2, 8, 72)]     // T crosses key blocks of 4 twice, GQA 2, batch 2
    [InlineData(Precision.Fp16, 1, 7, 8, 2, 16, 73)]    // GQA 4, ragged last block
    [InlineData(Precision.Fp16, 1, 5, 4, 4, 6, 74)]     // GQA 1, odd head dim
    [InlineData(Precision.Bf16, 1, 6, 4, 1, 32, 75)]    // GQA 4, hd 32
    public void Attention_ForwardBackward_MatchCpuAtTheSamePrecision(Precision p, int batch, int T, int H, int Hkv, int hd, int seed) =>
        CheckAttention(f.B, new AttnShape(batch, T, H, Hkv, hd, p), seed);

    [Fact]
    public void Attention_32RowBlocks_Bf16_MatchCpu() => CheckAttention(cuda.B, new AttnShape(1, 33, 2, 1, 16, Precision.Bf16), 76);

    [Theory]
    [InlineData(Precision.Bf16, 81)]
    [InlineData(Precision.Fp16, 82)]
    public void KvCacheAppendAndDecode_MatchCpuAtTheSamePrecision(Precision p, int seed)
    {
        const int batch = 2, past = 5, newTok = 3, cap = 12, H = 4, Hkv = 2, hd = 8;
        int rowLen = Hkv * hd, cn = batch * cap * rowLen, pn = batch * past * rowLen, nn = batch * newTok * rowLen, qn = batch * newTok * H * hd;
        var kPast = Floats(seed, pn, 2); var vPast = Floats(seed + 1, pn, 1); var kNew = Floats(seed + 2, nn, 2); var vNew = Floats(seed + 3, nn, 1);
        // Values every rounding path must get right: ties, fp16 subnormals and overflow, ∞, NaN.
        float[] special = { 65520f, -70000f, 3e-6f, -2.9802322E-08f, 1f + MathF.ScaleB(1f, -8), 1f + MathF.ScaleB(1f, -11), float.NegativeInfinity, float.NaN };
        special.CopyTo(vNew, 0);
        var q = Floats(seed + 4, qn, 2);
        using var cpu = new CpuBackend(1);
        var results = new List<float[]>();
        foreach (IBackend b in new IBackend[] { f.B, cpu })
        {
            Tensor kc = b.Alloc(cn), vc = b.Alloc(cn);
            b.Fill(kc, 0f); b.Fill(vc, 0f);
            b.KvCacheAppend(kc, vc, Up(b, kPast), Up(b, vPast), new(batch, past, 0, cap, H, Hkv, hd, p));
            var s = new DecodeShape(batch, newTok, past, cap, H, Hkv, hd, p);
            b.KvCacheAppend(kc, vc, Up(b, kNew), Up(b, vNew), s);
            var o = b.Alloc(qn);
            // The NaN/∞ rows of v only reach the outputs of the kv head they live in; decode reads a clean copy.
            var vClean = b.Alloc(cn);
            b.Copy(vClean, vc);
            b.KvCacheAppend(kc, vClean, Up(b, kNew), Up(b, Floats(seed + 3, nn, 1)), s);
            b.AttentionDecode(o, Up(b, q), kc, vClean, s);
            results.Add(b.Get(kc)); results.Add(b.Get(vc)); results.Add(b.Get(o));
            if (b == cpu)
            {
                // Reference with q left unrounded (the caches rounded as appended).
                var oRaw = b.Alloc(qn);
                b.AttentionDecode(oRaw, Up(b, q), kc, vClean, s with { Precision = Precision.Fp32 });
                results.Add(b.Get(oRaw));
            }
        }
        IlgpuHarness.SameBits(results[0], results[3], "kCache");
        IlgpuHarness.SameBits(results[1], results[4], "vCache");
        var want = TestData.ToDouble(results[5]);
        double e = TestData.RelativeError(results[2], want);
        Assert.True(e < Tol, $"decode output: relative error {e:E3} vs the CPU backend is not below {Tol:E1}");
        double miss = TestData.RelativeError(results[6], want);
        Assert.True(miss > Margin * Tol, $"decode: unrounded q moves the output only {miss:E3}");
    }

    // Forward on both backends, then the backward on both from the CPU's output/lse (so it is checked on its own),
    // and the CPU results with each operand left unrounded in turn.
    internal static void CheckAttention(IlgpuBackend g, AttnShape s, int seed, WriteMode mode = WriteMode.Overwrite)
    {
        int qn = s.Batch * s.SeqLen * s.Heads * s.HeadDim, kn = s.Batch * s.SeqLen * s.KvHeads * s.HeadDim;
        float[][] ops = { Floats(seed, qn, 2), Floats(seed + 1, kn, 2), Floats(seed + 2, kn, 1), Floats(seed + 3, qn, 1) };   // q, k, v, dO
        string[] names = { "q", "k", "v", "dO" };
        using var cpu = new CpuBackend(1);

        var want = Run(cpu, ops, s, null, mode, seed);
        var got = Run(g, ops, s, (want[0], want[1]), mode, seed);
        string[] outs = { "output", "lse", "dq", "dk", "dv" };
        for (int i = 0; i < outs.Length; i++)
        {
            double e = TestData.RelativeError(got[i], TestData.ToDouble(want[i]));
            Assert.True(e < Tol, $"{s.Precision.Name()} {outs[i]}: relative error {e:E3} vs the CPU backend is not below {Tol:E1}");
        }
        for (int x = 0; x < ops.Length; x++)
        {
            // The CPU at fp32 on operands rounded on the host, except operand x; its backward also reads the saved output.
            var pre = ops.Select((a, i) => i == x ? a : a.Select(v => PrecisionRounding.Round(v, s.Precision)).ToArray()).ToArray();
            var miss = Run(cpu, pre, s with { Precision = Precision.Fp32 }, (want[0], want[1]), mode, seed);
            for (int pass = x == 3 ? 1 : 0; pass < 2; pass++)
            {
                double moved = 0;
                for (int i = pass == 0 ? 0 : 2; i < (pass == 0 ? 2 : outs.Length); i++)
                    moved = Math.Max(moved, TestData.RelativeError(miss[i], TestData.ToDouble(want[i])));
                Assert.True(moved > Margin * Tol,
                    $"{s.Precision.Name()}: leaving {names[x]} unrounded in the {(pass == 0 ? "forward" : "backward")} moves the results only {moved:E3}");
            }
        }
    }

    // output, lse, dq, dk, dv; the backward reads saved (o, lse) when given, else the forward's own; Accumulate adds onto
    // seeded random gradients.
    private static float[][] Run(IBackend b, float[][] ops, AttnShape s, (float[] O, float[] Lse)? saved, WriteMode mode, int seed)
    {
        int qn = ops[0].Length, kn = ops[1].Length, ln = s.Batch * s.Heads * s.SeqLen;
        Tensor q = Up(b, ops[0]), k = Up(b, ops[1]), v = Up(b, ops[2]), dO = Up(b, ops[3]);
        Tensor o = b.Poisoned(qn), lse = b.Poisoned(ln);
        b.Attention(o, lse, q, k, v, s);
        var fo = b.Get(o); var fl = b.Get(lse);
        Tensor so = saved is { } sv ? Up(b, sv.O) : o, sl = saved is { } sv2 ? Up(b, sv2.Lse) : lse;
        bool acc = mode == WriteMode.Accumulate;
        Tensor dq = acc ? Up(b, Floats(seed + 5, qn, 1)) : b.Poisoned(qn), dk = acc ? Up(b, Floats(seed + 6, kn, 1)) : b.Poisoned(kn);
        Tensor dv = acc ? Up(b, Floats(seed + 7, kn, 1)) : b.Poisoned(kn);
        b.AttentionBackward(new(dq, dk, dv), dO, new(q, k, v, so, sl), s, mode);
        return new[] { fo, fl, b.Get(dq), b.Get(dk), b.Get(dv) };
    }

    private static float[] Floats(int seed, int n, double r) => TestData.ToFloat(TestData.Uniform(seed, n, -r, r));

    private static Tensor Up(IBackend b, float[] x)
    {
        var t = b.Alloc(x.Length);
        b.Upload(t, x);
        return t;
    }
}
