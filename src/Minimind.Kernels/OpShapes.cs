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

/// <summary>Decode attention: q [B, NewTokens, H, hd] at positions PastLen.. against KV caches
/// [B, Capacity, Hkv, hd] whose first PastLen + NewTokens rows are filled.</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="NewTokens">Query tokens per sequence in this call.</param>
/// <param name="PastLen">Tokens already in the cache.</param>
/// <param name="Capacity">Rows the cache holds per sequence.</param>
/// <param name="Heads">Query heads (a multiple of <paramref name="KvHeads"/>).</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="HeadDim">Width of one head.</param>
/// <param name="Precision">Operand precision (autocast): q and the cached k, v are read rounded to it.</param>
public readonly record struct DecodeShape(int Batch, int NewTokens, int PastLen, int Capacity, int Heads, int KvHeads, int HeadDim,
    Precision Precision = Precision.Fp32);

/// <summary>Rotary embedding of x [B, T, Heads, hd]: token t uses table row PosOffset + t of cos/sin [maxPos, hd/2].</summary>
/// <param name="Batch">Sequences.</param>
/// <param name="SeqLen">Tokens per sequence.</param>
/// <param name="Heads">Heads rotated (query or kv heads).</param>
/// <param name="HeadDim">Width of one head (even).</param>
/// <param name="PosOffset">Position of the first token.</param>
/// <param name="Layout">How the pairs are formed.</param>
public readonly record struct RopeShape(int Batch, int SeqLen, int Heads, int HeadDim, int PosOffset, RopeLayout Layout);

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
