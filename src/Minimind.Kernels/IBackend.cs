namespace Minimind.Kernels;

/// <summary>
/// Every operation MiniMind training and generation needs, over float32 row-major views.
/// Conventions (the contract both backends are tested against):
/// <list type="bullet">
/// <item>Shapes are given explicitly; a view must hold at least the elements the shape implies.</item>
/// <item>Forward ops overwrite their outputs.</item>
/// <item>Backward ops ACCUMULATE (+=) into every gradient output, activation and parameter gradients
/// alike (as llm.c does); callers zero gradient buffers with <see cref="Fill"/> first.
/// Exceptions are named in the op's doc (<see cref="CrossEntropyBackward"/>, <see cref="RopeBackward"/>).</item>
/// <item>Results are deterministic: the same inputs give the same bits on every run
/// (fixed reduction orders, no float atomics).</item>
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

    // ---- memory -------------------------------------------------------------------------------
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

    // ---- elementwise ----------------------------------------------------------------------------
    /// <summary>y = a + b over y.Length elements (y may alias a or b).</summary>
    void Add(Tensor y, Tensor a, Tensor b);
    /// <summary>y += x over y.Length elements.</summary>
    void AddInPlace(Tensor y, Tensor x);
    /// <summary>y *= s over y.Length elements.</summary>
    void Scale(Tensor y, float s);

    // ---- matmul (nn.Linear without bias) --------------------------------------------------------
    /// <summary>y[m,n] = x[m,k]·w[n,k]ᵀ, or y += that when <paramref name="accumulate"/>.</summary>
    void MatMul(Tensor y, Tensor x, Tensor w, int m, int n, int k, bool accumulate = false);
    /// <summary>dx[m,k] += dy[m,n]·w[n,k].</summary>
    void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, int m, int n, int k);
    /// <summary>dw[n,k] += dy[m,n]ᵀ·x[m,k].</summary>
    void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, int m, int n, int k);

    // ---- embedding ------------------------------------------------------------------------------
    /// <summary>y[i,:] = table[ids[i],:] for i &lt; count. Ids outside [0, vocab) throw (CPU) or are
    /// a caller error (device); the model validates ids on the host.</summary>
    void Embedding(Tensor y, IntTensor ids, Tensor table, int count, int dim);
    /// <summary>dTable[ids[i],:] += dy[i,:], summed for each token id in ascending i (deterministic).</summary>
    void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, int count, int dim);

    // ---- RMSNorm --------------------------------------------------------------------------------
    /// <summary>rstd[r] = 1/sqrt(mean(x[r]²) + eps); y[r] = x[r]·rstd[r]·weight (float32, as PyTorch).</summary>
    void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, int rows, int dim, float eps);
    /// <summary>dx += ∂/∂x, dWeight += ∂/∂weight (rows summed in a fixed order), given the saved rstd.</summary>
    void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, int rows, int dim);

    // ---- rotary embedding -----------------------------------------------------------------------
    /// <summary>Rotates x [B, T, heads, headDim] in place; token t of every sequence is at position
    /// posOffset + t and uses row (posOffset + t) of cos/sin [maxPos, headDim/2].</summary>
    void Rope(Tensor x, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout);
    /// <summary>The gradient of <see cref="Rope"/>: rotates dx in place by the inverse angle (overwrites, not +=).</summary>
    void RopeBackward(Tensor dx, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout);

    // ---- attention (causal, grouped-query, scale 1/sqrt(headDim)) ------------------------------
    /// <summary>out [B,T,H,hd] = softmax(q·kᵀ/√hd, causal)·v with query head h reading kv head h/(H/Hkv);
    /// lse [B,H,T] receives each row's log-sum-exp (of the scaled scores) for the backward.
    /// Flash-style: no T×T matrix is materialised.</summary>
    void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, int kvHeads, int headDim);
    /// <summary>dq, dk, dv += gradients of <see cref="Attention"/>; recomputes the probabilities from lse.
    /// dk/dv of a kv head sum its query heads in a fixed order.</summary>
    void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        int batch, int seqLen, int heads, int kvHeads, int headDim);
    /// <summary>Decode path: q [B, newTokens, H, hd] for positions pastLen..pastLen+newTokens-1 attends
    /// causally to kCache/vCache [B, capacity, Hkv, hd], whose first pastLen+newTokens rows are filled.</summary>
    void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, int batch, int newTokens, int pastLen, int capacity,
        int heads, int kvHeads, int headDim);
    /// <summary>Writes k/v [B, newTokens, Hkv, hd] into rows pastLen.. of the caches [B, capacity, Hkv, hd].</summary>
    void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, int batch, int newTokens, int pastLen, int capacity, int kvHeads, int headDim);

    // ---- SwiGLU FFN activation ------------------------------------------------------------------
    /// <summary>h = silu(gate)·up over h.Length elements.</summary>
    void SwiGlu(Tensor h, Tensor gate, Tensor up);
    /// <summary>dGate += dh·up·silu'(gate); dUp += dh·silu(gate).</summary>
    void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up);

    // ---- loss -----------------------------------------------------------------------------------
    /// <summary>losses[r] = logsumexp(logits[r]) − logits[r, targets[r]]; 0 where targets[r] == ignoreIndex.
    /// A target outside [0, vocab) that is not ignoreIndex throws (CPU) or yields NaN (device).</summary>
    void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, int rows, int vocab, int ignoreIndex);
    /// <summary>dLogits[r] = rowScale[r]·(softmax(logits[r]) − onehot(targets[r])), 0 for ignored rows.
    /// OVERWRITES dLogits, which may alias logits (saves one [rows, vocab] buffer).</summary>
    void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, int rows, int vocab, int ignoreIndex);

    // ---- MoE routing ----------------------------------------------------------------------------
    /// <summary>y[r] = softmax(x[r]) over cols (the gate scores).</summary>
    void Softmax(Tensor y, Tensor x, int rows, int cols);
    /// <summary>dx[r] += y[r]·(dy[r] − Σ dy[r]·y[r]).</summary>
    void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, int rows, int cols);
    /// <summary>The k largest probs of each row, in descending order, ties broken by the lower index
    /// (as torch.topk on CPU); weights [rows,k], indices [rows,k]. With <paramref name="normalize"/>,
    /// weights /= (Σ weights + 1e-20) as MiniMind's norm_topk_prob does.</summary>
    void TopK(Tensor weights, IntTensor indices, Tensor probs, int rows, int cols, int k, bool normalize);
    /// <summary>dProbs += the gradient of <see cref="TopK"/>'s weights (through the normalisation when set).</summary>
    void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, int rows, int cols, int k, bool normalize);
    /// <summary>Groups the rows·k assignments (assignment a = token·k + slot, expert indices[a]) by expert,
    /// stable in a: perm[j] = a for the j-th assignment in expert order, invPerm[a] = j.
    /// Returns the per-expert counts to the host (they size the per-expert matmuls).</summary>
    int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, int assignments, int experts);
    /// <summary>xs[j,:] = x[perm[j] / k, :] for j &lt; tokens·k: tokens copied into expert-grouped order.</summary>
    void MoeGather(Tensor xs, Tensor x, IntTensor perm, int tokens, int k, int dim);
    /// <summary>dx[t,:] += Σ_s dxs[invPerm[t·k+s], :] for s = 0..k-1 in order.</summary>
    void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, int tokens, int k, int dim);
    /// <summary>y[t,:] += Σ_s weights[t·k+s]·expertOut[invPerm[t·k+s], :] for s = 0..k-1 in order.</summary>
    void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, int tokens, int k, int dim);
    /// <summary>dExpertOut[invPerm[a]] += weights[a]·dy[a/k]; dWeights[a] += dy[a/k]·expertOut[invPerm[a]].</summary>
    void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        int tokens, int k, int dim);
    /// <summary>The load-balancing loss of <paramref name="kind"/> over probs [B·T, E] and the chosen
    /// indices [B·T, k]; returns the loss to the host and adds gradScale·∂loss/∂probs into dProbs
    /// (the counts carry no gradient, as in PyTorch). With dProbs empty only the loss is computed.</summary>
    float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, int batch, int seqLen, int experts, int k,
        float alpha, AuxLossKind kind, float gradScale);

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
