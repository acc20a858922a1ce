using Minimind.Kernels.Tests.Ilgpu;

namespace Minimind.Kernels.Tests.Reference;

/// <summary>
/// The per-sequence forms of the decode and rotary ops (a paged KV cache with one length per sequence, per-sequence
/// RoPE starts), checked the same way on any backend: against float64, and bit for bit against the same sequences run
/// one at a time through the uniform forms, which is what lets a sequence decode alone or in a batch with the same bits.
/// </summary>
internal static class RaggedChecks
{
    /// <summary>Sequences of different lengths whose pages are scattered over a pool; rows no sequence owns are NaN, so a
    /// kernel reading outside its rows fails.</summary>
    public sealed record PagedCase(int Batch, int NewTokens, int PageSize, int PerSeq, int Pages, int[] Table, int[] PastLens,
        double[] KPool, double[] VPool, double[] Q, int H, int Hkv, int Hd)
    {
        public int Capacity => PerSeq * PageSize;
        public int Row => Hkv * Hd;
        public DecodeShape Shape => new(Batch, NewTokens, 0, Capacity, H, Hkv, Hd);
    }

    public static PagedCase MakePaged(int batch, int newTokens, int pageSize, int maxLen, int H, int Hkv, int hd, int seed)
    {
        var rng = new Random(seed);
        int perSeq = (maxLen + newTokens + pageSize - 1) / pageSize, pages = batch * perSeq + 2;
        var lens = new int[batch];
        for (int b = 0; b < batch; b++) lens[b] = b == 0 ? maxLen : rng.Next(0, maxLen + 1);
        var order = Enumerable.Range(0, pages).OrderBy(_ => rng.Next()).ToArray();
        var table = new int[batch * perSeq];
        for (int i = 0; i < table.Length; i++) table[i] = order[i];
        int row = Hkv * hd;
        var k = new double[(long)pages * pageSize * row]; var v = new double[k.Length];
        Array.Fill(k, double.NaN); Array.Fill(v, double.NaN);
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < lens[b] + newTokens; j++)
            {
                int at = (table[b * perSeq + j / pageSize] * pageSize + j % pageSize) * row;
                for (int c = 0; c < row; c++) { k[at + c] = rng.NextDouble() * 4 - 2; v[at + c] = rng.NextDouble() * 2 - 1; }
            }
        var q = TestData.Uniform(seed + 1, batch * newTokens * H * hd, -2, 2);
        return new PagedCase(batch, newTokens, pageSize, perSeq, pages, table, lens, k, v, q, H, Hkv, hd);
    }

    /// <summary>Paged decode vs float64, and vs each sequence alone in a contiguous cache: equal bits when the page size is a
    /// multiple of <paramref name="sameBitsPageMultiple"/> (the CPU's key block; 1 where every key is its own step).</summary>
    public static void PagedDecode(IBackend b, PagedCase c, double tol, int sameBitsPageMultiple)
    {
        var kp = b.Up(c.KPool); var vp = b.Up(c.VPool);
        var pages = new KvPages(b.Up(c.Table), b.Up(c.PastLens), c.PageSize, c.PerSeq);
        int qn = c.Q.Length;
        var o = b.Poisoned(qn);
        b.AttentionDecode(o, b.Up(c.Q), kp, vp, c.Shape, pages);
        var want = new double[qn];
        Reference64.AttentionDecodePaged(want, c.Q, c.KPool, c.VPool, c.Table, c.PastLens, c.PageSize, c.PerSeq, c.Batch, c.NewTokens, c.H, c.Hkv, c.Hd);
        Close(b, o, want, tol, "paged decode");

        if (c.PageSize % sameBitsPageMultiple != 0) return;
        var got = b.Get(o);
        int per = c.NewTokens * c.H * c.Hd;
        for (int s = 0; s < c.Batch; s++)
        {
            int n = c.PastLens[s] + c.NewTokens;
            var kc = new double[n * c.Row]; var vc = new double[n * c.Row];
            for (int j = 0; j < n; j++)
            {
                int at = (c.Table[s * c.PerSeq + j / c.PageSize] * c.PageSize + j % c.PageSize) * c.Row;
                Array.Copy(c.KPool, at, kc, j * c.Row, c.Row); Array.Copy(c.VPool, at, vc, j * c.Row, c.Row);
            }
            var alone = b.Poisoned(per);
            b.AttentionDecode(alone, b.Up(c.Q.AsSpan(s * per, per).ToArray()), b.Up(kc), b.Up(vc), new(1, c.NewTokens, c.PastLens[s], n, c.H, c.Hkv, c.Hd));
            IlgpuHarness.SameBits(got.AsSpan(s * per, per).ToArray(), b.Get(alone), $"sequence {s}: paged in a batch vs alone and contiguous");
        }
    }

    /// <summary>Paged append writes exactly each sequence's next rows (every other pool element unchanged).</summary>
    public static void PagedAppend(IBackend b, PagedCase c, int seed)
    {
        var k = TestData.Uniform(seed, c.Batch * c.NewTokens * c.Row); var v = TestData.Uniform(seed + 1, k.Length);
        var kPool = (double[])c.KPool.Clone(); var vPool = (double[])c.VPool.Clone();
        for (int i = 0; i < kPool.Length; i++) if (double.IsNaN(kPool[i])) { kPool[i] = -7; vPool[i] = 7; }
        Tensor kp = b.Up(kPool), vp = b.Up(vPool);
        b.KvCacheAppend(kp, vp, b.Up(k), b.Up(v), c.Shape with { Heads = c.Hkv }, new(b.Up(c.Table), b.Up(c.PastLens), c.PageSize, c.PerSeq));
        Reference64.KvCacheAppendPaged(kPool, vPool, k, v, c.Table, c.PastLens, c.PageSize, c.PerSeq, c.Batch, c.NewTokens, c.Hkv, c.Hd);
        Assert.Equal(TestData.ToFloat(kPool), b.Get(kp));
        Assert.Equal(TestData.ToFloat(vPool), b.Get(vp));
    }

    /// <summary>Rope, RopeBackward, RmsNormRope and RopeRmsNormBackward with per-sequence starts: Rope vs float64, and all four
    /// bit for bit against each sequence run alone at PosOffset + its start.</summary>
    public static void RowStarts(IBackend b, RopeLayout layout, int batch, int T, int heads, int hd, int posOffset, int seed, double tol)
    {
        var rng = new Random(seed);
        var starts = new int[batch];
        for (int i = 0; i < batch; i++) starts[i] = rng.Next(0, 12);
        int maxPos = posOffset + 12 + T, n = batch * T * heads * hd, per = T * heads * hd, rows = T * heads;
        var (cos, sin) = Reference64.RopeTables(maxPos, hd, 1e4);
        Tensor ct = b.Up(cos), st = b.Up(sin);
        IntTensor rs = b.Up(starts);
        var shape = new RopeShape(batch, T, heads, hd, posOffset, layout);
        var x = TestData.Uniform(seed + 1, n, -2, 2);
        Tensor xt = b.Up(x);
        b.Rope(xt, ct, st, shape, rs);
        var want = (double[])x.Clone();
        Reference64.RopeRowStart(want, TestData.ToDouble(TestData.ToFloat(cos)), TestData.ToDouble(TestData.ToFloat(sin)), batch, T, heads, hd, posOffset,
            starts, layout, +1);
        Close(b, xt, want, tol, "Rope with rowStart");
        Tensor dt = b.Up(x);
        b.RopeBackward(dt, ct, st, shape, rs);

        var w = TestData.Uniform(seed + 2, hd, 0.5, 1.5);
        Tensor wt = b.Up(w), y = b.Poisoned(n), r = b.Poisoned(batch * rows);
        b.RmsNormRope(y, r, b.Up(x), wt, ct, st, shape, 1e-6f, rs);
        var dy = TestData.Uniform(seed + 3, n);
        Tensor dyt = b.Up(dy), dx = b.Poisoned(n), dw = b.Up(new double[hd]);
        b.RopeRmsNormBackward(new(dx, dw), dyt, new(b.Up(x), wt, r), ct, st, shape, WriteMode.Overwrite, rs);

        for (int s = 0; s < batch; s++)
        {
            var one = shape with { Batch = 1, PosOffset = posOffset + starts[s] };
            var xs = x.AsSpan(s * per, per).ToArray();
            Tensor a = b.Up(xs), ad = b.Up(xs), ay = b.Poisoned(per), ar = b.Poisoned(rows), adx = b.Poisoned(per), adw = b.Up(new double[hd]);
            b.Rope(a, ct, st, one);
            b.RopeBackward(ad, ct, st, one);
            b.RmsNormRope(ay, ar, b.Up(xs), wt, ct, st, one, 1e-6f);
            Tensor ady = b.Up(dy.AsSpan(s * per, per).ToArray());
            b.RopeRmsNormBackward(new(adx, adw), ady, new(b.Up(xs), wt, ar), ct, st, one, WriteMode.Overwrite);
            string what = $"sequence {s} (start {starts[s]})";
            IlgpuHarness.SameBits(Slice(b.Get(xt), s, per), b.Get(a), $"Rope, {what}");
            IlgpuHarness.SameBits(Slice(b.Get(dt), s, per), b.Get(ad), $"RopeBackward, {what}");
            IlgpuHarness.SameBits(Slice(b.Get(y), s, per), b.Get(ay), $"RmsNormRope y, {what}");
            IlgpuHarness.SameBits(Slice(b.Get(r), s, rows), b.Get(ar), $"RmsNormRope rstd, {what}");
            IlgpuHarness.SameBits(Slice(b.Get(dx), s, per), b.Get(adx), $"RopeRmsNormBackward dx, {what}");
            IlgpuHarness.SameBits(Slice(b.Get(dyt), s, per), b.Get(ady), $"RopeRmsNormBackward rotated dy, {what}");
        }
    }

    private static float[] Slice(float[] a, int s, int n) => a.AsSpan(s * n, n).ToArray();

    private static void Close(IBackend b, Tensor actual, double[] expected, double tol, string what)
    {
        double e = TestData.RelativeError(b.Get(actual), expected);
        Assert.True(e < tol, $"{what}: relative error {e:E3} is not below {tol:E1}");
    }
}
