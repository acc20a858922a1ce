using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>The per-sequence forms on the CPU: a paged KV cache with one length per sequence, per-sequence RoPE starts,
/// their data checks, and MatMul rows that keep their bits whatever the row count (batch invariance).</summary>
public sealed class CpuRaggedTests
{
    [Theory]
    [InlineData(3, 1, 4, 9, 4, 2, 8, 301)]      // small pages: blocks restart at each page
    [InlineData(4, 1, 64, 150, 4, 1, 16, 302)]  // pages of the key block: bit-identical to contiguous
    [InlineData(2, 3, 64, 70, 2, 2, 8, 303)]    // several new tokens (a prefill) crossing a page
    [InlineData(5, 1, 128, 200, 8, 2, 6, 304)]
    public void PagedDecode_MatchesFloat64_AndEachSequenceAlone(int batch, int newTokens, int page, int maxLen, int H, int Hkv, int hd, int seed)
    {
        using var b = new CpuBackend(2);
        RaggedChecks.PagedDecode(b, RaggedChecks.MakePaged(batch, newTokens, page, maxLen, H, Hkv, hd, seed), CpuHarness.Tol, sameBitsPageMultiple: 64);
    }

    [Theory]
    [InlineData(3, 1, 4, 9, 2, 8, 311)]
    [InlineData(2, 5, 16, 30, 1, 6, 312)]
    public void PagedAppend_WritesEachSequencesNextRows(int batch, int newTokens, int page, int maxLen, int Hkv, int hd, int seed)
    {
        using var b = new CpuBackend(2);
        RaggedChecks.PagedAppend(b, RaggedChecks.MakePaged(batch, newTokens, page, maxLen, 2 * Hkv, Hkv, hd, seed), seed + 7);
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved, 3, 5, 2, 8, 0, 321)]
    [InlineData(RopeLayout.RotateHalf, 4, 3, 3, 16, 2, 322)]
    [InlineData(RopeLayout.RotateHalf, 1, 1, 4, 64, 7, 323)]
    public void RowStarts_MatchFloat64_AndEachSequenceAlone(RopeLayout layout, int batch, int T, int heads, int hd, int posOffset, int seed)
    {
        using var b = new CpuBackend(2);
        RaggedChecks.RowStarts(b, layout, batch, T, heads, hd, posOffset, seed, CpuHarness.Tol);
    }

    [Fact]
    public void PageData_IsCheckedOnTheHost()
    {
        using var h = new CpuHarness();
        // 2 sequences, pages of 2 rows, 2 pages each, a pool of 3 pages.
        Tensor pool = h.B.Alloc(3 * 2 * 8), q = h.B.Alloc(2 * 8), o = h.B.Alloc(2 * 8);
        var shape = new DecodeShape(2, 1, 0, 4, 1, 1, 8);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() =>
            h.B.AttentionDecode(o, q, pool, pool, shape, new(h.Up(new[] { 0, 1, 2, 3 }), h.Up(new[] { 1, 2 }), 2, 2)));
        Assert.Contains("AttentionDecode: sequence 1: page 1 is 3, outside the pool of 3 pages", bad.Message);
        var full = Assert.Throws<ArgumentOutOfRangeException>(() =>
            h.B.KvCacheAppend(pool, pool, q, q, shape, new(h.Up(new[] { 0, 1, 2, 0 }), h.Up(new[] { 4, 0 }), 2, 2)));
        Assert.Contains("KvCacheAppend: sequence 0: pastLen 4 + newTokens 1 outside the capacity 4", full.Message);
        var pos = Assert.Throws<ArgumentOutOfRangeException>(() =>
            h.B.Rope(h.B.Alloc(2 * 3 * 8), h.B.Alloc(6 * 4), h.B.Alloc(6 * 4), new(2, 3, 1, 8, 1, RopeLayout.RotateHalf), h.Up(new[] { 0, 3 })));
        Assert.Contains("Rope: rowStart[1] = 3 puts positions 4..6 outside the cos/sin table of 6 rows", pos.Message);
    }

    [Fact]
    public void MatMul_RowsKeepTheirBits_WhateverTheRowCount()
    {
        // The decode engine runs one row per sequence: a row's result must not depend on how many share the call, across the
        // few-row path and the packed SGEMM (row counts on both sides of the switch, K over two slices, N off the panel width).
        using var h = new CpuHarness(2);
        int n = 45, k = 300, maxM = 80;
        var x = TestData.Uniform(331, maxM * k); var w = TestData.Uniform(332, n * k);
        Tensor xt = h.Up(x), wt = h.Up(w);
        var all = h.Poisoned(maxM * n);
        h.B.MatMul(all, xt, wt, new(maxM, n, k));
        var reference = CpuHarness.Get(all);
        foreach (int m in new[] { 1, 2, 5, 6, 7, 12, 33, 64, 65, 79 })
        {
            var y = h.Poisoned(m * n);
            h.B.MatMul(y, xt, wt, new(m, n, k));
            IlgpuHarness.SameBits(reference.AsSpan(0, m * n).ToArray(), CpuHarness.Get(y), $"first {m} rows");
        }
        // and a row alone, taken from the middle of the batch
        var one = h.Poisoned(n);
        h.B.MatMul(one, xt.Slice(40 * k, k), wt, new(1, n, k));
        IlgpuHarness.SameBits(reference.AsSpan(40 * n, n).ToArray(), CpuHarness.Get(one), "row 40 alone");
    }
}
