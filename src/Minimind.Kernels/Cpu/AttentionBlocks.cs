using System.Runtime.CompilerServices;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Sizes and packing shared by the blocked CPU attention forward and backward: q/o/dq are [B, T, H, hd],
/// k/v [B, T, Hkv, hd]; a query block of <see cref="QBlock"/> rows meets key blocks of <see cref="KBlock"/> keys,
/// and every block product runs through the CPU path's packed SGEMM micro-kernel (the methods are generic over it).
/// </summary>
internal readonly struct AttentionBlocks
{
    /// <summary>Query rows per block (a multiple of every kernel's MR) and keys per block: equal, so a block on the
    /// diagonal always holds key t0 and no processed row is fully masked. Both are part of the summation order (the
    /// online softmax rescales per key block; dK/dV add one query block's sum at a time): changing them changes bits.</summary>
    public const int QBlock = 48, KBlock = 48;

    public readonly int Batch, T, H, Hkv, Hd, Rep, HdPad, QStride, KStride;
    public readonly float Scale;

    /// <summary>The sizes of <paramref name="s"/> for a kernel of <paramref name="nr"/> columns (head rows padded to it).</summary>
    public AttentionBlocks(AttnShape s, int nr)
    {
        Batch = s.Batch; T = s.SeqLen; H = s.Heads; Hkv = s.KvHeads; Hd = s.HeadDim; Rep = s.Heads / s.KvHeads;
        HdPad = RoundUp(Hd, nr); QStride = H * Hd; KStride = Hkv * Hd;
        Scale = 1f / MathF.Sqrt(Hd);
    }

    /// <summary>Number of query (= key) blocks.</summary>
    public int Blocks => (T + QBlock - 1) / QBlock;

    /// <summary>Offset of row t of query head h in batch b (q, o, dO, dq).</summary>
    public long QRow(int b, int t, int h) => ((long)(b * T + t) * H + h) * Hd;

    /// <summary>Offset of row t of kv head g in batch b (k, v, dk, dv).</summary>
    public long KRow(int b, int t, int g) => ((long)(b * T + t) * Hkv + g) * Hd;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundUp(int x, int m) => (x + m - 1) / m * m;

    /// <summary>Writes one key block's panels into its slot; k and v point at the block's first key row (stride
    /// <see cref="KStride"/>), nk is its key count.</summary>
    public unsafe delegate void KeyBlockPack(float* slot, float* k, float* v, int nk);

    /// <summary>Every key block of every kv head packed once, in parallel, into a <see cref="PackPool"/> buffer the caller
    /// returns: block j of kv head g in batch b gets the <paramref name="slotLen"/> floats at ((b·Hkv + g)·Blocks + j)·slotLen,
    /// written by <paramref name="pack"/>. Forward and backward read K/V panels from here instead of packing them per item.</summary>
    public unsafe float[] PackKeyBlocks(WorkPartition work, long slotLen, float[] k, int ko, float[] v, int vo, KeyBlockPack pack)
    {
        var d = this;
        int blocks = Blocks;
        var kv = PackPool.Rent(checked((int)(Batch * Hkv * blocks * slotLen)));
        try
        {
            work.For((long)Batch * Hkv * blocks, 4, (first, end) =>
            {
                fixed (float* pkv = kv, pk = k, pv = v)
                    for (long x = first; x < end; x++)
                    {
                        int bg = (int)(x / blocks), b = bg / d.Hkv, g = bg % d.Hkv, j0 = (int)(x % blocks) * KBlock;
                        pack(pkv + x * slotLen, pk + ko + d.KRow(b, j0, g), pv + vo + d.KRow(b, j0, g), Math.Min(KBlock, d.T - j0));
                    }
            });
        }
        catch
        {
            PackPool.Return(kv);
            throw;
        }
        return kv;
    }

    /// <summary>Rows src + i·rs (i &lt; n, hd floats each) as MR-row A panels with kc = hd (rows past n zero).</summary>
    public static unsafe void PackRowsA<TK>(float* dst, float* src, long rs, int n, int hd) where TK : struct, IGemmKernel
    {
        int MR = TK.MR;
        for (int i0 = 0; i0 < n; i0 += MR)
            Sgemm.PackA<TK>(dst + (long)i0 * hd, src + i0 * rs, checked((int)rs), 1, Math.Min(MR, n - i0), hd, Precision.Fp32);
    }

    /// <summary>The columns of an n-row block (rows src + p·rs, the first cols floats of each) as MR-row A panels with
    /// kc = n: A(j, p) = row p[j], the panel of columns j0.. at dst + j0·n, columns past cols zero; for products against
    /// the block's transpose (dV += Pᵀ·dO, dK += dSᵀ·Q).</summary>
    public static unsafe void PackColumnsA<TK>(float* dst, float* src, long rs, int n, int cols) where TK : struct, IGemmKernel
    {
        int MR = TK.MR;
        for (int j0 = 0; j0 < cols; j0 += MR)
            Sgemm.PackA<TK>(dst + (long)j0 * n, src + j0, 1, checked((int)rs), Math.Min(MR, cols - j0), n, Precision.Fp32);
    }

    /// <summary>Rows src + j·rs (j &lt; n) as the transposed B operand: B(p, j) = row j[p], NR-column panels with
    /// kc = hd, for products against the rows (S = Q·Kᵀ).</summary>
    public static unsafe void PackRowsBt<TK>(float* dst, float* src, long rs, int n, int hd) where TK : struct, IGemmKernel
    {
        int NR = TK.NR;
        for (int j0 = 0; j0 < n; j0 += NR)
            Sgemm.PackB<TK>(dst + (long)j0 * hd, src + j0 * rs, 1, checked((int)rs), Math.Min(NR, n - j0), hd, Precision.Fp32);
    }

    /// <summary>Rows src + p·rs (p &lt; n) as the B operand: B(p, d) = row p[d], hdPad/NR panels with kc = n
    /// (O = P·V, dQ = dS·K, dV = Pᵀ·dO).</summary>
    public static unsafe void PackRowsB<TK>(float* dst, float* src, long rs, int n, int hd) where TK : struct, IGemmKernel
    {
        int NR = TK.NR;
        for (int c0 = 0; c0 < hd; c0 += NR)
            Sgemm.PackB<TK>(dst + (long)c0 * n, src + c0, checked((int)rs), 1, Math.Min(NR, hd - c0), n, Precision.Fp32);
    }

    /// <summary>C[rows, cols] (+)= A·B over packed panels: A has rows/MR panels of MR·kc, B cols/NR panels of NR·kc;
    /// C is row-major with leading dimension ldc. block is MR·NR scratch.</summary>
    public static unsafe void Product<TK>(float* a, float* b, int kc, int rows, int cols, float* c, int ldc, bool overwrite, float* block)
        where TK : struct, IGemmKernel
    {
        int MR = TK.MR, NR = TK.NR;
        for (int i0 = 0; i0 < rows; i0 += MR)
            for (int j0 = 0; j0 < cols; j0 += NR)
            {
                Sgemm.BlockMerged<TK, F32Panels>(kc, a + (long)i0 * kc, (byte*)(b + (long)j0 * kc), c + (long)i0 * ldc + j0, ldc,
                    Math.Min(MR, rows - i0), Math.Min(NR, cols - j0), overwrite, block);
            }
    }

    /// <summary>Causal scores: C = A·B (overwrite) for query rows at positions t0 + i (i &lt; rows) and keys at
    /// j0 + j (j &lt; cols); an MR×NR block whose keys all lie after its last row is skipped (left unwritten).</summary>
    public static unsafe void CausalProduct<TK>(float* a, float* b, int kc, int rows, int cols, int t0, int j0, float* c, int ldc, float* block)
        where TK : struct, IGemmKernel
    {
        int MR = TK.MR, NR = TK.NR;
        for (int ir = 0; ir < rows; ir += MR)
        {
            int tLast = t0 + Math.Min(ir + MR, rows) - 1;
            for (int jr = 0; jr < cols && j0 + jr <= tLast; jr += NR)
            {
                Sgemm.BlockMerged<TK, F32Panels>(kc, a + (long)ir * kc, (byte*)(b + (long)jr * kc), c + (long)ir * ldc + jr, ldc,
                    Math.Min(MR, rows - ir), Math.Min(NR, cols - jr), true, block);
            }
        }
    }
}
