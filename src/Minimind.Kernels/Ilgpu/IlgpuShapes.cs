namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// A general strided GEMM: C[i,j] (+)= Σ_p A(i,p)·B(p,j) with A(i,p) = a[i·Sai + p·Sap] and
/// B(p,j) = b[p·Sbp + j·Sbj]; C is dense [M, N]. One kernel then serves the three nn.Linear layouts.
/// </summary>
public readonly struct GemmShape
{
    /// <summary>Rows of C.</summary>
    public readonly int M;
    /// <summary>Columns of C.</summary>
    public readonly int N;
    /// <summary>Inner dimension.</summary>
    public readonly int K;
    /// <summary>Strides of A along i and p.</summary>
    public readonly int Sai, Sap;
    /// <summary>Strides of B along p and j.</summary>
    public readonly int Sbp, Sbj;
    /// <summary>1: C += A·B, 0: C = A·B (an int because kernel parameters avoid bool).</summary>
    public readonly int Accumulate;

    /// <summary>Creates the shape.</summary>
    public GemmShape(int m, int n, int k, int sai, int sap, int sbp, int sbj, bool accumulate)
    {
        M = m; N = n; K = k; Sai = sai; Sap = sap; Sbp = sbp; Sbj = sbj; Accumulate = accumulate ? 1 : 0;
    }

    /// <summary>Y[m,n] (+)= X[m,k]·W[n,k]ᵀ.</summary>
    public static GemmShape Forward(int m, int n, int k, bool accumulate) => new(m, n, k, k, 1, 1, k, accumulate);
    /// <summary>dX[m,k] += dY[m,n]·W[n,k].</summary>
    public static GemmShape BackwardInput(int m, int n, int k) => new(m, k, n, n, 1, k, 1, true);
    /// <summary>dW[n,k] += dY[m,n]ᵀ·X[m,k].</summary>
    public static GemmShape BackwardWeight(int m, int n, int k) => new(n, k, m, 1, n, k, 1, true);
}

/// <summary>Attention sizes passed to the attention kernels as one parameter.</summary>
public readonly struct AttnShape
{
    /// <summary>Batch, sequence length, query heads, kv heads, head dim.</summary>
    public readonly int B, T, H, Hkv, Hd;
    /// <summary>1/sqrt(headDim).</summary>
    public readonly float Scale;

    /// <summary>Creates the shape.</summary>
    public AttnShape(int b, int t, int h, int hkv, int hd)
    {
        B = b; T = t; H = h; Hkv = hkv; Hd = hd; Scale = (float)(1.0 / Math.Sqrt(hd));
    }
}

/// <summary>Decode attention sizes: new tokens at positions PastLen.. against a cache of Capacity rows.</summary>
public readonly struct DecodeShape
{
    /// <summary>Batch, new tokens, tokens already cached, cache rows, query heads, kv heads, head dim.</summary>
    public readonly int B, NewTokens, PastLen, Capacity, H, Hkv, Hd;
    /// <summary>1/sqrt(headDim).</summary>
    public readonly float Scale;

    /// <summary>Creates the shape.</summary>
    public DecodeShape(int b, int newTokens, int pastLen, int capacity, int h, int hkv, int hd)
    {
        B = b; NewTokens = newTokens; PastLen = pastLen; Capacity = capacity; H = h; Hkv = hkv; Hd = hd;
        Scale = (float)(1.0 / Math.Sqrt(hd));
    }
}

/// <summary>Rotary embedding sizes; Sign is +1 (forward) or −1 (backward, the inverse rotation).</summary>
public readonly struct RopeShape
{
    /// <summary>Batch, sequence length, heads, head dim, first position, 1 for interleaved pairs, rotation sign.</summary>
    public readonly int B, T, H, Hd, PosOffset, Interleaved, Sign;

    /// <summary>Creates the shape.</summary>
    public RopeShape(int b, int t, int h, int hd, int posOffset, RopeLayout layout, int sign)
    {
        B = b; T = t; H = h; Hd = hd; PosOffset = posOffset; Interleaved = layout == RopeLayout.Interleaved ? 1 : 0; Sign = sign;
    }
}
