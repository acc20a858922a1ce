using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>Flash-style attention (forward, backward, decode, KV cache) against full-matrix float64 attention.</summary>
public class CpuAttentionTests
{
    [Theory]
    [InlineData(1, 1, 2, 1, 8, 41)]     // T = 1
    [InlineData(2, 5, 4, 4, 8, 42)]     // GQA ratio 1
    [InlineData(2, 70, 4, 2, 16, 43)]   // ratio 2, T past one key block
    [InlineData(1, 20, 8, 2, 6, 44)]    // ratio 4, odd-sized head
    [InlineData(1, 33, 8, 1, 8, 45)]    // ratio 8
    [InlineData(1, 130, 2, 1, 64, 46)]  // three key blocks, real head size
    [InlineData(2, 17, 4, 2, 40, 47)]   // head size 32 + 8 lanes
    [InlineData(1, 33, 8, 8, 16, 61, WriteMode.Overwrite)]    // GQA 1, hd 16
    [InlineData(2, 67, 8, 4, 64, 62, WriteMode.Overwrite)]    // GQA 2, hd 64, two key blocks and a ragged tail
    [InlineData(1, 129, 8, 2, 96, 63, WriteMode.Overwrite)]   // GQA 4, hd 96, three key blocks
    [InlineData(1, 65, 8, 1, 128, 64, WriteMode.Overwrite)]   // GQA 8, hd 128 (the ILGPU limit)
    [InlineData(3, 1, 4, 1, 96, 65, WriteMode.Overwrite)]     // T = 1
    // Lengths and shapes the blocked kernel (48×48 blocks through the SGEMM micro-kernel) must get right:
    [InlineData(1, 1, 2, 1, 16, 101)]      // one row, ratio 2
    [InlineData(2, 7, 8, 8, 64, 102)]      // odd T inside one block, ratio 1
    [InlineData(1, 49, 8, 2, 128, 103)]    // one row past a block, ratio 4
    [InlineData(1, 257, 4, 2, 96, 104)]    // odd T over six blocks, head size 96 (not a multiple of 16·2)
    [InlineData(1, 257, 8, 1, 128, 105)]   // ratio 8, head size 128
    [InlineData(1, 1025, 4, 1, 64, 106)]   // ratio 4, T = 1025
    [InlineData(1, 1025, 8, 1, 16, 107)]   // ratio 8, head size 16
    [InlineData(1, 2048, 2, 1, 64, 108)]   // T = 2048
    [InlineData(1, 96, 2, 2, 20, 109)]     // head size off the 8- and 16-lane grids, T two full blocks
    [InlineData(1, 1025, 8, 2, 96, 110, WriteMode.Overwrite)]  // overwrite mode at length
    [InlineData(2, 257, 8, 4, 128, 111, WriteMode.Overwrite)]
    public void ForwardAndBackward_MatchFloat64(int batch, int T, int H, int Hkv, int hd, int seed, WriteMode mode = WriteMode.Accumulate)
    {
        using var h = new CpuHarness();
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        // scale 2 makes the softmax peaky enough that the online max-rescaling matters
        var q = TestData.Uniform(seed, qn, -2, 2); var k = TestData.Uniform(seed + 1, kn, -2, 2); var v = TestData.Uniform(seed + 2, kn);
        var o = h.Poisoned(qn); var lse = h.Poisoned(batch * H * T);
        Tensor qt = h.Up(q), kt = h.Up(k), vt = h.Up(v);
        h.B.Attention(o, lse, qt, kt, vt, new(batch, T, H, Hkv, hd));
        var or = new double[qn]; var lr = new double[batch * H * T];
        Reference64.Attention(or, lr, q, k, v, batch, T, H, Hkv, hd);
        CpuHarness.Close(o, or, "output");
        CpuHarness.Close(lse, lr, "lse");

        var dO = TestData.Uniform(seed + 3, qn);
        // Accumulate adds onto random gradients; Overwrite must replace NaN-poisoned ones (reference from zero).
        bool acc = mode == WriteMode.Accumulate;
        double[] dq0 = acc ? TestData.Uniform(seed + 4, qn) : new double[qn], dk0 = acc ? TestData.Uniform(seed + 5, kn) : new double[kn];
        double[] dv0 = acc ? TestData.Uniform(seed + 6, kn) : new double[kn];
        Tensor dq = acc ? h.Up(dq0) : h.Poisoned(qn), dk = acc ? h.Up(dk0) : h.Poisoned(kn), dv = acc ? h.Up(dv0) : h.Poisoned(kn);
        h.B.AttentionBackward(new(dq, dk, dv), h.Up(dO), new(qt, kt, vt, o, lse), new(batch, T, H, Hkv, hd), mode);
        Reference64.AttentionBackward(dq0, dk0, dv0, dO, q, k, v, batch, T, H, Hkv, hd);
        CpuHarness.Close(dq, dq0, "dq");
        CpuHarness.Close(dk, dk0, "dk");
        CpuHarness.Close(dv, dv0, "dv");
    }

