using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>Flash-style attention (forward, backward, decode, KV cache) vs full-matrix float64 attention.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuAttentionTests(IlgpuFixture f)
{
    [Theory]
    [InlineData(1, 1, 2, 1, 8, 41)]    // T = 1
    [InlineData(2, 5, 4, 4, 8, 42)]    // GQA ratio 1
    [InlineData(1, 9, 4, 2, 6, 43)]    // ratio 2, odd T crosses key blocks of 4, odd head size
    [InlineData(1, 7, 8, 2, 8, 44)]    // ratio 4
    [InlineData(1, 6, 8, 1, 4, 45)]    // ratio 8
    [InlineData(1, 7, 2, 2, 16, 61, WriteMode.Overwrite)]    // GQA 1, hd 16
    [InlineData(1, 9, 4, 2, 64, 62, WriteMode.Overwrite)]    // GQA 2, hd 64
    [InlineData(1, 5, 4, 1, 96, 63, WriteMode.Overwrite)]    // GQA 4, hd 96
    [InlineData(1, 7, 8, 1, 128, 64, WriteMode.Overwrite)]   // GQA 8, hd 128 = Limits.MaxHeadDim
    public void ForwardAndBackward_MatchFloat64(int batch, int T, int H, int Hkv, int hd, int seed, WriteMode mode = WriteMode.Accumulate)
    {
        var b = f.B;
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        var q = TestData.Uniform(seed, qn, -2, 2); var k = TestData.Uniform(seed + 1, kn, -2, 2); var v = TestData.Uniform(seed + 2, kn);
        var o = b.Poisoned(qn); var lse = b.Poisoned(batch * H * T);
        Tensor qt = b.Up(q), kt = b.Up(k), vt = b.Up(v);
        b.Attention(o, lse, qt, kt, vt, new(batch, T, H, Hkv, hd));
        var or = new double[qn]; var lr = new double[batch * H * T];
        Reference64.Attention(or, lr, q, k, v, batch, T, H, Hkv, hd);
        b.Close(o, or, "output");
        b.Close(lse, lr, "lse");

        var dO = TestData.Uniform(seed + 3, qn);
        // Accumulate adds onto random gradients; Overwrite must replace NaN-poisoned ones (reference from zero).
        bool acc = mode == WriteMode.Accumulate;
        double[] dq0 = acc ? TestData.Uniform(seed + 4, qn) : new double[qn], dk0 = acc ? TestData.Uniform(seed + 5, kn) : new double[kn];
        double[] dv0 = acc ? TestData.Uniform(seed + 6, kn) : new double[kn];
        Tensor dq = acc ? b.Up(dq0) : b.Poisoned(qn), dk = acc ? b.Up(dk0) : b.Poisoned(kn), dv = acc ? b.Up(dv0) : b.Poisoned(kn), dOt = b.Up(dO);
        b.AttentionBackward(new(dq, dk, dv), dOt, new(qt, kt, vt, o, lse), new(batch, T, H, Hkv, hd), mode);
        Reference64.AttentionBackward(dq0, dk0, dv0, dO, q, k, v, batch, T, H, Hkv, hd);
        b.Close(dq, dq0, "dq");
        b.Close(dk, dk0, "dk");
        b.Close(dv, dv0, "dv");

        // Run twice from zero: identical bits (fixed reduction order, no atomics).
        float[][] Run()
        {
            Tensor a = b.Alloc(qn), c = b.Alloc(kn), d = b.Alloc(kn);
            b.AttentionBackward(new(a, c, d), dOt, new(qt, kt, vt, o, lse), new(batch, T, H, Hkv, hd), mode);
            return new[] { b.Get(a), b.Get(c), b.Get(d) };
        }
        var r1 = Run(); var r2 = Run();
        for (int i = 0; i < 3; i++) IlgpuHarness.SameBits(r1[i], r2[i], $"gradient {i}");
    }

    [Theory]
    [InlineData(2, 3, 5, 12, 4, 2, 8, 51)]
    [InlineData(1, 1, 0, 4, 2, 1, 8, 52)]
    [InlineData(1, 2, 9, 11, 8, 1, 6, 53)]
    public void Decode_MatchesFloat64(int batch, int newTokens, int pastLen, int capacity, int H, int Hkv, int hd, int seed)
    {
        var b = f.B;
        int qn = batch * newTokens * H * hd, cn = batch * capacity * Hkv * hd;
        var q = TestData.Uniform(seed, qn, -2, 2); var kc = TestData.Uniform(seed + 1, cn, -2, 2); var vc = TestData.Uniform(seed + 2, cn);
        var o = b.Poisoned(qn);
        b.AttentionDecode(o, b.Up(q), b.Up(kc), b.Up(vc), new(batch, newTokens, pastLen, capacity, H, Hkv, hd));
        var or = new double[qn];
        Reference64.AttentionDecode(or, q, kc, vc, batch, newTokens, pastLen, capacity, H, Hkv, hd);
        b.Close(o, or, "output");
    }

    [Fact]
    public void KvCacheAppend_WritesOnlyItsRows()
    {
        var b = f.B;
        const int B = 2, n = 3, past = 2, cap = 6, Hkv = 2, hd = 5;
        var kc = TestData.Uniform(1, B * cap * Hkv * hd); var vc = TestData.Uniform(2, B * cap * Hkv * hd);
        var k = TestData.Uniform(3, B * n * Hkv * hd); var v = TestData.Uniform(4, B * n * Hkv * hd);
        Tensor kct = b.Up(kc), vct = b.Up(vc);
        b.KvCacheAppend(kct, vct, b.Up(k), b.Up(v), new(B, n, past, cap, Hkv, Hkv, hd));
        Reference64.KvCacheAppend(kc, vc, k, v, B, n, past, cap, Hkv, hd);
        Assert.Equal(TestData.ToFloat(kc), b.Get(kct));
        Assert.Equal(TestData.ToFloat(vc), b.Get(vct));
    }
}
