namespace Minimind.Kernels;

/// <summary>
/// The argument checks of every <see cref="IBackend"/> op, in one place: <see cref="CheckedBackend"/> calls the op's
/// check before the backend runs it, so a bad argument raises the same exception with the same text on every backend. Checks cover
/// sizes (non-negative dims, head counts, ranges), tensors too short for the shape, the
/// <see cref="WriteMode"/> value and the backend's <see cref="BackendLimits"/>. Data-dependent checks
/// (ids or targets outside the vocabulary) stay with the backends that can see the data on the host.
/// </summary>
public static class OpContract
{
    // ---- primitives ----------------------------------------------------------------------------

    /// <summary>Throws unless <paramref name="value"/> ≥ 0, naming the op and the argument.</summary>
    public static void NonNegative(int value, string op, string name)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, $"{op}: {name} must be >= 0, got {value}");
    }

    /// <summary>Throws unless <paramref name="value"/> &gt; 0, naming the op and the argument.</summary>
    public static void Positive(int value, string op, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, $"{op}: {name} must be > 0, got {value}");
    }

    /// <summary>Throws unless <paramref name="t"/> has a buffer and at least <paramref name="n"/> elements.</summary>
    public static void Need(Tensor t, long n, string op, string name)
    {
        if (t.Buffer is null) throw new ArgumentException($"{op}: {name} is an empty tensor, needs {n} elements");
        if (t.Length < n) throw new ArgumentException($"{op}: {name} holds {t.Length} elements, needs {n}");
    }

    /// <summary>Throws unless <paramref name="t"/> has a buffer and at least <paramref name="n"/> elements.</summary>
    public static void Need(IntTensor t, long n, string op, string name)
    {
        if (t.Buffer is null) throw new ArgumentException($"{op}: {name} is an empty int tensor, needs {n} elements");
        if (t.Length < n) throw new ArgumentException($"{op}: {name} holds {t.Length} elements, needs {n}");
    }

    /// <summary>Throws unless <paramref name="p"/> is a <see cref="Kernels.Precision"/> the backend runs.</summary>
    public static void Precision(string op, Precision p, BackendLimits limits)
    {
        if (p is not (Kernels.Precision.Fp32 or Kernels.Precision.Bf16 or Kernels.Precision.Fp16))
            throw new ArgumentOutOfRangeException(nameof(p), $"{op}: precision {(int)p} is not a Precision (Fp32, Bf16 or Fp16)");
        if (p != Kernels.Precision.Fp32 && !limits.ReducedPrecision)
            throw new NotSupportedException(
                $"{op}: precision {p.Name()} is not supported by this backend (BackendLimits.ReducedPrecision); use --dtype fp32 or --device cpu");
    }

    private static void Mode(WriteMode mode, string op)
    {
        if (mode is not (WriteMode.Overwrite or WriteMode.Accumulate))
            throw new ArgumentOutOfRangeException(nameof(mode), $"{op}: mode {(int)mode} is not a WriteMode (Overwrite or Accumulate)");
    }

    // ---- memory and elementwise ---------------------------------------------------------------

    /// <summary>Upload/Download: the tensor holds the host span.</summary>
    public static void Transfer(Tensor t, int length, string op, string name) => Need(t, length, op, name);

    /// <summary>Upload/Download: the tensor holds the host span.</summary>
    public static void Transfer(IntTensor t, int length, string op, string name) => Need(t, length, op, name);

    /// <summary><see cref="IBackend.Fill"/>, <see cref="IBackend.Scale"/> and <see cref="IBackend.SumOfSquares"/>: the op works on the
    /// whole view, which must have a buffer.</summary>
    public static void Whole(Tensor t, string op, string name) => Need(t, t.Length, op, name);

    /// <summary><see cref="IBackend.Copy"/>: equal lengths.</summary>
    public static void Copy(Tensor dst, Tensor src)
    {
        if (dst.Length != src.Length) throw new ArgumentException($"Copy: dst has {dst.Length} elements, src {src.Length}");
    }

    /// <summary><see cref="IBackend.Add"/>.</summary>
    public static void Add(Tensor y, Tensor a, Tensor b)
    {
        Need(y, y.Length, nameof(Add), nameof(y)); Need(a, y.Length, nameof(Add), nameof(a)); Need(b, y.Length, nameof(Add), nameof(b));
    }

    /// <summary><see cref="IBackend.AddInPlace"/>.</summary>
    public static void AddInPlace(Tensor y, Tensor x)
    {
        Need(y, y.Length, nameof(AddInPlace), nameof(y)); Need(x, y.Length, nameof(AddInPlace), nameof(x));
    }

    // ---- matmul ---------------------------------------------------------------------------------

    private static void Dims(string op, GemmShape s, BackendLimits limits)
    {
        NonNegative(s.M, op, "M"); NonNegative(s.N, op, "N"); NonNegative(s.K, op, "K");
        Precision(op, s.Precision, limits);
    }

    /// <summary><see cref="IBackend.MatMul"/>: y [M,N], x [M,K], w [N,K].</summary>
    public static void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode, BackendLimits limits)
    {
        const string op = nameof(MatMul);
        Dims(op, s, limits); Mode(mode, op);
        Need(y, (long)s.M * s.N, op, nameof(y)); Need(x, (long)s.M * s.K, op, nameof(x)); Need(w, (long)s.N * s.K, op, nameof(w));
    }

    /// <summary><see cref="IBackend.MatMulBackwardInput"/>: dx [M,K], dy [M,N], w [N,K].</summary>
    public static void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode, BackendLimits limits)
    {
        const string op = nameof(MatMulBackwardInput);
        Dims(op, s, limits); Mode(mode, op);
        Need(dx, (long)s.M * s.K, op, nameof(dx)); Need(dy, (long)s.M * s.N, op, nameof(dy)); Need(w, (long)s.N * s.K, op, nameof(w));
    }

    /// <summary><see cref="IBackend.MatMulBackwardWeight"/>: dw [N,K], dy [M,N], x [M,K].</summary>
    public static void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode, BackendLimits limits)
    {
        const string op = nameof(MatMulBackwardWeight);
        Dims(op, s, limits); Mode(mode, op);
        Need(dw, (long)s.N * s.K, op, nameof(dw)); Need(dy, (long)s.M * s.N, op, nameof(dy)); Need(x, (long)s.M * s.K, op, nameof(x));
    }

    // ---- embedding and RMSNorm ------------------------------------------------------------------

    private static void Rows(string op, RowShape s, string rows = "rows", string dim = "dim")
    {
        NonNegative(s.Rows, op, rows); NonNegative(s.Dim, op, dim);
    }

    /// <summary><see cref="IBackend.Embedding"/>: y [Rows, Dim], ids [Rows], table [vocab, Dim].</summary>
    public static void Embedding(Tensor y, IntTensor ids, Tensor table, RowShape s)
    {
        const string op = nameof(Embedding);
        Rows(op, s, "count");
        Need(y, (long)s.Rows * s.Dim, op, nameof(y)); Need(ids, s.Rows, op, nameof(ids)); Need(table, 0, op, nameof(table));
    }

    /// <summary><see cref="IBackend.EmbeddingBackward"/>: dTable [vocab, Dim], dy [Rows, Dim], ids [Rows].</summary>
    public static void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, RowShape s)
    {
        const string op = nameof(EmbeddingBackward);
        Rows(op, s, "count");
        Need(dTable, 0, op, nameof(dTable)); Need(dy, (long)s.Rows * s.Dim, op, nameof(dy)); Need(ids, s.Rows, op, nameof(ids));
    }

    /// <summary><see cref="IBackend.RmsNorm"/>: y, x [Rows, Dim], rstd [Rows], weight [Dim].</summary>
    public static void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, RowShape s)
    {
        const string op = nameof(RmsNorm);
        Rows(op, s);
        long n = (long)s.Rows * s.Dim;
        Need(y, n, op, nameof(y)); Need(rstd, s.Rows, op, nameof(rstd)); Need(x, n, op, nameof(x)); Need(weight, s.Dim, op, nameof(weight));
    }

    /// <summary><see cref="IBackend.RmsNormBackward"/>.</summary>
    public static void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape s, WriteMode mode)
    {
        const string op = nameof(RmsNormBackward);
        Rows(op, s); Mode(mode, op);
        long n = (long)s.Rows * s.Dim;
        Need(dx, n, op, nameof(dx)); Need(dWeight, s.Dim, op, nameof(dWeight)); Need(dy, n, op, nameof(dy));
        Need(x, n, op, nameof(x)); Need(weight, s.Dim, op, nameof(weight)); Need(rstd, s.Rows, op, nameof(rstd));
    }

    /// <summary><see cref="IBackend.AddRmsNorm"/>: h, y, x, branch [Rows, Dim], rstd [Rows], weight [Dim].</summary>
    public static void AddRmsNorm(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor branch, Tensor weight, RowShape s)
    {
        const string op = nameof(AddRmsNorm);
        Rows(op, s);
        long n = (long)s.Rows * s.Dim;
        Need(h, n, op, nameof(h)); Need(y, n, op, nameof(y)); Need(rstd, s.Rows, op, nameof(rstd));
        Need(x, n, op, nameof(x)); Need(branch, n, op, nameof(branch)); Need(weight, s.Dim, op, nameof(weight));
    }

    // ---- rotary embedding -----------------------------------------------------------------------

    /// <summary><see cref="IBackend.Rope"/> and <see cref="IBackend.RopeBackward"/> (<paramref name="op"/> names which).</summary>
    public static void Rope(string op, Tensor x, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default)
    {
        RopeTables(op, cos, sin, s, rowStart);
        Need(x, (long)s.Batch * s.SeqLen * s.Heads * s.HeadDim, op, op == nameof(IBackend.RopeBackward) ? "dx" : "x");
    }

    // The RopeShape's sizes and the cos/sin rows it reads (at least PosOffset + SeqLen; the rows per-sequence starts add
    // are data, checked by the backends that see them).
    private static void RopeTables(string op, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart)
    {
        NonNegative(s.Batch, op, "batch"); NonNegative(s.SeqLen, op, "seqLen"); NonNegative(s.Heads, op, "heads");
        NonNegative(s.PosOffset, op, "posOffset");
        if (s.HeadDim <= 0 || s.HeadDim % 2 != 0)
            throw new ArgumentOutOfRangeException("headDim", $"{op}: headDim must be even and > 0, got {s.HeadDim}");
        if (s.Layout is not (RopeLayout.Interleaved or RopeLayout.RotateHalf))
            throw new ArgumentOutOfRangeException("layout", $"{op}: layout {(int)s.Layout} is not a RopeLayout");
        long table = (long)(s.PosOffset + s.SeqLen) * (s.HeadDim / 2);
        Need(cos, table, op, nameof(cos)); Need(sin, table, op, nameof(sin));
        if (!rowStart.IsEmpty) Need(rowStart, s.Batch, op, nameof(rowStart));
    }

    /// <summary>The data check of a per-sequence start (backends that see <paramref name="rowStart"/> on the host): every
    /// sequence's positions PosOffset + rowStart[b] .. + SeqLen − 1 lie inside the cos/sin table.</summary>
    public static void RowStarts(string op, ReadOnlySpan<int> rowStart, RopeShape s, long tableRows)
    {
        for (int b = 0; b < s.Batch; b++)
        {
            long first = (long)s.PosOffset + rowStart[b];
            if (rowStart[b] < 0 || first + s.SeqLen > tableRows)
                throw new ArgumentOutOfRangeException(nameof(rowStart),
                    $"{op}: rowStart[{b}] = {rowStart[b]} puts positions {first}..{first + s.SeqLen - 1} outside the cos/sin table of {tableRows} rows");
        }
    }

    /// <summary><see cref="IBackend.RmsNormRope"/>: y, x [B, T, heads, headDim], rstd [B·T·heads], weight [headDim], cos/sin as <see cref="Rope"/>.</summary>
    public static void RmsNormRope(Tensor y, Tensor rstd, Tensor x, Tensor weight, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default)
    {
        const string op = nameof(RmsNormRope);
        RopeTables(op, cos, sin, s, rowStart);
        long rows = (long)s.Batch * s.SeqLen * s.Heads, n = rows * s.HeadDim;
        Need(y, n, op, nameof(y)); Need(rstd, rows, op, nameof(rstd)); Need(x, n, op, nameof(x)); Need(weight, s.HeadDim, op, nameof(weight));
    }

    /// <summary><see cref="IBackend.RopeRmsNormBackward"/>: dx, dy, x [B, T, heads, headDim], dWeight and weight [headDim],
    /// rstd [B·T·heads], cos/sin as <see cref="Rope"/>.</summary>
    public static void RopeRmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, Tensor cos, Tensor sin,
        RopeShape s, WriteMode mode, IntTensor rowStart = default)
    {
        const string op = nameof(RopeRmsNormBackward);
        RopeTables(op, cos, sin, s, rowStart); Mode(mode, op);
        long rows = (long)s.Batch * s.SeqLen * s.Heads, n = rows * s.HeadDim;
        Need(dx, n, op, nameof(dx)); Need(dWeight, s.HeadDim, op, nameof(dWeight)); Need(dy, n, op, nameof(dy));
        Need(x, n, op, nameof(x)); Need(weight, s.HeadDim, op, nameof(weight)); Need(rstd, rows, op, nameof(rstd));
    }

    // ---- attention ------------------------------------------------------------------------------

    private static void Heads(string op, int heads, int kvHeads, int headDim, BackendLimits limits)
    {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(heads), $"{op}: heads ({heads}) must be a positive multiple of kvHeads ({kvHeads})");
        if (headDim <= 0) throw new ArgumentOutOfRangeException(nameof(headDim), $"{op}: headDim must be > 0, got {headDim}");
        if (headDim > limits.MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(headDim),
                $"{op}: headDim {headDim} exceeds this backend's limit of {limits.MaxHeadDim} (BackendLimits.MaxHeadDim)");
    }

    /// <summary><see cref="IBackend.Attention"/>.</summary>
    public static void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape s, BackendLimits limits)
    {
        const string op = nameof(Attention);
        NonNegative(s.Batch, op, "batch"); NonNegative(s.SeqLen, op, "seqLen"); Heads(op, s.Heads, s.KvHeads, s.HeadDim, limits);
        Precision(op, s.Precision, limits);
        var (qn, kn, ln) = AttnSizes(s);
        Need(output, qn, op, nameof(output)); Need(lse, ln, op, nameof(lse));
        Need(q, qn, op, nameof(q)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
    }

    /// <summary><see cref="IBackend.AttentionBackward"/>.</summary>
    public static void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        AttnShape s, WriteMode mode, BackendLimits limits)
    {
        const string op = nameof(AttentionBackward);
        NonNegative(s.Batch, op, "batch"); NonNegative(s.SeqLen, op, "seqLen"); Heads(op, s.Heads, s.KvHeads, s.HeadDim, limits);
        Precision(op, s.Precision, limits);
        Mode(mode, op);
        var (qn, kn, ln) = AttnSizes(s);
        Need(dq, qn, op, nameof(dq)); Need(dk, kn, op, nameof(dk)); Need(dv, kn, op, nameof(dv));
        Need(dOutput, qn, op, nameof(dOutput)); Need(q, qn, op, nameof(q)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
        Need(output, qn, op, nameof(output)); Need(lse, ln, op, nameof(lse));
    }

    /// <summary>Elements of q (and output), of k (and v), and of lse for <paramref name="s"/>.</summary>
    public static (long Q, long Kv, long Lse) AttnSizes(AttnShape s) =>
        ((long)s.Batch * s.SeqLen * s.Heads * s.HeadDim, (long)s.Batch * s.SeqLen * s.KvHeads * s.HeadDim, (long)s.Batch * s.Heads * s.SeqLen);

    // The decode sizes; returns the elements each cache must hold (all sequences' rows, or one page when paged).
    private static long Decode(string op, DecodeShape s, KvPages pages, BackendLimits limits)
    {
        NonNegative(s.Batch, op, "batch"); NonNegative(s.NewTokens, op, "newTokens"); NonNegative(s.PastLen, op, "pastLen");
        Heads(op, s.Heads, s.KvHeads, s.HeadDim, limits); Precision(op, s.Precision, limits);
        if ((long)s.PastLen + s.NewTokens > s.Capacity)
            throw new ArgumentOutOfRangeException("capacity", $"{op}: pastLen {s.PastLen} + newTokens {s.NewTokens} exceeds the cache capacity {s.Capacity}");
        long row = (long)s.KvHeads * s.HeadDim;
        if (pages.IsEmpty) return s.Batch * s.Capacity * row;
        Positive(pages.PageSize, op, "pageSize"); Positive(pages.PagesPerSeq, op, "pagesPerSeq");
        if (s.PastLen != 0)
            throw new ArgumentOutOfRangeException("pastLen", $"{op}: pastLen must be 0 with a paged cache (KvPages.PastLens gives each sequence's), got {s.PastLen}");
        if ((long)pages.PagesPerSeq * pages.PageSize != s.Capacity)
            throw new ArgumentOutOfRangeException("capacity",
                $"{op}: capacity {s.Capacity} must equal pagesPerSeq {pages.PagesPerSeq} x pageSize {pages.PageSize} with a paged cache");
        Need(pages.Table, (long)s.Batch * pages.PagesPerSeq, op, "pages.Table"); Need(pages.PastLens, s.Batch, op, "pages.PastLens");
        return pages.PageSize * row;
    }

    /// <summary>The data check of a paged cache (backends that see the table on the host): every page id is in
    /// [0, <paramref name="cachePages"/>) and every sequence's PastLens[b] + NewTokens rows fit its Capacity.</summary>
    public static void PageData(string op, ReadOnlySpan<int> table, ReadOnlySpan<int> pastLens, DecodeShape s, KvPages pages, long cachePages)
    {
        for (int b = 0; b < s.Batch; b++)
        {
            int len = pastLens[b];
            if (len < 0 || (long)len + s.NewTokens > s.Capacity)
                throw new ArgumentOutOfRangeException("pastLens", $"{op}: sequence {b}: pastLen {len} + newTokens {s.NewTokens} outside the capacity {s.Capacity}");
            int used = (int)(((long)len + s.NewTokens + pages.PageSize - 1) / pages.PageSize);
            for (int i = 0; i < used; i++)
            {
                int page = table[b * pages.PagesPerSeq + i];
                if ((uint)page >= (ulong)cachePages)
                    throw new ArgumentOutOfRangeException("pages", $"{op}: sequence {b}: page {i} is {page}, outside the pool of {cachePages} pages");
            }
        }
    }

    /// <summary><see cref="IBackend.AttentionDecode"/>.</summary>
    public static void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape s, BackendLimits limits, KvPages pages = default)
    {
        const string op = nameof(AttentionDecode);
        long cn = Decode(op, s, pages, limits);
        long qn = (long)s.Batch * s.NewTokens * s.Heads * s.HeadDim;
        Need(output, qn, op, nameof(output)); Need(q, qn, op, nameof(q)); Need(kCache, cn, op, nameof(kCache)); Need(vCache, cn, op, nameof(vCache));
    }

    /// <summary><see cref="IBackend.KvCacheAppend"/>.</summary>
    public static void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape s, BackendLimits limits, KvPages pages = default)
    {
        const string op = nameof(KvCacheAppend);
        long cn = Decode(op, s, pages, limits);
        long kn = (long)s.Batch * s.NewTokens * s.KvHeads * s.HeadDim;
        Need(kCache, cn, op, nameof(kCache)); Need(vCache, cn, op, nameof(vCache)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
    }

    // ---- SwiGLU ---------------------------------------------------------------------------------

    /// <summary><see cref="IBackend.SwiGlu"/>: gate and up hold h.Length elements.</summary>
    public static void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        const string op = nameof(SwiGlu);
        Need(h, h.Length, op, nameof(h)); Need(gate, h.Length, op, nameof(gate)); Need(up, h.Length, op, nameof(up));
    }

    /// <summary><see cref="IBackend.SwiGluBackward"/>: every view holds dh.Length elements.</summary>
    public static void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up, WriteMode mode)
    {
        const string op = nameof(SwiGluBackward);
        Mode(mode, op);
        long n = dh.Length;
        Need(dGate, n, op, nameof(dGate)); Need(dUp, n, op, nameof(dUp)); Need(dh, n, op, nameof(dh));
        Need(gate, n, op, nameof(gate)); Need(up, n, op, nameof(up));
    }

    // ---- loss and softmax -----------------------------------------------------------------------

    /// <summary><see cref="IBackend.CrossEntropy"/>: losses [Rows], logits [Rows, vocab], targets [Rows].</summary>
    public static void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, RowShape s)
    {
        const string op = nameof(CrossEntropy);
        NonNegative(s.Rows, op, "rows"); Positive(s.Dim, op, "vocab");
        Need(losses, s.Rows, op, nameof(losses)); Need(logits, (long)s.Rows * s.Dim, op, nameof(logits)); Need(targets, s.Rows, op, nameof(targets));
    }

    /// <summary><see cref="IBackend.CrossEntropyBackward"/>.</summary>
    public static void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s) =>
        CrossEntropyGradient(nameof(CrossEntropyBackward), null, dLogits, logits, targets, rowScale, s);

    /// <summary><see cref="IBackend.CrossEntropyForwardBackward"/>: losses, targets, rowScale [Rows]; dLogits, logits [Rows, vocab].</summary>
    public static void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s) =>
        CrossEntropyGradient(nameof(CrossEntropyForwardBackward), losses, dLogits, logits, targets, rowScale, s);

    // The two ops that write dLogits (the fused one also losses).
    private static void CrossEntropyGradient(string op, Tensor? losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s)
    {
        NonNegative(s.Rows, op, "rows"); Positive(s.Dim, op, "vocab");
        long n = (long)s.Rows * s.Dim;
        if (losses is { } l) Need(l, s.Rows, op, nameof(losses));
        Need(dLogits, n, op, nameof(dLogits)); Need(logits, n, op, nameof(logits));
        Need(targets, s.Rows, op, nameof(targets)); Need(rowScale, s.Rows, op, nameof(rowScale));
    }

    /// <summary><see cref="IBackend.Softmax"/>: y, x [Rows, cols].</summary>
    public static void Softmax(Tensor y, Tensor x, RowShape s)
    {
        const string op = nameof(Softmax);
        Rows(op, s, dim: "cols");
        Need(y, (long)s.Rows * s.Dim, op, nameof(y)); Need(x, (long)s.Rows * s.Dim, op, nameof(x));
    }

    /// <summary><see cref="IBackend.SoftmaxBackward"/>: dx, dy, y [Rows, cols].</summary>
    public static void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, RowShape s, WriteMode mode)
    {
        const string op = nameof(SoftmaxBackward);
        Rows(op, s, dim: "cols"); Mode(mode, op);
        long n = (long)s.Rows * s.Dim;
        Need(dx, n, op, nameof(dx)); Need(dy, n, op, nameof(dy)); Need(y, n, op, nameof(y));
    }

    // ---- MoE ------------------------------------------------------------------------------------

    private static void TopKArgs(string op, TopKShape s)
    {
        NonNegative(s.Rows, op, "rows");
        if (s.K <= 0 || s.K > s.Cols) throw new ArgumentOutOfRangeException("k", $"{op}: k must be in [1, cols={s.Cols}], got {s.K}");
    }

    /// <summary><see cref="IBackend.TopK"/>: weights, indices [Rows, K], probs [Rows, Cols].</summary>
    public static void TopK(Tensor weights, IntTensor indices, Tensor probs, TopKShape s)
    {
        const string op = nameof(TopK);
        TopKArgs(op, s);
        Need(weights, (long)s.Rows * s.K, op, nameof(weights)); Need(indices, (long)s.Rows * s.K, op, nameof(indices));
        Need(probs, (long)s.Rows * s.Cols, op, nameof(probs));
    }

    /// <summary><see cref="IBackend.TopKBackward"/>.</summary>
    public static void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, TopKShape s, WriteMode mode)
    {
        const string op = nameof(TopKBackward);
        TopKArgs(op, s); Mode(mode, op);
        Need(dProbs, (long)s.Rows * s.Cols, op, nameof(dProbs)); Need(dWeights, (long)s.Rows * s.K, op, nameof(dWeights));
        Need(probs, (long)s.Rows * s.Cols, op, nameof(probs)); Need(indices, (long)s.Rows * s.K, op, nameof(indices));
    }

    /// <summary><see cref="IBackend.MoeRoute"/>: perm, invPerm, indices [Assignments].</summary>
    public static void MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, RouteShape s)
    {
        const string op = nameof(MoeRoute);
        NonNegative(s.Assignments, op, "assignments"); Positive(s.Experts, op, "experts");
        Need(perm, s.Assignments, op, nameof(perm)); Need(invPerm, s.Assignments, op, nameof(invPerm)); Need(indices, s.Assignments, op, nameof(indices));
    }

    private static long Moe(string op, MoeShape s)
    {
        NonNegative(s.Tokens, op, "tokens"); NonNegative(s.Dim, op, "dim"); Positive(s.K, op, "k");
        return (long)s.Tokens * s.K;
    }

    /// <summary><see cref="IBackend.MoeGather"/>: xs [Tokens·K, Dim], x [Tokens, Dim], perm [Tokens·K].</summary>
    public static void MoeGather(Tensor xs, Tensor x, IntTensor perm, MoeShape s)
    {
        const string op = nameof(MoeGather);
        long n = Moe(op, s);
        Need(xs, n * s.Dim, op, nameof(xs)); Need(x, (long)s.Tokens * s.Dim, op, nameof(x)); Need(perm, n, op, nameof(perm));
    }

    /// <summary><see cref="IBackend.MoeGatherBackward"/>.</summary>
    public static void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, MoeShape s, WriteMode mode)
    {
        const string op = nameof(MoeGatherBackward);
        long n = Moe(op, s); Mode(mode, op);
        Need(dx, (long)s.Tokens * s.Dim, op, nameof(dx)); Need(dxs, n * s.Dim, op, nameof(dxs)); Need(invPerm, n, op, nameof(invPerm));
    }

    /// <summary><see cref="IBackend.MoeCombine"/>.</summary>
    public static void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, MoeShape s, WriteMode mode)
    {
        const string op = nameof(MoeCombine);
        long n = Moe(op, s); Mode(mode, op);
        Need(y, (long)s.Tokens * s.Dim, op, nameof(y)); Need(expertOut, n * s.Dim, op, nameof(expertOut));
        Need(weights, n, op, nameof(weights)); Need(invPerm, n, op, nameof(invPerm));
    }

    /// <summary><see cref="IBackend.MoeCombineBackward"/>.</summary>
    public static void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        MoeShape s, WriteMode mode)
    {
        const string op = nameof(MoeCombineBackward);
        long n = Moe(op, s); Mode(mode, op);
        Need(dExpertOut, n * s.Dim, op, nameof(dExpertOut)); Need(dWeights, n, op, nameof(dWeights));
        Need(dy, (long)s.Tokens * s.Dim, op, nameof(dy)); Need(expertOut, n * s.Dim, op, nameof(expertOut));
        Need(weights, n, op, nameof(weights)); Need(invPerm, n, op, nameof(invPerm));
    }

    /// <summary><see cref="IBackend.MoeAuxLoss"/>; false when there is nothing to compute (kind None, or no tokens).</summary>
    public static bool MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, AuxLossShape s, AuxLossKind kind)
    {
        const string op = nameof(MoeAuxLoss);
        NonNegative(s.Batch, op, "batch"); NonNegative(s.SeqLen, op, "seqLen"); Positive(s.Experts, op, "experts");
        if (s.K <= 0 || s.K > s.Experts) throw new ArgumentOutOfRangeException("k", $"{op}: k must be in [1, experts={s.Experts}], got {s.K}");
        if (kind is not (AuxLossKind.None or AuxLossKind.SequenceLevel or AuxLossKind.TokenLevel or AuxLossKind.MiniMind3))
            throw new ArgumentOutOfRangeException(nameof(kind), $"{op}: unknown AuxLossKind {kind}");
        if (kind == AuxLossKind.None || (long)s.Batch * s.SeqLen == 0) return false;
        long n = (long)s.Batch * s.SeqLen;
        Need(probs, n * s.Experts, op, nameof(probs)); Need(indices, n * s.K, op, nameof(indices));
        if (!dProbs.IsEmpty) Need(dProbs, n * s.Experts, op, nameof(dProbs));
        return true;
    }

    // ---- optimizer ------------------------------------------------------------------------------

    /// <summary><see cref="IBackend.AdamW"/>: grad, m, v hold param.Length elements; step is 1-based.</summary>
    public static void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, long step)
    {
        const string op = nameof(AdamW);
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"{op}: step is 1-based, got {step}");
        long n = param.Length;
        Need(param, n, op, nameof(param)); Need(grad, n, op, nameof(grad)); Need(m, n, op, nameof(m)); Need(v, n, op, nameof(v));
    }
}
