namespace Minimind.Kernels;

/// <summary>nn.Linear without bias: y[M, N] = x[M, K]·w[N, K]ᵀ (backward ops use the same M, N, K).</summary>
/// <param name="M">Rows of x and y (tokens).</param>
/// <param name="N">Output features (rows of w).</param>
/// <param name="K">Input features (columns of x and w).</param>
/// <param name="Precision">Operand precision (autocast): x, w and dy are rounded to it, accumulation is float32.</param>
public readonly record struct GemmShape(int M, int N, int K, Precision Precision = Precision.Fp32);

/// <summary>Row ops over [Rows, Dim]: RMSNorm, softmax (Dim = columns), cross-entropy (Dim = vocab),
/// embedding (Rows = token count, Dim = embedding width).</summary>
/// <param name="Rows">Independent rows.</param>
/// <param name="Dim">Elements per row.</param>
public readonly record struct RowShape(int Rows, int Dim);

/// <summary>Causal grouped-query attention: q [B, T, H, hd], k/v [B, T, Hkv, hd], lse [B, H, T].</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="SeqLen">Tokens per sequence.</param>
/// <param name="Heads">Query heads (a multiple of <paramref name="KvHeads"/>).</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="HeadDim">Width of one head.</param>
/// <param name="Precision">Operand precision (autocast): q, k, v (and dOutput in the backward) are rounded to it;
/// scores, softmax and accumulation are float32.</param>
public readonly record struct AttnShape(int Batch, int SeqLen, int Heads, int KvHeads, int HeadDim, Precision Precision = Precision.Fp32);

/// <summary>Decode attention: q [B, NewTokens, H, hd] at cache rows PastLen.. against KV caches
/// [B, Capacity, Hkv, hd] whose first PastLen + NewTokens rows are filled. With a <see cref="KvPages"/> argument
/// the caches are paged and every sequence has its own length (see there).</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="NewTokens">Query tokens per sequence in this call.</param>
/// <param name="PastLen">Tokens already in the cache (0 with <see cref="KvPages"/>, which gives one length per sequence).</param>
/// <param name="Capacity">Rows the cache holds per sequence (with <see cref="KvPages"/>: PagesPerSeq·PageSize).</param>
/// <param name="Heads">Query heads (a multiple of <paramref name="KvHeads"/>).</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="HeadDim">Width of one head.</param>
/// <param name="Precision">Operand precision (autocast): q and the cached k, v are read rounded to it.</param>
public readonly record struct DecodeShape(int Batch, int NewTokens, int PastLen, int Capacity, int Heads, int KvHeads, int HeadDim,
    Precision Precision = Precision.Fp32);

/// <summary>Rotary embedding of x [B, T, Heads, hd]: token t uses table row PosOffset + t of cos/sin [maxPos, hd/2]
/// (plus rowStart[b] when the op is given per-sequence start positions).</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="SeqLen">Tokens per sequence.</param>
/// <param name="Heads">Heads rotated (query or kv heads).</param>
/// <param name="HeadDim">Width of one head (even).</param>
/// <param name="PosOffset">Position of the first token.</param>
/// <param name="Layout">How the pairs are formed.</param>
public readonly record struct RopeShape(int Batch, int SeqLen, int Heads, int HeadDim, int PosOffset, RopeLayout Layout);

/// <summary>
/// A paged KV cache for <see cref="IBackend.AttentionDecode"/> and <see cref="IBackend.KvCacheAppend"/>: the caches are
/// pools of pages [Pages, PageSize, Hkv, hd] shared by all sequences. Sequence b's cache row j lives in page
/// Table[b·PagesPerSeq + j / PageSize], at row j % PageSize of that page, and PastLens[b] of its rows are filled before
/// the call, so sequences of different lengths decode together without padding. The shape's Capacity must be
/// PagesPerSeq·PageSize and its PastLen 0. Page ids and lengths are data: the CPU backend checks them, on a device they
/// are the caller's responsibility (page ids in [0, Pages), PastLens[b] + NewTokens ≤ Capacity).
/// </summary>
/// <param name="Table">Page ids [Batch·PagesPerSeq] (entries past a sequence's last page are not read).</param>
/// <param name="PastLens">Rows already cached per sequence [Batch].</param>
/// <param name="PageSize">Rows per page.</param>
/// <param name="PagesPerSeq">Table entries per sequence.</param>
public readonly record struct KvPages(IntTensor Table, IntTensor PastLens, int PageSize, int PagesPerSeq)
{
    /// <summary>True for the default value: the caches are contiguous [B, Capacity, Hkv, hd] with one PastLen.</summary>
    public bool IsEmpty => Table.IsEmpty;
}

/// <summary>Top-k over probs [Rows, Cols]: weights and indices are [Rows, K].</summary>
/// <param name="Rows">Tokens.</param>
/// <param name="Cols">Experts scored per token.</param>
/// <param name="K">Experts kept per token (1..Cols).</param>
public readonly record struct TopKShape(int Rows, int Cols, int K);

/// <summary>Expert routing: Assignments = tokens·k expert indices, each in [0, Experts).</summary>
/// <param name="Assignments">Token-slot pairs routed.</param>
/// <param name="Experts">Routed experts.</param>
public readonly record struct RouteShape(int Assignments, int Experts);

/// <summary>MoE dispatch/combine: Tokens rows of Dim features, each sent to K experts (Tokens·K assignments).</summary>
/// <param name="Tokens">Token rows.</param>
/// <param name="K">Experts per token.</param>
/// <param name="Dim">Features per row.</param>
public readonly record struct MoeShape(int Tokens, int K, int Dim)
{
    /// <summary>Tokens·K, the assignment count.</summary>
    public int Assignments => Tokens * K;
}

/// <summary>The MoE load-balancing loss over probs [Batch·SeqLen, Experts] and chosen indices [Batch·SeqLen, K].</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="SeqLen">Tokens per sequence.</param>
/// <param name="Experts">Routed experts.</param>
/// <param name="K">Experts per token.</param>
public readonly record struct AuxLossShape(int Batch, int SeqLen, int Experts, int K);
