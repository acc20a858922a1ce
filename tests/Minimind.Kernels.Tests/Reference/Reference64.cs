using Minimind.Kernels;

namespace Minimind.Kernels.Tests.Reference;

/// <summary>
/// A float64 reference of every <see cref="IBackend"/> op, written as plainly as possible (full T×T
/// attention, full softmax rows, sorting for top-k) so that it is independent of the optimised kernels.
/// Same argument order and semantics as <see cref="IBackend"/>: forward ops overwrite, backward ops add
/// (+=) into their gradient outputs (except <see cref="CrossEntropyBackward"/> and <see cref="RopeBackward"/>,
/// which overwrite, as the contract says).
/// </summary>
public static class Reference64
{
    // ---- elementwise ----------------------------------------------------------------------------

    /// <summary>y = a + b.</summary>
    public static void Add(double[] y, double[] a, double[] b) { for (int i = 0; i < y.Length; i++) y[i] = a[i] + b[i]; }

    /// <summary>y += x.</summary>
    public static void AddInPlace(double[] y, double[] x) { for (int i = 0; i < y.Length; i++) y[i] += x[i]; }

    /// <summary>y *= s.</summary>
    public static void Scale(double[] y, double s) { for (int i = 0; i < y.Length; i++) y[i] *= s; }

    // ---- matmul ---------------------------------------------------------------------------------