    [Theory]
    [InlineData(2, 3, 5, 12, 4, 2, 8, 51)]
    [InlineData(1, 1, 0, 4, 2, 1, 8, 52)]
    [InlineData(1, 1, 99, 100, 8, 1, 16, 53)]
    [InlineData(3, 4, 0, 4, 4, 4, 6, 54)]
    public void Decode_MatchesFloat64(int batch, int newTokens, int pastLen, int capacity, int H, int Hkv, int hd, int seed)
    {
        using var h = new CpuHarness();
        int qn = batch * newTokens * H * hd, cn = batch * capacity * Hkv * hd;
        var q = TestData.Uniform(seed, qn, -2, 2); var kc = TestData.Uniform(seed + 1, cn, -2, 2); var vc = TestData.Uniform(seed + 2, cn);
        var o = h.Poisoned(qn);
        h.B.AttentionDecode(o, h.Up(q), h.Up(kc), h.Up(vc), new(batch, newTokens, pastLen, capacity, H, Hkv, hd));
        var or = new double[qn];
        Reference64.AttentionDecode(or, q, kc, vc, batch, newTokens, pastLen, capacity, H, Hkv, hd);
        CpuHarness.Close(o, or, "output");
    }

    [Fact]
    public void PrefillThenDecode_EqualsFullAttention()
    {
        // Appending token by token and decoding must give the training path's last rows.
        using var h = new CpuHarness();
        int batch = 2, T = 9, H = 4, Hkv = 2, hd = 8, cap = 12;
        var q = TestData.Uniform(61, batch * T * H * hd); var k = TestData.Uniform(62, batch * T * Hkv * hd); var v = TestData.Uniform(63, batch * T * Hkv * hd);
        var full = h.Poisoned(q.Length);
        h.B.Attention(full, h.Poisoned(batch * H * T), h.Up(q), h.Up(k), h.Up(v), new(batch, T, H, Hkv, hd));
        var kc = h.B.Alloc(batch * cap * Hkv * hd); var vc = h.B.Alloc(batch * cap * Hkv * hd);
        var fullHost = CpuHarness.Get(full);
        for (int t = 0; t < T; t++)
        {
            var kt = new double[batch * Hkv * hd]; var vt = new double[batch * Hkv * hd]; var qt = new double[batch * H * hd];
            for (int b = 0; b < batch; b++)
            {
                Array.Copy(k, (b * T + t) * Hkv * hd, kt, b * Hkv * hd, Hkv * hd);
                Array.Copy(v, (b * T + t) * Hkv * hd, vt, b * Hkv * hd, Hkv * hd);
                Array.Copy(q, (b * T + t) * H * hd, qt, b * H * hd, H * hd);
            }
            h.B.KvCacheAppend(kc, vc, h.Up(kt), h.Up(vt), new(batch, 1, t, cap, Hkv, Hkv, hd));
            var o = h.Poisoned(batch * H * hd);
            h.B.AttentionDecode(o, h.Up(qt), kc, vc, new(batch, 1, t, cap, H, Hkv, hd));
            var expect = new double[batch * H * hd];
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < H * hd; i++) expect[b * H * hd + i] = fullHost[(b * T + t) * H * hd + i];
            CpuHarness.Close(o, expect, $"decode step {t}", 1e-6);
        }
    }

    [Fact]
    public void KvCacheAppend_WritesOnlyItsRows()
    {
        using var h = new CpuHarness();
        int batch = 2, newTokens = 3, pastLen = 4, cap = 9, Hkv = 2, hd = 5;
        var kc0 = TestData.Uniform(71, batch * cap * Hkv * hd); var vc0 = TestData.Uniform(72, kc0.Length);
        var k = TestData.Uniform(73, batch * newTokens * Hkv * hd); var v = TestData.Uniform(74, k.Length);
        Tensor kc = h.Up(kc0), vc = h.Up(vc0);
        h.B.KvCacheAppend(kc, vc, h.Up(k), h.Up(v), new(batch, newTokens, pastLen, cap, Hkv, Hkv, hd));
        Reference64.KvCacheAppend(kc0, vc0, k, v, batch, newTokens, pastLen, cap, Hkv, hd);
        Assert.Equal(TestData.ToFloat(kc0), CpuHarness.Get(kc));
        Assert.Equal(TestData.ToFloat(vc0), CpuHarness.Get(vc));
    }

    [Fact]
    public void Decode_PastCapacity_Throws()
    {
        using var h = new CpuHarness();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            h.B.AttentionDecode(h.B.Alloc(8), h.B.Alloc(8), h.B.Alloc(32), h.B.Alloc(32), new(1, 1, 4, 4, 1, 1, 8)));
        Assert.Contains("capacity", ex.Message);
    }
}
