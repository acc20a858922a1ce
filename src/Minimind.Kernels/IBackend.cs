namespace Minimind.Kernels;

/// <summary>
/// Every operation MiniMind training and generation needs, over float32 row-major views.
/// The contract both backends are tested against:
/// <list type="bullet">
/// <item>Sizes come as shape records (<see cref="GemmShape"/>, <see cref="RowShape"/>, <see cref="AttnShape"/>,
/// <see cref="DecodeShape"/> with <see cref="KvPages"/>, <see cref="RopeShape"/>, <see cref="TopKShape"/>, <see cref="RouteShape"/>,
/// <see cref="MoeShape"/>, <see cref="AuxLossShape"/>); a view must hold at least the elements the shape implies.</item>
/// <item>Arguments are checked by <see cref="OpContract"/> before any work, so a bad argument raises the same
/// exception text on every backend: <see cref="CheckedBackend"/> runs the checks, and skips ops with no output elements,
/// around every backend (the CPU and ILGPU backends are that decorator around their kernels). What a backend cannot run
/// is stated in <see cref="Limits"/> (e.g. the largest head dim); models check it at construction.</item>
/// <item>Forward ops overwrite their outputs (<see cref="MatMul"/> and <see cref="MoeCombine"/> take a <see cref="WriteMode"/>).</item>
/// <item>Backward ops take a <see cref="WriteMode"/> for their input gradients: <see cref="WriteMode.Overwrite"/>
/// never reads the output (no zeroing pass needed), <see cref="WriteMode.Accumulate"/> adds (residual branches,
/// several consumers of one activation). Parameter gradients that a shape record cannot split
/// (<see cref="EmbeddingBackward"/>'s table, <see cref="RmsNormBackward"/>'s dWeight, <see cref="MoeAuxLoss"/>'s dProbs)
/// always accumulate, so micro-batches and tied weights sum. <see cref="CrossEntropyBackward"/> always overwrites;
/// <see cref="RopeBackward"/> works in place.</item>
/// <item>Precision (torch.autocast): <see cref="GemmShape"/>, <see cref="AttnShape"/> and <see cref="DecodeShape"/> carry a
/// <see cref="Kernels.Precision"/>. At bf16/fp16 the op rounds its input operands to that format (nearest, ties to even,
/// <see cref="PrecisionRounding"/>) and accumulates in float32; outputs are float32. The backward ops round the same
/// operands the forward did plus the incoming gradient (autocast's backward multiplies the bf16 grad by the bf16
/// tensors it saved). The rounding lives in the ops, not the model, so every backend rounds at the same points;
/// a backend without <see cref="BackendLimits.ReducedPrecision"/> refuses such shapes. <see cref="KvCacheAppend"/>
/// stores rounded rows, so <see cref="AttentionDecode"/> rounds only q. All other ops are float32 whatever the model's precision.</item>
/// <item>Results are deterministic: the same inputs give the same bits on every run
/// (fixed reduction orders, no float atomics); overwrite and zero-then-accumulate give the same values.</item>
/// <item>Ops may run asynchronously; <see cref="Download(Tensor, Span{float})"/> and the ops returning host values synchronise.</item>
/// </list>
/// Layouts: activations are [B, T, ...] with B·T = "rows"; attention q is [B, T, H, hd],
/// k and v are [B, T, Hkv, hd]; weights are stored as PyTorch's nn.Linear does, [out, in].
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Short backend id: "cpu", "ilgpu-cpu" or "cuda".</summary>
    string Name { get; }
    /// <summary>Human-readable device description printed at start-up.</summary>
    string DeviceName { get; }
    /// <summary>What this backend can run (e.g. the largest attention head dim); <see cref="OpContract"/> enforces it.</summary>
    BackendLimits Limits { get; }
    /// <summary>How this backend's buffers cross ranks under mpirun (host memory in place, or NCCL between devices).</summary>
    Distributed.IRankTransport Transport { get; }

    // ---- memory -------------------------------------------------------------------------------
    /// <summary>The bytes this backend's buffers hold now and at most (peak memory of a run, e.g. <c>bench grpo-memory</c>).</summary>
    BufferTally Memory { get; }
    /// <summary>Allocates a zero-filled float32 buffer of <paramref name="length"/> elements.</summary>
    Tensor Alloc(long length);
    /// <summary>Allocates a zero-filled int32 buffer of <paramref name="length"/> elements.</summary>
    IntTensor AllocInt(long length);
    /// <summary>Copies host data into the start of <paramref name="dst"/>.</summary>
    void Upload(Tensor dst, ReadOnlySpan<float> src);
    /// <summary>Copies host data into the start of <paramref name="dst"/>.</summary>
    void Upload(IntTensor dst, ReadOnlySpan<int> src);
    /// <summary>Copies the start of <paramref name="src"/> to host memory (synchronises).</summary>
    void Download(Tensor src, Span<float> dst);
    /// <summary>Copies the start of <paramref name="src"/> to host memory (synchronises).</summary>
    void Download(IntTensor src, Span<int> dst);
    /// <summary>Sets every element of <paramref name="t"/> to <paramref name="value"/>.</summary>
    void Fill(Tensor t, float value);
    /// <summary>dst = src (equal lengths).</summary>
    void Copy(Tensor dst, Tensor src);
    /// <summary>Waits for queued work to finish.</summary>
    void Synchronize();
    /// <summary>Says that <paramref name="weights"/>' buffer holds weights that <see cref="MatMul"/> and
    /// <see cref="MatMulBackwardInput"/> read as w many times between writes, so the backend may keep a form of them
    /// derived for its matmuls (the CPU backend's packed panels). Results do not change: a derived form is used only while
    /// nothing has written the buffer since it was made (every op, upload and host view that writes a buffer counts).
    /// <paramref name="frozen"/>: the caller does not expect to write the weights again (inference), so the derived form
    /// is made and kept at a layout's first use rather than its second (a write still invalidates it).</summary>
    void KeepWeights(Tensor weights, bool frozen = false);

    // ---- elementwise ----------------------------------------------------------------------------
    /// <summary>y = a + b over y.Length elements (y may alias a or b).</summary>
    void Add(Tensor y, Tensor a, Tensor b);
    /// <summary>y += x over y.Length elements.</summary>
    void AddInPlace(Tensor y, Tensor x);
    /// <summary>y *= s over y.Length elements.</summary>
    void Scale(Tensor y, float s);

    // ---- matmul (nn.Linear without bias) --------------------------------------------------------
    /// <summary>y[M,N] = x[M,K]·w[N,K]ᵀ (or y += that with <see cref="WriteMode.Accumulate"/>). Row i of y has the same bits
    /// whatever M is (batch invariance: a sequence decoded alone or beside others gets the same logits).</summary>
    void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite);
    /// <summary>dx[M,K] (+)= dy[M,N]·w[N,K].</summary>
    void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode);
    /// <summary>dw[N,K] (+)= dy[M,N]ᵀ·x[M,K].</summary>
    void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode);

    // ---- embedding ------------------------------------------------------------------------------
    /// <summary>y[i,:] = table[ids[i],:] for i &lt; s.Rows (s.Dim = embedding width). Ids outside [0, vocab) throw (CPU) or are
    /// a caller error (device); the model validates ids on the host.</summary>
    void Embedding(Tensor y, IntTensor ids, Tensor table, RowShape s);
    /// <summary>dTable[ids[i],:] += dy[i,:], summed for each token id in ascending i (deterministic; always accumulates).</summary>
    void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, RowShape s);

    // ---- RMSNorm --------------------------------------------------------------------------------
    /// <summary>rstd[r] = 1/sqrt(mean(x[r]²) + eps); y[r] = x[r]·rstd[r]·weight (float32, as PyTorch).</summary>
    void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, RowShape s, float eps);
    /// <summary>dx (+)= ∂/∂x per <paramref name="mode"/>; dWeight += ∂/∂weight (rows summed in a fixed order; always
    /// accumulates), given the saved rstd.</summary>
    void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape s, WriteMode mode);
    /// <summary>Fused residual add + RMSNorm (one pass, one launch): h = x + branch, then y, rstd = <see cref="RmsNorm"/> of h.
    /// The same bits as <see cref="Add"/> then <see cref="RmsNorm"/> (same float32 operations in the same order). h may alias x
    /// or branch. Its backward is <see cref="RmsNormBackward"/> accumulating into the residual stream's gradient: the add
    /// passes the gradient through unchanged, so the backward has no add to fuse.</summary>
    void AddRmsNorm(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor branch, Tensor weight, RowShape s, float eps);

    // ---- rotary embedding -----------------------------------------------------------------------
    /// <summary>Rotates x [B, T, heads, headDim] in place; token t of every sequence is at position
    /// PosOffset + t and uses row (PosOffset + t) of cos/sin [maxPos, headDim/2]. With <paramref name="rowStart"/> ([B] ints)
    /// sequence b starts at PosOffset + rowStart[b] instead: rows of one batch at their own positions (a decode batch of
    /// sequences of different lengths; MiniMind's left-padded rows, whose first real token sits after the pads).</summary>
    void Rope(Tensor x, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default);
    /// <summary>The gradient of <see cref="Rope"/>: rotates dx in place by the inverse angle (same positions).</summary>
    void RopeBackward(Tensor dx, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default);
    /// <summary>Fused per-head RMSNorm + RoPE (minimind-3's q_norm/k_norm then the rotation; one launch): for every row
    /// (b, t, head) of x [B, T, heads, headDim], rstd[row] and y = Rope(x·rstd·weight) with s's positions, the same bits as
    /// <see cref="RmsNorm"/> over rows of headDim then <see cref="Rope"/> on y. y must not alias x. Its backward is
    /// <see cref="RopeRmsNormBackward"/> (y is what attention saw; x and rstd are what the norm's backward needs).</summary>
    void RmsNormRope(Tensor y, Tensor rstd, Tensor x, Tensor weight, Tensor cos, Tensor sin, RopeShape s, float eps, IntTensor rowStart = default);
    /// <summary>The backward of <see cref="RmsNormRope"/>: rotates dy back in place (as <see cref="RopeBackward"/>), then
    /// <see cref="RmsNormBackward"/> over the rows of headDim (dx per <paramref name="mode"/>, dWeight accumulates), in one
    /// launch fewer and with the same bits as the two ops. dy holds the rotated-back gradient afterwards.</summary>
    void RopeRmsNormBackward(NormGradients grads, Tensor dy, NormSaved saved, Tensor cos, Tensor sin, RopeShape s, WriteMode mode,
        IntTensor rowStart = default);

    // ---- attention (causal, grouped-query, scale 1/sqrt(headDim)) ------------------------------
    /// <summary>out [B,T,H,hd] = softmax(q·kᵀ/√hd, causal)·v with query head h reading kv head h/(H/Hkv);
    /// lse [B,H,T] receives each row's log-sum-exp (of the scaled scores) for the backward.
    /// Flash-style: no T×T matrix is materialised.</summary>
    void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape s);
    /// <summary>dq, dk, dv (+)= gradients of <see cref="Attention"/>; recomputes the probabilities from lse.
    /// dk/dv of a kv head sum its query heads in a fixed order.</summary>
    void AttentionBackward(AttentionGradients grads, Tensor dOutput, AttentionSaved saved, AttnShape s, WriteMode mode);
    /// <summary>Decode path: q [B, NewTokens, H, hd] for cache rows PastLen..PastLen+NewTokens-1 attends
    /// causally to kCache/vCache [B, Capacity, Hkv, hd], whose first PastLen+NewTokens rows are filled. With
    /// <paramref name="pages"/> the caches are a paged pool and sequence b has its own length (<see cref="KvPages"/>).
    /// Each (sequence, token, head) row is computed alone, keys in ascending order, so its bits do not depend on the
    /// batch it runs in.</summary>
    void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape s, KvPages pages = default);
    /// <summary>Writes k/v [B, NewTokens, Hkv, hd] into rows PastLen.. of the caches [B, Capacity, Hkv, hd] (with
    /// <paramref name="pages"/>: into rows PastLens[b].. of sequence b's pages).</summary>
    void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape s, KvPages pages = default);

    // ---- SwiGLU FFN activation ------------------------------------------------------------------
    /// <summary>h = silu(gate)·up over h.Length elements.</summary>
    void SwiGlu(Tensor h, Tensor gate, Tensor up);
    /// <summary>dGate (+)= dh·up·silu'(gate); dUp (+)= dh·silu(gate).</summary>
    void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up, WriteMode mode);

    // ---- loss -----------------------------------------------------------------------------------
    /// <summary>losses[r] = logsumexp(logits[r]) − logits[r, targets[r]]; 0 where targets[r] == ignoreIndex.
    /// A target outside [0, vocab) that is not ignoreIndex throws (CPU) or yields NaN (device).</summary>
    void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, RowShape s, int ignoreIndex);
    /// <summary>dLogits[r] = rowScale[r]·(softmax(logits[r]) − onehot(targets[r])), 0 for ignored rows.
    /// OVERWRITES dLogits, which may alias logits (saves one [rows, vocab] buffer).</summary>
    void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex);
    /// <summary>Fused loss for training: losses as <see cref="CrossEntropy"/> and dLogits as <see cref="CrossEntropyBackward"/> in one
    /// pass over the logits (each row's max and Σexp computed once instead of twice), with the same bits as the two ops.
    /// OVERWRITES dLogits, which may alias logits (each row's target logit is read before the row is overwritten).</summary>
    void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex);

    // ---- MoE routing ----------------------------------------------------------------------------
    /// <summary>y[r] = softmax(x[r]) over cols (the gate scores).</summary>
    void Softmax(Tensor y, Tensor x, RowShape s);
    /// <summary>dx[r] (+)= y[r]·(dy[r] − Σ dy[r]·y[r]).</summary>
    void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, RowShape s, WriteMode mode);
    /// <summary>The k largest probs of each row, in descending order, ties broken by the lower index
    /// (as torch.topk on CPU); weights [rows,k], indices [rows,k]. With <paramref name="normalize"/>,
    /// weights /= (Σ weights + 1e-20) as MiniMind's norm_topk_prob does.</summary>
    void TopK(Tensor weights, IntTensor indices, Tensor probs, TopKShape s, bool normalize);
    /// <summary>dProbs (+)= the gradient of <see cref="TopK"/>'s weights (through the normalisation when set);
    /// with <see cref="WriteMode.Overwrite"/> the unchosen entries of each row are set to 0.</summary>
    void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, TopKShape s, bool normalize, WriteMode mode);
    /// <summary>Groups the rows·k assignments (assignment a = token·k + slot, expert indices[a]) by expert,
    /// stable in a: perm[j] = a for the j-th assignment in expert order, invPerm[a] = j.
    /// Returns the per-expert counts to the host (they size the per-expert matmuls).</summary>
    int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, RouteShape s);
    /// <summary>xs[j,:] = x[perm[j] / k, :] for j &lt; tokens·k: tokens copied into expert-grouped order.</summary>
    void MoeGather(Tensor xs, Tensor x, IntTensor perm, MoeShape s);
    /// <summary>dx[t,:] (+)= Σ_s dxs[invPerm[t·k+s], :] for s = 0..k-1 in order.</summary>
    void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, MoeShape s, WriteMode mode);
    /// <summary>y[t,:] (+)= Σ_s weights[t·k+s]·expertOut[invPerm[t·k+s], :] for s = 0..k-1 in order.</summary>
    void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, MoeShape s, WriteMode mode);
    /// <summary>dExpertOut[invPerm[a]] (+)= weights[a]·dy[a/k]; dWeights[a] (+)= dy[a/k]·expertOut[invPerm[a]].</summary>
    void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        MoeShape s, WriteMode mode);
    /// <summary>The load-balancing loss of <paramref name="kind"/> over probs [B·T, E] and the chosen
    /// indices [B·T, k]; returns the loss to the host and adds gradScale·∂loss/∂probs into dProbs
    /// (the counts carry no gradient, as in PyTorch). With dProbs empty only the loss is computed.</summary>
    float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, AuxLossShape s, float alpha, AuxLossKind kind, float gradScale);

    // ---- optimizer ------------------------------------------------------------------------------
    /// <summary>Σ g² over the view, accumulated in float64 in a fixed order, returned to the host.
    /// The global grad norm is sqrt of this over the flat gradient buffer.</summary>
    double SumOfSquares(Tensor g);
    /// <summary>PyTorch's AdamW (torch.optim.AdamW, single-tensor path) over flat buffers:
    /// p *= 1 − lr·wd; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
    /// p −= lr/(1−β1^step) · m / (sqrt(v)/sqrt(1−β2^step) + eps). step is 1-based.
    /// <paramref name="gradScale"/> multiplies g first (grad clipping without a separate pass).</summary>
    void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay,
        long step, float gradScale);
}