    /// <summary>y[m,n] (+)= x[m,k]·w[n,k]ᵀ.</summary>
    public static void MatMul(double[] y, double[] x, double[] w, int m, int n, int k, bool accumulate = false)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += x[i * k + p] * w[j * k + p];
                y[i * n + j] = accumulate ? y[i * n + j] + s : s;
            }
    }

    /// <summary>dx[m,k] += dy[m,n]·w[n,k].</summary>
    public static void MatMulBackwardInput(double[] dx, double[] dy, double[] w, int m, int n, int k)
    {
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                double s = 0;
                for (int j = 0; j < n; j++) s += dy[i * n + j] * w[j * k + p];
                dx[i * k + p] += s;
            }
    }

    /// <summary>dw[n,k] += dy[m,n]ᵀ·x[m,k].</summary>
    public static void MatMulBackwardWeight(double[] dw, double[] dy, double[] x, int m, int n, int k)
    {
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += dy[i * n + j] * x[i * k + p];
                dw[j * k + p] += s;
            }
    }

    // ---- embedding ------------------------------------------------------------------------------

    /// <summary>y[i,:] = table[ids[i],:].</summary>
    public static void Embedding(double[] y, int[] ids, double[] table, int count, int dim)
    {
        for (int i = 0; i < count; i++) Array.Copy(table, ids[i] * dim, y, i * dim, dim);
    }

    /// <summary>dTable[ids[i],:] += dy[i,:].</summary>
    public static void EmbeddingBackward(double[] dTable, double[] dy, int[] ids, int count, int dim)
    {
        for (int i = 0; i < count; i++)
            for (int c = 0; c < dim; c++) dTable[ids[i] * dim + c] += dy[i * dim + c];
    }

    // ---- RMSNorm --------------------------------------------------------------------------------

    /// <summary>rstd[r] = 1/sqrt(mean(x[r]²)+eps); y = x·rstd·weight.</summary>
    public static void RmsNorm(double[] y, double[] rstd, double[] x, double[] weight, int rows, int dim, double eps)
    {
        for (int r = 0; r < rows; r++)
        {
            double ss = 0;
            for (int i = 0; i < dim; i++) ss += x[r * dim + i] * x[r * dim + i];
            double rs = 1.0 / Math.Sqrt(ss / dim + eps);
            rstd[r] = rs;
            for (int i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i] * rs * weight[i];
        }
    }

    /// <summary>dx += ∂/∂x, dWeight += ∂/∂weight of <see cref="RmsNorm"/> (rstd as saved by the forward).</summary>
    public static void RmsNormBackward(double[] dx, double[] dWeight, double[] dy, double[] x, double[] weight, double[] rstd, int rows, int dim)
    {
        for (int r = 0; r < rows; r++)
        {
            double rs = rstd[r], dot = 0;
            for (int i = 0; i < dim; i++) dot += dy[r * dim + i] * weight[i] * x[r * dim + i];
            for (int i = 0; i < dim; i++)
            {
                int a = r * dim + i;
                dx[a] += rs * weight[i] * dy[a] - x[a] * rs * rs * rs * dot / dim;
                dWeight[i] += dy[a] * x[a] * rs;
            }
        }
    }

    // ---- rotary embedding -----------------------------------------------------------------------

    /// <summary>cos/sin tables [maxPos, headDim/2]: angle(pos, i) = pos·theta^(−2i/headDim).</summary>
    public static (double[] Cos, double[] Sin) RopeTables(int maxPos, int headDim, double theta)
    {
        int half = headDim / 2;
        var cos = new double[maxPos * half]; var sin = new double[maxPos * half];
        for (int p = 0; p < maxPos; p++)
            for (int i = 0; i < half; i++)
            {
                double ang = p * Math.Pow(theta, -2.0 * i / headDim);
                cos[p * half + i] = Math.Cos(ang); sin[p * half + i] = Math.Sin(ang);
            }
        return (cos, sin);
    }

    /// <summary>Rotates x [B,T,heads,hd] in place by angle row posOffset + t.</summary>
    public static void Rope(double[] x, double[] cos, double[] sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout)
        => Rotate(x, cos, sin, batch, seqLen, heads, headDim, posOffset, layout, +1);

    /// <summary>The transpose of <see cref="Rope"/> (rotation by the negated angle), in place.</summary>
    public static void RopeBackward(double[] dx, double[] cos, double[] sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout)
        => Rotate(dx, cos, sin, batch, seqLen, heads, headDim, posOffset, layout, -1);

    /// <summary><see cref="Rope"/> (sign +1) or <see cref="RopeBackward"/> (sign −1) with sequence b starting at
    /// posOffset + rowStart[b].</summary>
    public static void RopeRowStart(double[] x, double[] cos, double[] sin, int batch, int seqLen, int heads, int headDim, int posOffset,
        int[] rowStart, RopeLayout layout, int sign)
    {
        int n = seqLen * heads * headDim;
        for (int b = 0; b < batch; b++)
        {
            var one = x.AsSpan(b * n, n).ToArray();
            Rotate(one, cos, sin, 1, seqLen, heads, headDim, posOffset + rowStart[b], layout, sign);
            one.CopyTo(x, b * n);
        }
    }

    private static void Rotate(double[] x, double[] cos, double[] sin, int batch, int seqLen, int heads, int headDim, int posOffset,
        RopeLayout layout, int sign)
    {
        int half = headDim / 2;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seqLen; t++)
                for (int h = 0; h < heads; h++)
                {
                    int bas = ((b * seqLen + t) * heads + h) * headDim;
                    for (int i = 0; i < half; i++)
                    {
                        double c = cos[(posOffset + t) * half + i], s = sign * sin[(posOffset + t) * half + i];
                        int i0 = layout == RopeLayout.Interleaved ? bas + 2 * i : bas + i;
                        int i1 = layout == RopeLayout.Interleaved ? i0 + 1 : i0 + half;
                        double x0 = x[i0], x1 = x[i1];
                        x[i0] = x0 * c - x1 * s;
                        x[i1] = x1 * c + x0 * s;
                    }
                }
    }

    // ---- attention ------------------------------------------------------------------------------

    /// <summary>Softmax probabilities p[0..t] of query (b, t, h) over keys 0..t (scaled scores); returns their log-sum-exp.</summary>
    private static double CausalProbabilities(double[] p, double[] q, double[] k, int b, int t, int h, int seqLen, int heads, int kvHeads, int headDim)
    {
        int T = seqLen, hd = headDim, kvh = h / (heads / kvHeads);
        double scale = 1.0 / Math.Sqrt(hd);
        int qi = ((b * T + t) * heads + h) * hd;
        double max = double.NegativeInfinity;
        for (int j = 0; j <= t; j++)
        {
            int ki = ((b * T + j) * kvHeads + kvh) * hd;
            double acc = 0;
            for (int d = 0; d < hd; d++) acc += q[qi + d] * k[ki + d];
            p[j] = acc * scale;
            max = Math.Max(max, p[j]);
        }
        double sum = 0;
        for (int j = 0; j <= t; j++) { p[j] = Math.Exp(p[j] - max); sum += p[j]; }
        for (int j = 0; j <= t; j++) p[j] /= sum;
        return max + Math.Log(sum);
    }

    /// <summary>Causal GQA attention with the full probability row; lse [B,H,T].</summary>
    public static void Attention(double[] output, double[] lse, double[] q, double[] k, double[] v, int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        int T = seqLen, H = heads, hd = headDim, rep = heads / kvHeads;
        var p = new double[T];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                {
                    int qi = ((b * T + t) * H + h) * hd;
                    lse[(b * H + h) * T + t] = CausalProbabilities(p, q, k, b, t, h, T, H, kvHeads, hd);
                    for (int d = 0; d < hd; d++) output[qi + d] = 0;
                    for (int j = 0; j <= t; j++)
                    {
                        int vi = ((b * T + j) * kvHeads + h / rep) * hd;
                        for (int d = 0; d < hd; d++) output[qi + d] += p[j] * v[vi + d];
                    }
                }
    }

    /// <summary>dq, dk, dv += gradients of <see cref="Attention"/> (probabilities recomputed from scratch).</summary>
    public static void AttentionBackward(double[] dq, double[] dk, double[] dv, double[] dOutput, double[] q, double[] k, double[] v,
        int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        int T = seqLen, H = heads, hd = headDim, rep = heads / kvHeads;
        double scale = 1.0 / Math.Sqrt(hd);
        var s = new double[T]; var dp = new double[T];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                {
                    int qi = ((b * T + t) * H + h) * hd;
                    CausalProbabilities(s, q, k, b, t, h, T, H, kvHeads, hd);
                    double pdp = 0;
                    for (int j = 0; j <= t; j++)
                    {
                        int vi = ((b * T + j) * kvHeads + h / rep) * hd;
                        double acc = 0;
                        for (int d = 0; d < hd; d++) acc += dOutput[qi + d] * v[vi + d];
                        dp[j] = acc;
                        pdp += s[j] * acc;
                    }
                    for (int j = 0; j <= t; j++)
                    {
                        int ki = ((b * T + j) * kvHeads + h / rep) * hd;
                        double ds = s[j] * (dp[j] - pdp) * scale;
                        for (int d = 0; d < hd; d++)
                        {
                            dq[qi + d] += ds * k[ki + d];
                            dk[ki + d] += ds * q[qi + d];
                            dv[ki + d] += s[j] * dOutput[qi + d];
                        }
                    }
                }
    }

    /// <summary>Decode attention of q [B,newTokens,H,hd] at positions pastLen.. against caches [B,capacity,Hkv,hd].</summary>
    public static void AttentionDecode(double[] output, double[] q, double[] kCache, double[] vCache, int batch, int newTokens, int pastLen,
        int capacity, int heads, int kvHeads, int headDim)
    {
        int H = heads, hd = headDim, rep = heads / kvHeads;
        double scale = 1.0 / Math.Sqrt(hd);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < newTokens; i++)
                for (int h = 0; h < H; h++)
                {
                    int n = pastLen + i + 1, qi = ((b * newTokens + i) * H + h) * hd;
                    var s = new double[n];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        int ki = ((b * capacity + j) * kvHeads + h / rep) * hd;
                        double acc = 0;
                        for (int d = 0; d < hd; d++) acc += q[qi + d] * kCache[ki + d];
                        s[j] = acc * scale; max = Math.Max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) { s[j] = Math.Exp(s[j] - max); sum += s[j]; }
                    for (int d = 0; d < hd; d++) output[qi + d] = 0;
                    for (int j = 0; j < n; j++)
                    {
                        int vi = ((b * capacity + j) * kvHeads + h / rep) * hd;
                        for (int d = 0; d < hd; d++) output[qi + d] += s[j] / sum * vCache[vi + d];
                    }
                }
    }

    /// <summary>Copies k/v [B,newTokens,Hkv,hd] into rows pastLen.. of the caches.</summary>
    public static void KvCacheAppend(double[] kCache, double[] vCache, double[] k, double[] v, int batch, int newTokens, int pastLen, int capacity,
        int kvHeads, int headDim)
    {
        int row = kvHeads * headDim;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < newTokens; i++)
            {
                Array.Copy(k, (b * newTokens + i) * row, kCache, (b * capacity + pastLen + i) * row, row);
                Array.Copy(v, (b * newTokens + i) * row, vCache, (b * capacity + pastLen + i) * row, row);
            }
    }

    /// <summary>Paged decode: each sequence's rows gathered from its pages [pageSize rows each, table[b·perSeq + j/pageSize]] into
    /// a contiguous cache, then <see cref="AttentionDecode"/> with that sequence's own pastLen.</summary>
    public static void AttentionDecodePaged(double[] output, double[] q, double[] kPool, double[] vPool, int[] table, int[] pastLens,
        int pageSize, int perSeq, int batch, int newTokens, int heads, int kvHeads, int headDim)
    {
        int row = kvHeads * headDim, qn = newTokens * heads * headDim;
        for (int b = 0; b < batch; b++)
        {
            int n = pastLens[b] + newTokens;
            var kc = new double[n * row]; var vc = new double[n * row];
            for (int j = 0; j < n; j++)
            {
                int src = (table[b * perSeq + j / pageSize] * pageSize + j % pageSize) * row;
                Array.Copy(kPool, src, kc, j * row, row); Array.Copy(vPool, src, vc, j * row, row);
            }
            var o = new double[qn];
            AttentionDecode(o, q.AsSpan(b * qn, qn).ToArray(), kc, vc, 1, newTokens, pastLens[b], n, heads, kvHeads, headDim);
            o.CopyTo(output, b * qn);
        }
    }

    /// <summary>Paged append: row i of sequence b goes to its cache row pastLens[b] + i, in page table[b·perSeq + j/pageSize].</summary>
    public static void KvCacheAppendPaged(double[] kPool, double[] vPool, double[] k, double[] v, int[] table, int[] pastLens, int pageSize,
        int perSeq, int batch, int newTokens, int kvHeads, int headDim)
    {
        int row = kvHeads * headDim;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < newTokens; i++)
            {
                int j = pastLens[b] + i, dst = (table[b * perSeq + j / pageSize] * pageSize + j % pageSize) * row;
                Array.Copy(k, (b * newTokens + i) * row, kPool, dst, row);
                Array.Copy(v, (b * newTokens + i) * row, vPool, dst, row);
            }
    }

    // ---- SwiGLU ---------------------------------------------------------------------------------

    private static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    /// <summary>h = silu(gate)·up.</summary>
    public static void SwiGlu(double[] h, double[] gate, double[] up)
    {
        for (int i = 0; i < h.Length; i++) h[i] = gate[i] * Sigmoid(gate[i]) * up[i];
    }

    /// <summary>dGate += dh·up·silu'(gate); dUp += dh·silu(gate).</summary>
    public static void SwiGluBackward(double[] dGate, double[] dUp, double[] dh, double[] gate, double[] up)
    {
        for (int i = 0; i < dh.Length; i++)
        {
            double s = Sigmoid(gate[i]);
            dGate[i] += dh[i] * up[i] * (s + gate[i] * s * (1 - s));
            dUp[i] += dh[i] * gate[i] * s;
        }
    }

    // ---- loss -----------------------------------------------------------------------------------

    /// <summary>losses[r] = logsumexp(logits[r]) − logits[r, t]; 0 for ignored rows.</summary>
    public static void CrossEntropy(double[] losses, double[] logits, int[] targets, int rows, int vocab, int ignoreIndex)
    {
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] == ignoreIndex) { losses[r] = 0; continue; }
            losses[r] = LogSumExp(logits, r * vocab, vocab) - logits[r * vocab + targets[r]];
        }
    }

    /// <summary>dLogits[r] = rowScale[r]·(softmax − onehot), 0 for ignored rows (overwrites).</summary>
    public static void CrossEntropyBackward(double[] dLogits, double[] logits, int[] targets, double[] rowScale, int rows, int vocab, int ignoreIndex)
    {
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] == ignoreIndex) { Array.Clear(dLogits, r * vocab, vocab); continue; }
            double lse = LogSumExp(logits, r * vocab, vocab);
            for (int c = 0; c < vocab; c++)
                dLogits[r * vocab + c] = rowScale[r] * (Math.Exp(logits[r * vocab + c] - lse) - (c == targets[r] ? 1 : 0));
        }
    }

    private static double LogSumExp(double[] x, int start, int n)
    {
        double max = double.NegativeInfinity;
        for (int i = 0; i < n; i++) max = Math.Max(max, x[start + i]);
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.Exp(x[start + i] - max);
        return max + Math.Log(s);
    }

    // ---- MoE routing ----------------------------------------------------------------------------

    /// <summary>y[r] = softmax(x[r]).</summary>
    public static void Softmax(double[] y, double[] x, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            double lse = LogSumExp(x, r * cols, cols);
            for (int c = 0; c < cols; c++) y[r * cols + c] = Math.Exp(x[r * cols + c] - lse);
        }
    }

    /// <summary>dx[r] += y[r]·(dy[r] − Σ dy[r]·y[r]).</summary>
    public static void SoftmaxBackward(double[] dx, double[] dy, double[] y, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            double dot = 0;
            for (int c = 0; c < cols; c++) dot += dy[r * cols + c] * y[r * cols + c];
            for (int c = 0; c < cols; c++) dx[r * cols + c] += y[r * cols + c] * (dy[r * cols + c] - dot);
        }
    }

    /// <summary>Top-k by a stable sort on (value descending, index ascending); optional renormalisation.</summary>
    public static void TopK(double[] weights, int[] indices, double[] probs, int rows, int cols, int k, bool normalize)
    {
        for (int r = 0; r < rows; r++)
        {
            var order = Enumerable.Range(0, cols).OrderByDescending(c => probs[r * cols + c]).ThenBy(c => c).Take(k).ToArray();
            double sum = 0;
            for (int j = 0; j < k; j++) { indices[r * k + j] = order[j]; weights[r * k + j] = probs[r * cols + order[j]]; sum += weights[r * k + j]; }
            if (normalize) for (int j = 0; j < k; j++) weights[r * k + j] /= sum + 1e-20;
        }
    }

    /// <summary>dProbs += the gradient of <see cref="TopK"/>'s weights for the given (fixed) indices.</summary>
    public static void TopKBackward(double[] dProbs, double[] dWeights, double[] probs, int[] indices, int rows, int cols, int k, bool normalize)
    {
        for (int r = 0; r < rows; r++)
        {
            double sum = 1e-20;
            for (int j = 0; j < k; j++) sum += probs[r * cols + indices[r * k + j]];
            for (int j = 0; j < k; j++)
            {
                int c = indices[r * k + j];
                if (!normalize) { dProbs[r * cols + c] += dWeights[r * k + j]; continue; }
                // ∂w_i/∂p_j = δ_ij/S − p_i/S².
                double g = 0;
                for (int i = 0; i < k; i++)
                {
                    double pi = probs[r * cols + indices[r * k + i]];
                    g += dWeights[r * k + i] * ((i == j ? 1.0 / sum : 0) - pi / (sum * sum));
                }
                dProbs[r * cols + c] += g;
            }
        }
    }

    /// <summary>Stable grouping of assignments by expert; returns the per-expert counts.</summary>
    public static int[] MoeRoute(int[] perm, int[] invPerm, int[] indices, int assignments, int experts)
    {
        var order = Enumerable.Range(0, assignments).OrderBy(a => indices[a]).ThenBy(a => a).ToArray();
        for (int j = 0; j < assignments; j++) { perm[j] = order[j]; invPerm[order[j]] = j; }
        var counts = new int[experts];
        for (int a = 0; a < assignments; a++) counts[indices[a]]++;
        return counts;
    }

    /// <summary>xs[j,:] = x[perm[j]/k,:].</summary>
    public static void MoeGather(double[] xs, double[] x, int[] perm, int tokens, int k, int dim)
    {
        for (int j = 0; j < tokens * k; j++) Array.Copy(x, perm[j] / k * dim, xs, j * dim, dim);
    }

    /// <summary>dx[t,:] += Σ_s dxs[invPerm[t·k+s],:].</summary>
    public static void MoeGatherBackward(double[] dx, double[] dxs, int[] invPerm, int tokens, int k, int dim)
    {
        for (int t = 0; t < tokens; t++)
            for (int s = 0; s < k; s++)
                for (int c = 0; c < dim; c++) dx[t * dim + c] += dxs[invPerm[t * k + s] * dim + c];
    }

    /// <summary>y[t,:] += Σ_s weights[t·k+s]·expertOut[invPerm[t·k+s],:].</summary>
    public static void MoeCombine(double[] y, double[] expertOut, double[] weights, int[] invPerm, int tokens, int k, int dim)
    {
        for (int t = 0; t < tokens; t++)
            for (int s = 0; s < k; s++)
                for (int c = 0; c < dim; c++) y[t * dim + c] += weights[t * k + s] * expertOut[invPerm[t * k + s] * dim + c];
    }

    /// <summary>dExpertOut[invPerm[a]] += weights[a]·dy[a/k]; dWeights[a] += dy[a/k]·expertOut[invPerm[a]].</summary>
    public static void MoeCombineBackward(double[] dExpertOut, double[] dWeights, double[] dy, double[] expertOut, double[] weights, int[] invPerm,
        int tokens, int k, int dim)
    {
        for (int a = 0; a < tokens * k; a++)
        {
            int j = invPerm[a], t = a / k;
            for (int c = 0; c < dim; c++)
            {
                dExpertOut[j * dim + c] += weights[a] * dy[t * dim + c];
                dWeights[a] += dy[t * dim + c] * expertOut[j * dim + c];
            }
        }
    }

    /// <summary>The load-balancing loss written as MiniMind's Python does (scatter_add counts, one-hot means);
    /// adds gradScale·∂loss/∂probs into dProbs when it is not null.</summary>
    public static double MoeAuxLoss(double[]? dProbs, double[] probs, int[] indices, int batch, int seqLen, int experts, int k,
        double alpha, AuxLossKind kind, double gradScale)
    {
        int n = batch * seqLen, E = experts;
        switch (kind)
        {
            case AuxLossKind.None:
                return 0;
            case AuxLossKind.SequenceLevel:
            {
                // ce[b,e] = scatter_add of ones / (T·k/E); aux = (ce · probs.mean(dim=1)).sum(1).mean() · alpha
                double loss = 0;
                for (int b = 0; b < batch; b++)
                {
                    var ce = new double[E];
                    for (int i = 0; i < seqLen * k; i++) ce[indices[b * seqLen * k + i]] += 1;
                    for (int e = 0; e < E; e++) ce[e] /= (double)seqLen * k / E;
                    for (int e = 0; e < E; e++)
                    {
                        double mean = 0;
                        for (int t = 0; t < seqLen; t++) mean += probs[(b * seqLen + t) * E + e];
                        mean /= seqLen;
                        loss += ce[e] * mean / batch * alpha;
                        if (dProbs != null)
                            for (int t = 0; t < seqLen; t++) dProbs[(b * seqLen + t) * E + e] += gradScale * alpha * ce[e] / seqLen / batch;
                    }
                }
                return loss;
            }
            case AuxLossKind.TokenLevel:
            case AuxLossKind.MiniMind3:
            {
                // TokenLevel: ce = one_hot(idx.view(-1)).mean(0), fi = ce·E. MiniMind3: load = one_hot(idx).mean(0) [k,E], summed over k.
                var f = new double[E];
                for (int a = 0; a < n * k; a++) f[indices[a]] += 1;
                double denom = kind == AuxLossKind.TokenLevel ? (double)n * k : n;
                double loss = 0;
                for (int e = 0; e < E; e++)
                {
                    double fi = f[e] / denom * E;
                    double pi = 0;
                    for (int t = 0; t < n; t++) pi += probs[t * E + e];
                    pi /= n;
                    loss += pi * fi * alpha;
                    if (dProbs != null)
                        for (int t = 0; t < n; t++) dProbs[t * E + e] += gradScale * alpha * fi / n;
                }
                return loss;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    // ---- optimizer ------------------------------------------------------------------------------

    /// <summary>Σ g² in float64.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> g)
    {
        double s = 0;
        foreach (float x in g) s += (double)x * x;
        return s;
    }

    /// <summary>torch.optim.AdamW's update in float64.</summary>
    public static void AdamW(double[] param, double[] grad, double[] m, double[] v, double lr, double beta1, double beta2, double eps,
        double weightDecay, long step, double gradScale)
    {
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        for (int i = 0; i < param.Length; i++)
        {
            double g = grad[i] * gradScale;
            param[i] *= 1 - lr * weightDecay;
            m[i] = beta1 * m[i] + (1 - beta1) * g;
            v[i] = beta2 * v[i] + (1 - beta2) * g * g;
            param[i] -= lr / bc1 * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(bc2) + eps);
        }
    }
}
