using ILGPU;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    /// <summary>counts[ch·E + e] = number of assignments in chunk ch (chunkSize consecutive a) routed to e.</summary>
    [Kernel]
    public static void MoeCountChunks(ArrayView<int> counts, ArrayView<int> indices, int n, int experts, int chunkSize)
    {
        int chunks = (n + chunkSize - 1) / chunkSize, total = chunks * experts;
        for (int e = Gid; e < total; e += GStride)
        {
            int ch = e / experts, ex = e - ch * experts, a1 = Min(n, (ch + 1) * chunkSize), cnt = 0;
            for (int a = ch * chunkSize; a < a1; a++) if (indices[a] == ex) cnt++;
            counts[e] = cnt;
        }
    }

    /// <summary>Stable counting-sort scatter: the thread of (chunk, expert) starts at offsets[ch·E + e] (from the
    /// host's scan of the counts) and writes its assignments in ascending a.</summary>
    [Kernel]
    public static void MoeScatterChunks(ArrayView<int> perm, ArrayView<int> invPerm, ArrayView<int> indices, ArrayView<int> offsets,
        int n, int experts, int chunkSize)
    {
        int chunks = (n + chunkSize - 1) / chunkSize, total = chunks * experts;
        for (int e = Gid; e < total; e += GStride)
        {
            int ch = e / experts, ex = e - ch * experts, a1 = Min(n, (ch + 1) * chunkSize), pos = offsets[e];
            for (int a = ch * chunkSize; a < a1; a++)
                if (indices[a] == ex) { perm[pos] = a; invPerm[a] = pos; pos++; }
        }
    }

    /// <summary>xs[j,:] = x[perm[j]/k, :].</summary>
    [Kernel]
    public static void MoeGather(ArrayView<float> xs, ArrayView<float> x, ArrayView<int> perm, int tokens, int k, int dim)
    {
        int n = tokens * k * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int j = e / dim, c = e - j * dim;
            xs[e] = x[perm[j] / k * dim + c];
        }
    }

    /// <summary>dx[t,:] (+)= Σ_s dxs[invPerm[t·k+s], :], slots in order (accumulate 0: overwrite).</summary>
    [Kernel]
    public static void MoeGatherBackward(ArrayView<float> dx, ArrayView<float> dxs, ArrayView<int> invPerm, int tokens, int k, int dim, int accumulate)
    {
        int n = tokens * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int t = e / dim, c = e - t * dim;
            float acc = accumulate != 0 ? dx[e] : 0f;
            for (int s = 0; s < k; s++) acc += dxs[invPerm[t * k + s] * dim + c];
            dx[e] = acc;
        }
    }

    /// <summary>y[t,:] (+)= Σ_s weights[t·k+s]·expertOut[invPerm[t·k+s], :], slots in order (accumulate 0: overwrite).</summary>
    [Kernel]
    public static void MoeCombine(ArrayView<float> y, ArrayView<float> expertOut, ArrayView<float> weights, ArrayView<int> invPerm, int tokens, int k, int dim,
        int accumulate)
    {
        int n = tokens * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int t = e / dim, c = e - t * dim;
            float acc = accumulate != 0 ? y[e] : 0f;
            for (int s = 0; s < k; s++) { int a = t * k + s; acc += weights[a] * expertOut[invPerm[a] * dim + c]; }
            y[e] = acc;
        }
    }

    /// <summary>dExpertOut[invPerm[a], c] (+)= weights[a]·dy[a/k, c] (invPerm is a permutation: no two threads share a row).</summary>
    [Kernel]
    public static void MoeCombineBackwardOut(ArrayView<float> dExpertOut, ArrayView<float> dy, ArrayView<float> weights, ArrayView<int> invPerm,
        int tokens, int k, int dim, int accumulate)
    {
        int n = tokens * k * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int a = e / dim, c = e - a * dim, at = invPerm[a] * dim + c;
            float g = weights[a] * dy[a / k * dim + c];
            dExpertOut[at] = accumulate != 0 ? dExpertOut[at] + g : g;
        }
    }

    /// <summary>dWeights[a] (+)= dy[a/k]·expertOut[invPerm[a]], one thread per assignment, ascending c.</summary>
    [Kernel]
    public static void MoeCombineBackwardWeights(ArrayView<float> dWeights, ArrayView<float> dy, ArrayView<float> expertOut, ArrayView<int> invPerm,
        int tokens, int k, int dim, int accumulate)
    {
        int n = tokens * k;
        for (int a = Gid; a < n; a += GStride)
        {
            int yb = a / k * dim, eb = invPerm[a] * dim;
            float acc = 0f;
            for (int c = 0; c < dim; c++) acc += dy[yb + c] * expertOut[eb + c];
            dWeights[a] = accumulate != 0 ? dWeights[a] + acc : acc;
        }
    }

    /// <summary>dProbs[r, e] += coef[(r / rowsPer)·E + e]: the aux-loss gradient, whose coefficients the host computed.</summary>
    [Kernel]
    public static void MoeAuxGrad(ArrayView<float> dProbs, ArrayView<float> coef, int rows, int experts, int rowsPer)
    {
        int n = rows * experts;
        for (int e = Gid; e < n; e += GStride)
        {
            int r = e / experts, ex = e - r * experts;
            dProbs[e] += coef[r / rowsPer * experts + ex];
        }
    }
}
