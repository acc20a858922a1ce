using ILGPU;

namespace Minimind.Kernels.Ilgpu;

// Kernel parameter structs: the public shape records plus what a kernel derives from them (strides, scale,
// write mode, rotation sign) as plain int/float fields, because kernel parameters avoid bool and enums.

/// <summary>
/// A general strided GEMM: C[i,j] (+)= Σ_p A(i,p)·B(p,j) with A(i,p) = a[i·Sai + p·Sap] and
/// B(p,j) = b[p·Sbp + j·Sbj]; C is dense [M, N]. One kernel then serves the three nn.Linear layouts.
/// </summary>
public readonly struct GemmArgs
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
    /// <summary>1: C += A·B, 0: C = A·B.</summary>
    public readonly int Accumulate;
    /// <summary>The <see cref="Kernels.Precision"/> both operands are rounded to as they are loaded (0 fp32, 1 bf16, 2 fp16).</summary>
    public readonly int Precision;

    /// <summary>Creates the arguments.</summary>
    public GemmArgs(int m, int n, int k, int sai, int sap, int sbp, int sbj, WriteMode mode, Precision precision = Kernels.Precision.Fp32)
    {
        M = m; N = n; K = k; Sai = sai; Sap = sap; Sbp = sbp; Sbj = sbj; Accumulate = mode == WriteMode.Accumulate ? 1 : 0;
        Precision = (int)precision;
    }

    /// <summary>Y[M,N] (+)= X[M,K]·W[N,K]ᵀ.</summary>
    public static GemmArgs Forward(GemmShape s, WriteMode mode) => new(s.M, s.N, s.K, s.K, 1, 1, s.K, mode, s.Precision);
    /// <summary>dX[M,K] (+)= dY[M,N]·W[N,K].</summary>
    public static GemmArgs BackwardInput(GemmShape s, WriteMode mode) => new(s.M, s.K, s.N, s.N, 1, s.K, 1, mode, s.Precision);
    /// <summary>dW[N,K] (+)= dY[M,N]ᵀ·X[M,K].</summary>
    public static GemmArgs BackwardWeight(GemmShape s, WriteMode mode) => new(s.N, s.K, s.M, 1, s.N, s.K, 1, mode, s.Precision);
}

/// <summary><see cref="AttnShape"/> as the attention kernels take it.</summary>
public readonly struct AttnArgs
{
    /// <summary>Batch, sequence length, query heads, kv heads, head dim.</summary>
    public readonly int B, T, H, Hkv, Hd;
    /// <summary>1/sqrt(headDim).</summary>
    public readonly float Scale;
    /// <summary>1: the backward kernels add into dq/dk/dv, 0: they overwrite them.</summary>
    public readonly int Accumulate;
    /// <summary>The shape's <see cref="Kernels.Precision"/> as int (<see cref="Mma.DeviceRounding.Round"/>): q, k, v, dO are read rounded to it.</summary>
    public readonly int Precision;

    /// <summary>Creates the arguments.</summary>
    public AttnArgs(AttnShape s, WriteMode mode = WriteMode.Overwrite)
    {
        B = s.Batch; T = s.SeqLen; H = s.Heads; Hkv = s.KvHeads; Hd = s.HeadDim; Scale = (float)(1.0 / Math.Sqrt(Hd));
        Accumulate = mode == WriteMode.Accumulate ? 1 : 0;
        Precision = (int)s.Precision;
    }
}

/// <summary><see cref="DecodeShape"/> (and its <see cref="KvPages"/>) as the decode kernels take it. A contiguous cache is
/// the paged layout with one page of Capacity rows per sequence, page b for sequence b, every length PastLen.</summary>
public readonly struct DecodeArgs
{
    /// <summary>Batch, new tokens, tokens already cached, cache rows, query heads, kv heads, head dim.</summary>
    public readonly int B, NewTokens, PastLen, Capacity, H, Hkv, Hd;
    /// <summary>1 when the page table and per-sequence lengths are read; rows per page; table entries per sequence.</summary>
    public readonly int Paged, PageSize, PagesPerSeq;
    /// <summary>1/sqrt(headDim).</summary>
    public readonly float Scale;
    /// <summary>The shape's <see cref="Kernels.Precision"/> as int: appended rows and the decode queries are rounded to it.</summary>
    public readonly int Precision;

    /// <summary>Creates the arguments.</summary>
    public DecodeArgs(DecodeShape s, KvPages pages)
    {
        B = s.Batch; NewTokens = s.NewTokens; PastLen = s.PastLen; Capacity = s.Capacity; H = s.Heads; Hkv = s.KvHeads; Hd = s.HeadDim;
        Paged = pages.IsEmpty ? 0 : 1;
        PageSize = pages.IsEmpty ? s.Capacity : pages.PageSize;
        PagesPerSeq = pages.IsEmpty ? 1 : pages.PagesPerSeq;
        Scale = (float)(1.0 / Math.Sqrt(Hd));
        Precision = (int)s.Precision;
    }
}

/// <summary><see cref="RopeShape"/> as the rotary kernel takes it; Sign is +1 (forward) or −1 (backward, the inverse rotation).</summary>
public readonly struct RopeArgs
{
    /// <summary>Batch, sequence length, heads, head dim, first position, 1 for interleaved pairs, rotation sign, 1 when the
    /// per-sequence starts are added.</summary>
    public readonly int B, T, H, Hd, PosOffset, Interleaved, Sign, HasRowStart;

    /// <summary>Creates the arguments.</summary>
    public RopeArgs(RopeShape s, int sign, bool hasRowStart = false)
    {
        B = s.Batch; T = s.SeqLen; H = s.Heads; Hd = s.HeadDim; PosOffset = s.PosOffset;
        Interleaved = s.Layout == RopeLayout.Interleaved ? 1 : 0; Sign = sign; HasRowStart = hasRowStart ? 1 : 0;
    }

    /// <summary>The cos/sin row of head row <paramref name="r"/> = (b·T + t)·H + h: PosOffset (+ rowStart[b]) + t.</summary>
    public int Position(int r, ArrayView<int> rowStart)
    {
        int bt = r / H, t = bt % T;
        return PosOffset + t + (HasRowStart != 0 ? rowStart[bt / T] : 0);
    }
}
