using ILGPU;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    /// <summary>RMSNorm forward: one group per row (power-of-two size ≤ <see cref="MaxRowGroup"/>), the sum of
    /// squares reduced by a fixed tree.</summary>
    [Kernel]
    public static void RmsNorm(ArrayView<float> y, ArrayView<float> rstd, ArrayView<float> x, ArrayView<float> w, int rows, int dim, float eps)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int bas = r * dim;
            float rs = RowRstd(sh, x, bas, dim, eps);
            if (tid == 0) rstd[r] = rs;
            for (int c = tid; c < dim; c += Group.DimX) y[bas + c] = x[bas + c] * rs * w[c];
        }
    }

    // 1/sqrt(mean of squares + eps) from every thread's partial sum of squares (the same tree for every norm kernel).
    private static float Rstd(ArrayView<float> sh, float sumSq, int dim, float eps) => 1f / MathF.Sqrt(GroupSum(sh, sumSq) / dim + eps);

    // Rstd of the row x[bas .. bas + dim), each thread summing the columns tid, tid + group, ...
    private static float RowRstd(ArrayView<float> sh, ArrayView<float> x, int bas, int dim, float eps)
    {
        float ss = 0f;
        for (int c = Group.IdxX; c < dim; c += Group.DimX) { float xv = x[bas + c]; ss += xv * xv; }
        return Rstd(sh, ss, dim, eps);
    }

    /// <summary>Residual add + RMSNorm: h = x + b, then <see cref="RmsNorm"/> of h, one group per row. Each thread reads back only
    /// the h it wrote, so h may alias x or b; the sums run in RmsNorm's order (same bits as Add then RmsNorm).</summary>
    [Kernel]
    public static void AddRmsNorm(ArrayView<float> h, ArrayView<float> y, ArrayView<float> rstd, ArrayView<float> x, ArrayView<float> b,
        ArrayView<float> w, int rows, int dim, float eps)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int bas = r * dim;
            float ss = 0f;
            for (int c = tid; c < dim; c += Group.DimX) { float hv = x[bas + c] + b[bas + c]; h[bas + c] = hv; ss += hv * hv; }
            float rs = Rstd(sh, ss, dim, eps);
            if (tid == 0) rstd[r] = rs;
            for (int c = tid; c < dim; c += Group.DimX) y[bas + c] = h[bas + c] * rs * w[c];
        }
    }

    /// <summary>Per-head RMSNorm then RoPE (q/k norm of minimind-3): one group per (b, t, head) row, the sum of squares in
    /// RmsNorm's order, then each thread normalises and rotates whole pairs (so it reads only x: no barrier before the
    /// writes). The expressions of RmsNorm and Rope on the same values, so the same bits as the two kernels.</summary>
    [Kernel]
    public static void RmsNormRope(ArrayView<float> y, ArrayView<float> rstd, ArrayView<float> x, ArrayView<float> w,
        ArrayView<float> cos, ArrayView<float> sin, ArrayView<int> rowStart, RopeArgs s, float eps)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX, hd = s.Hd, half = hd / 2, rows = s.B * s.T * s.H;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int bas = r * hd;
            float rs = RowRstd(sh, x, bas, hd, eps);
            if (tid == 0) rstd[r] = rs;
            int tab = s.Position(r, rowStart) * half;
            for (int i = tid; i < half; i += Group.DimX)
            {
                int j0 = s.Interleaved != 0 ? 2 * i : i;
                int j1 = s.Interleaved != 0 ? j0 + 1 : j0 + half;
                float c = cos[tab + i], sn = s.Sign * sin[tab + i];
                float y0 = x[bas + j0] * rs * w[j0], y1 = x[bas + j1] * rs * w[j1];
                y[bas + j0] = y0 * c - y1 * sn;
                y[bas + j1] = y1 * c + y0 * sn;
            }
        }
    }

    /// <summary>dx (+)= rstd·w·dy − x·rstd³·(Σ dy·w·x)/dim, one group per row (accumulate 0: overwrite).</summary>
    [Kernel]
    public static void RmsNormBackwardInput(ArrayView<float> dx, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> w,
        ArrayView<float> rstd, int rows, int dim, int accumulate)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX) NormInputRow(sh, dx, dy, x, w, rstd, r, dim, accumulate);
    }

    // dx (+)= the RMSNorm input gradient of row r (the group's fixed tree for Σ dy·w·x).
    private static void NormInputRow(ArrayView<float> sh, ArrayView<float> dx, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> w,
        ArrayView<float> rstd, int r, int dim, int accumulate)
    {
        int tid = Group.IdxX, bas = r * dim;
        float dot = 0f;
        for (int c = tid; c < dim; c += Group.DimX) dot += dy[bas + c] * w[c] * x[bas + c];
        float tot = GroupSum(sh, dot);
        float rs = rstd[r];
        float coef = rs * rs * rs * tot / dim;
        for (int c = tid; c < dim; c += Group.DimX)
        {
            float g = rs * w[c] * dy[bas + c] - x[bas + c] * coef;
            dx[bas + c] = accumulate != 0 ? dx[bas + c] + g : g;
        }
    }

    /// <summary>The backward of <see cref="RmsNormRope"/>, input part: per (b, t, head) row, dy rotated back in place
    /// (<see cref="Rope"/>'s expressions with sign −1), a group barrier, then <see cref="RmsNormBackwardInput"/>'s row, so the
    /// same bits as the two kernels; the dWeight kernels then read the rotated-back dy.</summary>
    [Kernel]
    public static void RopeRmsNormBackwardInput(ArrayView<float> dx, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> w,
        ArrayView<float> rstd, ArrayView<float> cos, ArrayView<float> sin, ArrayView<int> rowStart, RopeArgs s, int accumulate)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX, hd = s.Hd, half = hd / 2, rows = s.B * s.T * s.H;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int bas = r * hd, tab = s.Position(r, rowStart) * half;
            for (int i = tid; i < half; i += Group.DimX)
            {
                int i0 = s.Interleaved != 0 ? bas + 2 * i : bas + i;
                int i1 = s.Interleaved != 0 ? i0 + 1 : i0 + half;
                float c = cos[tab + i], sn = s.Sign * sin[tab + i];
                float x0 = dy[i0], x1 = dy[i1];
                dy[i0] = x0 * c - x1 * sn;
                dy[i1] = x1 * c + x0 * sn;
            }
            Group.Barrier();
            NormInputRow(sh, dx, dy, x, w, rstd, r, hd, accumulate);
        }
    }

    /// <summary>partial[chunk, c] = Σ dy[r,c]·x[r,c]·rstd[r] over the chunk's rows in ascending order
    /// (chunk = ⌈rows/chunks⌉ consecutive rows); <see cref="ReduceChunksInto"/> then adds the chunks in order.</summary>
    [Kernel]
    public static void RmsNormWeightPartials(ArrayView<float> partial, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> rstd,
        int rows, int dim, int chunks)
    {
        int per = (rows + chunks - 1) / chunks, n = chunks * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int ch = e / dim, c = e - ch * dim;
            int r1 = Min(rows, (ch + 1) * per);
            float acc = 0f;
            for (int r = ch * per; r < r1; r++) acc += dy[r * dim + c] * x[r * dim + c] * rstd[r];
            partial[e] = acc;
        }
    }

    /// <summary>dst[c] += Σ_ch partial[ch, c], chunks in ascending order.</summary>
    [Kernel]
    public static void ReduceChunksInto(ArrayView<float> dst, ArrayView<float> partial, int dim, int chunks)
    {
        for (int c = Gid; c < dim; c += GStride)
        {
            float acc = 0f;
            for (int ch = 0; ch < chunks; ch++) acc += partial[ch * dim + c];
            dst[c] += acc;
        }
    }

    /// <summary>A row's max and Σ exp(x − max).</summary>
    private readonly struct MaxSumExp
    {
        public readonly float Max, SumExp;
        public MaxSumExp(float max, float sumExp) { Max = max; SumExp = sumExp; }
    }

    // Max and Σexp of x[bas .. bas + n) over the group, each by the fixed trees of GroupMax/GroupSum, so the forward
    // and the backward of cross-entropy see the same bits.
    private static MaxSumExp RowMaxSumExp(ArrayView<float> sh, ArrayView<float> x, long bas, int n)
    {
        int tid = Group.IdxX;
        float mx = float.NegativeInfinity;
        for (int c = tid; c < n; c += Group.DimX) mx = Max(mx, x[bas + c]);
        mx = GroupMax(sh, mx);
        float se = 0f;
        for (int c = tid; c < n; c += Group.DimX) se += MathF.Exp(x[bas + c] - mx);
        return new MaxSumExp(mx, GroupSum(sh, se));
    }

    /// <summary>losses[r] = logsumexp(logits[r]) − logits[r, target]; 0 when ignored; NaN for a target outside
    /// [0, vocab). One group per row; max and Σexp reduced by fixed trees.</summary>
    [Kernel]
    public static void CrossEntropy(ArrayView<float> losses, ArrayView<float> logits, ArrayView<int> targets, int rows, int vocab, int ignoreIndex)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int tg = targets[r];
            if (tg == ignoreIndex) { if (tid == 0) losses[r] = 0f; continue; }
            long bas = (long)r * vocab;
            var ms = RowMaxSumExp(sh, logits, bas, vocab);
            if (tid == 0) losses[r] = tg >= 0 && tg < vocab ? ms.Max + MathF.Log(ms.SumExp) - logits[bas + tg] : float.NaN;
        }
    }

    /// <summary>dLogits[r] = rowScale[r]·(softmax(logits[r]) − onehot(target)); overwrites; dLogits may alias logits
    /// (every element is read by the thread that writes it, after the row's reductions).</summary>
    [Kernel]
    public static void CrossEntropyBackward(ArrayView<float> dLogits, ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> rowScale,
        int rows, int vocab, int ignoreIndex)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int tg = targets[r];
            long bas = (long)r * vocab;
            if (tg == ignoreIndex)
            {
                for (int c = tid; c < vocab; c += Group.DimX) dLogits[bas + c] = 0f;
                continue;
            }
            var ms = RowMaxSumExp(sh, logits, bas, vocab);
            float scale = rowScale[r];
            float f = tg >= 0 && tg < vocab ? scale / ms.SumExp : float.NaN;
            for (int c = tid; c < vocab; c += Group.DimX)
                dLogits[bas + c] = MathF.Exp(logits[bas + c] - ms.Max) * f - (c == tg ? scale : 0f);
        }
    }

    /// <summary><see cref="CrossEntropy"/> and <see cref="CrossEntropyBackward"/> in one pass (one max and Σexp per row, same
    /// expressions, so the same bits). dLogits may alias logits: the reductions end on a barrier before any write, and the
    /// thread that owns the target's column reads the target logit (for the loss) before it overwrites it.</summary>
    [Kernel]
    public static void CrossEntropyForwardBackward(ArrayView<float> losses, ArrayView<float> dLogits, ArrayView<float> logits, ArrayView<int> targets,
        ArrayView<float> rowScale, int rows, int vocab, int ignoreIndex)
    {
        var sh = SharedMemory.Allocate<float>(MaxRowGroup);
        int tid = Group.IdxX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            int tg = targets[r];
            long bas = (long)r * vocab;
            if (tg == ignoreIndex)
            {
                if (tid == 0) losses[r] = 0f;
                for (int c = tid; c < vocab; c += Group.DimX) dLogits[bas + c] = 0f;
                continue;
            }
            var ms = RowMaxSumExp(sh, logits, bas, vocab);
            bool valid = tg >= 0 && tg < vocab;
            if (valid ? tg % Group.DimX == tid : tid == 0)
                losses[r] = valid ? ms.Max + MathF.Log(ms.SumExp) - logits[bas + tg] : float.NaN;
            float scale = rowScale[r];
            float f = valid ? scale / ms.SumExp : float.NaN;
            for (int c = tid; c < vocab; c += Group.DimX)
                dLogits[bas + c] = MathF.Exp(logits[bas + c] - ms.Max) * f - (c == tg ? scale : 0f);
        }
    }

    /// <summary>y[r] = softmax(x[r]), one thread per row (MoE gates have few columns).</summary>
    [Kernel]
    public static void Softmax(ArrayView<float> y, ArrayView<float> x, int rows, int cols)
    {
        for (int r = Gid; r < rows; r += GStride)
        {
            int bas = r * cols;
            float mx = float.NegativeInfinity;
            for (int c = 0; c < cols; c++) mx = Max(mx, x[bas + c]);
            float se = 0f;
            for (int c = 0; c < cols; c++) se += MathF.Exp(x[bas + c] - mx);
            float inv = 1f / se;
            for (int c = 0; c < cols; c++) y[bas + c] = MathF.Exp(x[bas + c] - mx) * inv;
        }
    }

    /// <summary>dx[r] (+)= y[r]·(dy[r] − Σ dy·y) (accumulate 0: overwrite).</summary>
    [Kernel]
    public static void SoftmaxBackward(ArrayView<float> dx, ArrayView<float> dy, ArrayView<float> y, int rows, int cols, int accumulate)
    {
        for (int r = Gid; r < rows; r += GStride)
        {
            int bas = r * cols;
            float dot = 0f;
            for (int c = 0; c < cols; c++) dot += dy[bas + c] * y[bas + c];
            for (int c = 0; c < cols; c++)
            {
                float g = y[bas + c] * (dy[bas + c] - dot);
                dx[bas + c] = accumulate != 0 ? dx[bas + c] + g : g;
            }
        }
    }

    /// <summary>Top-k by repeated selection: the j-th pick is the largest (value, −index) strictly below the
    /// previous pick in that order, so ties go to the lower index without a "taken" array.</summary>
    [Kernel]
    public static void TopK(ArrayView<float> weights, ArrayView<int> indices, ArrayView<float> probs, int rows, int cols, int k, int normalize)
    {
        for (int r = Gid; r < rows; r += GStride)
        {
            int bas = r * cols, ob = r * k;
            float pv = float.PositiveInfinity, sum = 0f;
            int pi = -1;
            for (int j = 0; j < k; j++)
            {
                int best = -1;
                float bv = 0f;
                for (int c = 0; c < cols; c++)
                {
                    float v = probs[bas + c];
                    bool eligible = v < pv || (v == pv && c > pi);
                    if (eligible && (best < 0 || v > bv)) { best = c; bv = v; }
                }
                indices[ob + j] = best;
                weights[ob + j] = bv;
                sum += bv;
                pv = bv; pi = best;
            }
            if (normalize != 0)
            {
                float den = sum + 1e-20f;
                for (int j = 0; j < k; j++) weights[ob + j] /= den;
            }
        }
    }

    /// <summary>dProbs (+)= gradient of the top-k weights (through w = p/(Σp + 1e-20) when normalising); accumulate 0
    /// zeroes the row first.</summary>
    [Kernel]
    public static void TopKBackward(ArrayView<float> dProbs, ArrayView<float> dWeights, ArrayView<float> probs, ArrayView<int> indices,
        int rows, int cols, int k, int normalize, int accumulate)
    {
        for (int r = Gid; r < rows; r += GStride)
        {
            int pb = r * cols, ob = r * k;
            if (accumulate == 0) for (int c = 0; c < cols; c++) dProbs[pb + c] = 0f;
            if (normalize == 0)
            {
                for (int j = 0; j < k; j++) dProbs[pb + indices[ob + j]] += dWeights[ob + j];
                continue;
            }
            float sum = 0f;
            double gp = 0;
            for (int j = 0; j < k; j++)
            {
                float p = probs[pb + indices[ob + j]];
                sum += p;
                gp += (double)dWeights[ob + j] * p;
            }
            double den = sum + 1e-20f;
            double common = gp / (den * den);
            for (int j = 0; j < k; j++) dProbs[pb + indices[ob + j]] += (float)(dWeights[ob + j] / den - common);
        }
    }
}
