using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Packed, cache-blocked SGEMM: C[M,N] (+)= A[M,K]·B[K,N] with A and B addressed through row/column
/// strides, so one routine serves all three nn.Linear layouts. BLIS-style loops: K is walked in KC slices;
/// per slice B is packed once into NR-column panels (8×8 transposes where B is k-contiguous) shared by all
/// threads, then each work item (MC rows, split by columns only when there are too few row blocks) packs its own
/// A rows into MR-row panels (L2-resident) and the micro-kernel of the CPU path (<see cref="IGemmKernel"/>)
/// computes each MR×NR block (B micro-panel in L1); operands are rounded to the matmul's precision as they are packed, and
/// at bf16 the shared B panels hold 16 bits a value (<see cref="Bf16Panels"/>: half the bytes packed, stored and streamed
/// through the kernel, widened exactly in registers). Every C element sums its K products with FMAs in ascending order within a
/// slice, then adds the slices in ascending order: the result never depends on the thread count, the scheduling,
/// the kernel's block shape, the instruction set, or where the row sits among the M rows. Hot methods are marked
/// AggressiveOptimization: tier-0 code of the packing routines was measured 3-4× slower and would otherwise run
/// for the first calls of every process.
/// </summary>
internal static unsafe class Sgemm
{
    /// <summary>K slice length. Part of every element's summation order: changing it changes the bits.</summary>
    internal const int KC = 256;
    // Rows per work item: a multiple of every kernel's MR (6, 12); MC·KC floats (192 KB) of packed A stay in L2 (512 KB
    // on Zen 3). 192 rather than 96 halves how often each B micro-panel is brought back into L1: on the AVX2 path (Zen 3,
    // 1 thread) the kernel's share of a full SGEMM then equals OpenBLAS's kernel's, where 96 left it 8 % above.
    private const int MC = 192;
    /// <summary>At most this many rows take <see cref="RunSkinny{TK}"/> (B packed one panel at a time, per thread).</summary>
    internal const int SkinnyRows = 48;

    /// <summary>C (+)= A·B on the <paramref name="isa"/> path. Element (i,p) of A is a[aOff + i·aRs + p·aCs]; (p,j) of B is
    /// b[bOff + p·bRs + j·bCs]; both are rounded to <paramref name="precision"/> as they are packed. At bf16 the shared B
    /// panels of the tiled path (more than <see cref="SkinnyRows"/> rows) are 16-bit unless <paramref name="narrowPanels"/> is false (the float32 panels, for comparing the two:
    /// the bits are the same). With <paramref name="packedB"/> (B as <see cref="Pack"/> packed it on this path, at this
    /// precision) no B is packed: both loop orders read those panels, and b is not read.</summary>
    public static void Run(WorkPartition work, CpuIsa isa, int M, int N, int K,
        float[] a, int aOff, int aRs, int aCs,
        float[] b, int bOff, int bRs, int bCs,
        float[] c, int cOff, int ldc, bool accumulate, Precision precision = Precision.Fp32, bool narrowPanels = true,
        PackedPanels? packedB = null)
    {
        bool narrow = narrowPanels && precision == Precision.Bf16;
        switch (isa)
        {
            case CpuIsa.Avx512: Run<GemmKernelAvx512>(work, M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, precision, narrow, packedB); break;
            case CpuIsa.Avx2: Run<GemmKernelAvx2>(work, M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, precision, narrow, packedB); break;
            default: Run<GemmKernelPortable>(work, M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, precision, narrow, packedB); break;
        }
    }

    /// <summary>All of B (N columns, K rows, addressed as in <see cref="Run"/>) packed once into the panels of the
    /// <paramref name="isa"/> path, slice after slice, the same values the tiled path packs per call: 16-bit at bf16 unless
    /// a value refuses (then every slice is float32). Packs into <paramref name="reuse"/> when it has the length needed.</summary>
    public static PackedPanels Pack(WorkPartition work, CpuIsa isa, int N, int K, float[] b, int bOff, int bRs, int bCs, Precision precision,
        float[]? reuse = null) => isa switch
    {
        CpuIsa.Avx512 => Pack<GemmKernelAvx512>(work, N, K, b, bOff, bRs, bCs, precision, reuse),
        CpuIsa.Avx2 => Pack<GemmKernelAvx2>(work, N, K, b, bOff, bRs, bCs, precision, reuse),
        _ => Pack<GemmKernelPortable>(work, N, K, b, bOff, bRs, bCs, precision, reuse),
    };

    private static PackedPanels Pack<TK>(WorkPartition work, int N, int K, float[] b, int bOff, int bRs, int bCs, Precision precision, float[]? reuse)
        where TK : struct, IGemmKernel
    {
        int NR = TK.NR, nPanels = (N + NR - 1) / NR;
        long nPad = (long)nPanels * NR;
        float[] Memory(long floats) => reuse?.LongLength == floats ? reuse : GC.AllocateUninitializedArray<float>(checked((int)floats), pinned: true);
        if (precision == Precision.Bf16)
        {
            // Two bf16 values a float; nPad is a multiple of NR, so every slice starts on a float.
            var half = Memory(nPad * K / 2);
            bool exact = true;
            for (int p0 = 0; p0 < K && exact; p0 += KC)
                exact = PackSlice<TK, Bf16Panels>(work, half, nPad * p0 * 2, b, bOff + (long)p0 * bRs, bRs, bCs, N, nPanels, Math.Min(KC, K - p0), precision);
            if (exact) return new PackedPanels(half, Bf16: true);
        }
        var full = Memory(nPad * K);
        for (int p0 = 0; p0 < K; p0 += KC)
            PackSlice<TK, F32Panels>(work, full, nPad * p0 * 4, b, bOff + (long)p0 * bRs, bRs, bCs, N, nPanels, Math.Min(KC, K - p0), precision);
        return new PackedPanels(full, Bf16: false);
    }

    private static void Run<TK>(WorkPartition work, int M, int N, int K,
        float[] a, int aOff, int aRs, int aCs,
        float[] b, int bOff, int bRs, int bCs,
        float[] c, int cOff, int ldc, bool accumulate, Precision precision, bool narrow, PackedPanels? packedB) where TK : struct, IGemmKernel
    {
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            if (!accumulate) for (int i = 0; i < M; i++) c.AsSpan(cOff + i * ldc, N).Clear();
            return;
        }
        if (M <= SkinnyRows) { RunSkinny<TK>(work, M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff, ldc, accumulate, precision, packedB); return; }
        int MR = TK.MR, NR = TK.NR;
        // K is walked in KC slices. Per slice, B is packed once into NR-column panels (by several pack items, shared by
        // every tile item; it stays in L3), and the tile items of the slice sweep them: a tile is a block of ≤ MC rows (all of
        // N when there are enough row blocks for the workers, else N is split too); it packs its A rows into MR-row panels
        // in a buffer of its participant (MC·KC floats, L2-resident) and sweeps B's panels over them.
        int nPad = (N + NR - 1) / NR * NR, nPanels = nPad / NR;
        // Row blocks of at most MC rows, as many as a multiple of the thread count where there are few (a weight gradient
        // has M = the layer's outputs, e.g. 512 = 2⅔ blocks of 192), each holding an equal share of the MR-row panels:
        // blocks 192,192,128 would leave one of two threads idle for a third of every K slice.
        int mPanels = (M + MR - 1) / MR;
        int mBlocks = (M + MC - 1) / MC;
        mBlocks = Math.Min(mPanels, (mBlocks + work.Threads - 1) / work.Threads * work.Threads);
        // Column chunks (multiples of NR) only when there are fewer row blocks than workers: each chunk of a row block packs
        // that block's A rows again (a v1 weight gradient, 4 row blocks, spent 9 % of its thread time packing A with 2
        // chunks, 5 % with 1), and the items need not balance within a slice, as a worker done early starts the next
        // slice's items. Splitting never changes any element's summation order.
        int nChunks = Math.Max(1, Math.Min(nPanels, (work.Threads + mBlocks - 1) / mBlocks));
        int chunkPanels = (nPanels + nChunks - 1) / nChunks;
        nChunks = (nPanels + chunkPanels - 1) / chunkPanels;
        // One parallel region for the whole call (not two per K slice: a v1 weight gradient, K = 8192, had 64). Its work is
        // a fixed sequence of items that every participant claims in order from one counter: the B pack of slice 0, then per
        // slice s ≥ 1 the tiles of slice s − 1 with the B pack of slice s (into the other of two buffers) amid them. An item
        // waits only for items earlier in the sequence (a tile for its slice's B and for its own previous slice, a pack for
        // the tiles that last read its buffer), so a thread that finishes early moves on to the next slice's work instead
        // of idling at a barrier, no claimed item can wait forever, and each C element still gets its slices in ascending
        // order. Sized for float32 panels: a slice whose bf16 packing is refused is packed again as float32 in its place.
        var flow = new SliceFlow(slices: (K + KC - 1) / KC, tiles: mBlocks * nChunks,
            packs: packedB is null ? Math.Min(nPanels, Math.Max(1, 2 * work.Threads)) : 0);
        var bPack = packedB is null ? PackPool.Rent(checked(2 * nPad * KC)) : null;
        try
        {
            work.ForEach(work.Threads, _ =>
            {
                var aPack = PackPool.Rent(MC * KC + MR * NR);
                try
                {
                    fixed (float* pa = a, ab = aPack, pb = b, pc = c, pk = packedB?.Data ?? bPack)
                    {
                        for (int item = flow.Claim(); item >= 0; item = flow.Claim())
                        {
                            var (slice, index, pack) = flow.Item(item);
                            int p0 = slice * KC, kc = Math.Min(KC, K - p0);
                            if (pack)
                            {
                                flow.AwaitBuffer(slice);
                                int first = (int)((long)index * nPanels / flow.Packs), last = (int)((long)(index + 1) * nPanels / flow.Packs);
                                byte* buf = (byte*)(pk + (long)(slice & 1) * nPad * KC);
                                bool ok = narrow && PackPanels<TK, Bf16Panels>(buf, pb + bOff + (long)p0 * bRs, bRs, bCs, N, first, last, kc, precision);
                                if (!narrow) PackPanels<TK, F32Panels>(buf, pb + bOff + (long)p0 * bRs, bRs, bCs, N, first, last, kc, precision);
                                // The last pack of a slice publishes its format; a refusal anywhere repacks the whole slice as float32.
                                if (flow.Packed(slice, narrow && !ok))
                                {
                                    bool bf16 = narrow && !flow.Refused(slice);
                                    if (narrow && !bf16) PackPanels<TK, F32Panels>(buf, pb + bOff + (long)p0 * bRs, bRs, bCs, N, 0, nPanels, kc, precision);
                                    flow.Publish(slice, bf16);
                                }
                                continue;
                            }
                            int block = index / nChunks;
                            int i0 = (int)((long)block * mPanels / mBlocks) * MR, mc = Math.Min(M, (int)((long)(block + 1) * mPanels / mBlocks) * MR) - i0;
                            int j0 = index % nChunks * chunkPanels * NR, nc = Math.Min(chunkPanels * NR, N - j0);
                            bool narrowSlice;
                            byte* bb;
                            if (packedB is not null) { narrowSlice = packedB.Bf16; bb = (byte*)pk + (long)nPad * p0 * (narrowSlice ? 2 : 4); }
                            else { narrowSlice = flow.AwaitPacked(slice); bb = (byte*)(pk + (long)(slice & 1) * nPad * KC); }
                            flow.AwaitTile(index, slice);
                            for (int ir = 0; ir < mc; ir += MR)
                                PackA<TK>(ab + (long)ir * kc, pa + aOff + (long)p0 * aCs + (long)(i0 + ir) * aRs, aRs, aCs, Math.Min(MR, mc - ir), kc, precision);
                            bool overwrite = p0 == 0 && !accumulate;
                            if (narrowSlice) Tile<TK, Bf16Panels>(ab, mc, bb, j0, nc, kc, pc + cOff + (long)i0 * ldc + j0, ldc, overwrite, ab + MC * KC);
                            else Tile<TK, F32Panels>(ab, mc, bb, j0, nc, kc, pc + cOff + (long)i0 * ldc + j0, ldc, overwrite, ab + MC * KC);
                            flow.Tiled(index, slice);
                        }
                    }
                }
                // A participant that throws leaves items unfinished: the others must not wait for them forever.
                catch (Exception e) when (e is not OperationCanceledException) { flow.Fail(); throw; }
                finally { PackPool.Return(aPack); }
            });
        }
        finally
        {
            if (bPack is not null) PackPool.Return(bPack);
        }
    }

    // Panels [first, last) of B's K slice at s0 (B(p, j) = s0[p·bRs + j·bCs], N columns) in format TP at buf; false when TP refused a value.
    private static bool PackPanels<TK, TP>(byte* buf, float* s0, int bRs, int bCs, int N, int first, int last, int kc, Precision precision)
        where TK : struct, IGemmKernel where TP : struct, IPanelFormat
    {
        if (bCs == 1) return TP.PackBRows<TK>(buf, s0, bRs, N, first, last, kc, precision);
        int NR = TK.NR;
        bool ok = true;
        for (int panel = first; panel < last; panel++)
        {
            int j0 = panel * NR;
            ok &= TP.PackB<TK>(buf + (long)j0 * kc * TP.Bytes, s0 + (long)j0 * bCs, bRs, bCs, Math.Min(NR, N - j0), kc, precision);
        }
        return ok;
    }

    // B's K slice starting at b[bOff] into nPanels panels of format TP at byte packByte of bPack, in parallel; false when TP refused a value.
    private static bool PackSlice<TK, TP>(WorkPartition work, float[] bPack, long packByte, float[] b, long bOff, int bRs, int bCs, int N, int nPanels, int kc, Precision precision)
        where TK : struct, IGemmKernel where TP : struct, IPanelFormat
    {
        int refused = 0;
        work.For(nPanels, 4, (s, e) =>
        {
            bool ok;
            fixed (float* pb = b, pack = bPack)
                ok = PackPanels<TK, TP>((byte*)pack + packByte, pb + bOff, bRs, bCs, N, (int)s, (int)e, kc, precision);
            if (!ok) Volatile.Write(ref refused, 1);
        });
        return refused == 0;
    }

    /// <summary>
    /// Few rows (decode, small batches): A is packed whole once (it is small); threads take B's NR-column panels, and
    /// each packs its panel one K slice at a time into a buffer that stays in L1/L2, runs the kernel over every A panel
    /// and merges, slices ascending. B is read once and never written back as a packed copy, which is what a few rows
    /// cannot amortise. Same kernel, same per-element order as the tiled path: the bits do not depend on M. The panel
    /// stays float32 at bf16: it sits in L1 and feeds at most four register blocks, so narrowing it would be a pass of
    /// extra work with no traffic to save (measured 0.5–0.85× per core at M = 4). With <paramref name="packedB"/> the
    /// panels are read where they lie (16-bit ones too: the kernel widens them to the same float32 values).
    /// </summary>
    private static void RunSkinny<TK>(WorkPartition work, int M, int N, int K,
        float[] a, int aOff, int aRs, int aCs,
        float[] b, int bOff, int bRs, int bCs,
        float[] c, int cOff, int ldc, bool accumulate, Precision precision, PackedPanels? packedB) where TK : struct, IGemmKernel
    {
        int MR = TK.MR, NR = TK.NR;
        int mPad = (M + MR - 1) / MR * MR, nPanels = (N + NR - 1) / NR;
        var aPack = PackPool.Rent(checked(mPad * K));
        try
        {
            // Slice s of A at aPack + mPad·s·KC, panel i0 of it at + i0·kc.
            fixed (float* pa = a, buf = aPack)
                for (int p0 = 0; p0 < K; p0 += KC)
                {
                    int kc = Math.Min(KC, K - p0);
                    for (int i0 = 0; i0 < M; i0 += MR)
                        PackA<TK>(buf + (long)mPad * p0 + (long)i0 * kc, pa + aOff + (long)p0 * aCs + (long)i0 * aRs, aRs, aCs, Math.Min(MR, M - i0), kc, precision);
                }
            // Grain: a chunk of at least ~2^18 FMAs (tens of microseconds) outweighs its start-up. Counted per panel as the
            // kernel computes it (at least 4 rows: Block4), so a decode step's matmuls (M = 1, 48–400 panels) use every
            // thread; the earlier 2048 / (M·K/KC + 1) asked 204–512 panels a chunk there and ran each on one thread.
            work.For(nPanels, Math.Max(1, (1 << 18) / ((long)K * NR * Math.Max(4, mPad))), (s, e) =>
            {
                var bPanel = PackPool.Rent(NR * KC + MR * NR);
                float[] kept = packedB?.Data ?? bPanel;
                bool bf16 = packedB is { Bf16: true };
                int bytes = bf16 ? 2 : 4;
                long nPad = (long)nPanels * NR;
                try
                {
                    fixed (float* pa = aPack, pb = b, pc = c, bp = bPanel, kp = kept)
                    {
                        float* block = bp + NR * KC;
                        // Slices outside panels: a chunk's kept panels of one slice lie back to back, so each slice is
                        // one sequential read (panels outside made every 16 KB panel-slice its own stream). Each C element
                        // still gets its slices in ascending order.
                        for (int p0 = 0; p0 < K; p0 += KC)
                        {
                            int kc = Math.Min(KC, K - p0);
                            bool overwrite = p0 == 0 && !accumulate;
                            // Kept panel j0 of this slice (panels of a slice lie back to back, NR·kc values each).
                            byte* keptSlice = (byte*)kp + nPad * p0 * bytes;
                            long panel = s;
                            // One row against kept panels (decode): four panels a kernel call.
                            if (M == 1 && packedB is not null)
                                for (; panel + 4 <= e; panel += 4)
                                {
                                    int j0 = (int)panel * NR;
                                    byte* bb = keptSlice + (long)j0 * kc * bytes;
                                    if (bf16) TK.Row4<Bf16Panels>(kc, pa + (long)mPad * p0, bb, (long)NR * kc * bytes, block);
                                    else TK.Row4<F32Panels>(kc, pa + (long)mPad * p0, bb, (long)NR * kc * bytes, block);
                                    for (int q = 0; q < 4; q++)
                                        Merge<TK>(block + q * NR, pc + cOff + j0 + q * NR, ldc, 1, Math.Min(NR, N - j0 - q * NR), overwrite);
                                }
                            for (; panel < e; panel++)
                            {
                                int j0 = (int)panel * NR, nr = Math.Min(NR, N - j0);
                                byte* bb = (byte*)bp;
                                if (packedB is null) PackB<TK>(bp, pb + bOff + (long)p0 * bRs + (long)j0 * bCs, bRs, bCs, nr, kc, precision);
                                else bb = keptSlice + (long)j0 * kc * bytes;
                                for (int i0 = 0; i0 < M; i0 += MR)
                                {
                                    int mr = Math.Min(MR, M - i0);
                                    float* ap = pa + (long)mPad * p0 + (long)i0 * kc;
                                    float* cb = pc + cOff + (long)i0 * ldc + j0;
                                    if (mr <= 4)
                                    {
                                        if (bf16) TK.Block4<Bf16Panels>(kc, ap, bb, block); else TK.Block4<F32Panels>(kc, ap, bb, block);
                                        Merge<TK>(block, cb, ldc, mr, nr, overwrite);
                                    }
                                    else if (bf16) BlockMerged<TK, Bf16Panels>(kc, ap, bb, cb, ldc, mr, nr, overwrite, block);
                                    else BlockMerged<TK, F32Panels>(kc, ap, bb, cb, ldc, mr, nr, overwrite, block);
                                }
                            }
                        }
                    }
                }
                finally { PackPool.Return(bPanel); }
            });
        }
        finally
        {
            PackPool.Return(aPack);
        }
    }

    // One item's rows for one K slice: C[mc, nc] (+)= A·B from packed panels (A: mc rows from aPanels, B: nc columns
    // from the panels at bPanels starting with column j0, format TP). B micro-panels (L1) in the outer loop, A micro-panels (L2) inside; each C block's lines are
    // requested before its kernel runs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TK, TP>(float* aPanels, int mc, byte* bPanels, int j0, int nc, int kc, float* c, int ldc, bool overwrite, float* block)
        where TK : struct, IGemmKernel where TP : struct, IPanelFormat
    {
        bPanels += (long)j0 * kc * TP.Bytes;
        int MR = TK.MR, NR = TK.NR;
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* cb = c + (long)ir * ldc + jr;
                Prefetch(cb, ldc, mr, nr);
                BlockMerged<TK, TP>(kc, aPanels + (long)ir * kc, bPanels + (long)jr * kc * TP.Bytes, cb, ldc, mr, nr, overwrite, block);
            }
        }
    }

    // Asks for the C block's cache lines before the kernel runs (its kc FMAs hide the misses the merge would stall on).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(float* c, int ldc, int mr, int nr)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < mr; i++)
        {
            float* row = c + (long)i * ldc;
            for (int j = 0; j < nr; j += 16) Sse.Prefetch0(row + j);
            Sse.Prefetch0(row + nr - 1);
        }
    }

    /// <summary>One panel of MR rows: panel[p·MR + i] = round(A(i, p)); rows past mr are zero.</summary>
    internal static void PackA<TK>(float* panel, float* s0, int rs, int cs, int mr, int kc, Precision precision) where TK : struct, IGemmKernel
    {
        switch (precision)
        {
            case Precision.Bf16: PackA<TK, Bf16Operands>(panel, s0, rs, cs, mr, kc); break;
            case Precision.Fp16: PackA<TK, Fp16Operands>(panel, s0, rs, cs, mr, kc); break;
            default: PackA<TK, Fp32Operands>(panel, s0, rs, cs, mr, kc); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<TK, TR>(float* panel, float* s0, int rs, int cs, int mr, int kc) where TK : struct, IGemmKernel where TR : struct, IOperandRounding
    {
        int MR = TK.MR;
        int p = 0;
        if (cs == 1 && mr == MR && MR % 2 == 0 && Avx.IsSupported)
        {
            // Rows in groups of four (and a last pair where MR is 6), eight k at a time: a 4×8 (2×8) transpose writes
            // four (two) rows' values for one k contiguously.
            for (; p + 8 <= kc; p += 8)
            {
                int r0 = 0;
                for (; r0 + 4 <= MR; r0 += 4)
                    Transpose4x8<TR>(s0 + (long)r0 * rs + p, rs, panel + (long)p * MR + r0, MR);
                if (r0 < MR) Transpose2x8<TR>(s0 + (long)r0 * rs + p, rs, panel + (long)p * MR + r0, MR);
            }
        }
        else if (rs == 1 && mr == MR)
        {
            // Columns are contiguous: each k's MR values are one copy.
            for (; p < kc; p++) CopyRounded<TR>(s0 + (long)p * cs, panel + (long)p * MR, MR);
            return;
        }
        for (; p < kc; p++)
        {
            float* col = s0 + (long)p * cs;
            float* d = panel + (long)p * MR;
            int i = 0;
            for (; i < mr; i++) d[i] = TR.Round(col[(long)i * rs]);
            for (; i < MR; i++) d[i] = 0f;
        }
    }

    /// <summary>One panel of NR columns: panel[p·NR + j] = round(B(p, j)); columns past nr are zero.</summary>
    internal static void PackB<TK>(float* panel, float* s0, int rs, int cs, int nr, int kc, Precision precision) where TK : struct, IGemmKernel
    {
        switch (precision)
        {
            case Precision.Bf16: PackB<TK, Bf16Operands>(panel, s0, rs, cs, nr, kc); break;
            case Precision.Fp16: PackB<TK, Fp16Operands>(panel, s0, rs, cs, nr, kc); break;
            default: PackB<TK, Fp32Operands>(panel, s0, rs, cs, nr, kc); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<TK, TR>(float* panel, float* s0, int rs, int cs, int nr, int kc) where TK : struct, IGemmKernel where TR : struct, IOperandRounding
    {
        int NR = TK.NR;
        if (cs == 1)
        {
            for (int p = 0; p < kc; p++)
            {
                float* d = panel + (long)p * NR;
                CopyRounded<TR>(s0 + (long)p * rs, d, nr);
                for (int j = nr; j < NR; j++) d[j] = 0f;
            }
            return;
        }
        int p0 = 0;
        if (Avx.IsSupported && nr == NR && rs == 1)
        {
            // Eight columns of B (rows of a row-major weight) at a time, each read front to back: 8 streams, not NR.
            int full = kc & ~7;
            for (int j0 = 0; j0 < NR; j0 += 8)
                for (int p = 0; p < full; p += 8)
                    Transpose8x8<TR>(s0 + (long)j0 * cs + p, cs, panel + (long)p * NR + j0, NR);
            p0 = full;
        }
        for (int j = 0; j < nr; j++)
        {
            float* col = s0 + (long)j * cs;
            for (int p = p0; p < kc; p++) panel[(long)p * NR + j] = TR.Round(col[(long)p * rs]);
        }
        for (int j = nr; j < NR; j++)
            for (int p = p0; p < kc; p++) panel[(long)p * NR + j] = 0f;
    }

    /// <summary>Panels [first, last) of a B whose columns are contiguous (B(p, j) = s0[p·rs + j], N columns), written as
    /// <see cref="PackB{TK}"/> writes them but walking B row by row, so each row's span is read once, front to back.</summary>
    internal static void PackBRows<TK>(float* panels, float* s0, int rs, int N, int first, int last, int kc, Precision precision) where TK : struct, IGemmKernel
    {
        switch (precision)
        {
            case Precision.Bf16: PackBRows<TK, Bf16Operands>(panels, s0, rs, N, first, last, kc); break;
            case Precision.Fp16: PackBRows<TK, Fp16Operands>(panels, s0, rs, N, first, last, kc); break;
            default: PackBRows<TK, Fp32Operands>(panels, s0, rs, N, first, last, kc); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBRows<TK, TR>(float* panels, float* s0, int rs, int N, int first, int last, int kc) where TK : struct, IGemmKernel where TR : struct, IOperandRounding
    {
        int NR = TK.NR;
        int full = Math.Min(last, N / NR);
        for (int p = 0; p < kc; p++)
        {
            float* row = s0 + (long)p * rs;
            int panel = first;
            for (; panel < full; panel++)
                CopyRounded<TR>(row + panel * NR, panels + (long)panel * NR * kc + (long)p * NR, NR);
            for (; panel < last; panel++)
            {
                int c0 = panel * NR, nr = Math.Min(NR, N - c0);
                float* d = panels + (long)c0 * kc + (long)p * NR;
                CopyRounded<TR>(row + c0, d, nr);
                for (int j = nr; j < NR; j++) d[j] = 0f;
            }
        }
    }

    // dst[i] = round(src[i]) for i < n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRounded<TR>(float* src, float* dst, int n) where TR : struct, IOperandRounding
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) TR.Round(Vector256.Load(src + i)).Store(dst + i);
        // A tail of a row of at least 8: the last 8 again (each element rounds alone, so the overlap writes equal values).
        if (i < n && n >= 8) { TR.Round(Vector256.Load(src + n - 8)).Store(dst + n - 8); return; }
        if (n >= 4 && n < 8)
        {
            // 4..7 values (the 6-row A panel of a transposed A): the first four and the last four, overlapping, as one vector.
            var v = TR.Round(Vector256.Create(Vector128.Load(src), Vector128.Load(src + n - 4)));
            v.GetLower().Store(dst); v.GetUpper().Store(dst + n - 4);
            return;
        }
        for (; i < n; i++) dst[i] = TR.Round(src[i]);
    }

    // Rows src + r·ld (r < 8), 8 contiguous floats each, rounded and written transposed: dst[p·stride + r] = src[r·ld + p].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8x8<TR>(float* src, int ld, float* dst, int stride) where TR : struct, IOperandRounding
    {
        var r0 = TR.Round(Avx.LoadVector256(src)); var r1 = TR.Round(Avx.LoadVector256(src + ld));
        var r2 = TR.Round(Avx.LoadVector256(src + 2L * ld)); var r3 = TR.Round(Avx.LoadVector256(src + 3L * ld));
        var r4 = TR.Round(Avx.LoadVector256(src + 4L * ld)); var r5 = TR.Round(Avx.LoadVector256(src + 5L * ld));
        var r6 = TR.Round(Avx.LoadVector256(src + 6L * ld)); var r7 = TR.Round(Avx.LoadVector256(src + 7L * ld));
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + stride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * stride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * stride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * stride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * stride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * stride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * stride, Avx.Permute2x128(u3, u7, 0x31));
    }

    // Rows src + r·ld (r < 4), 8 contiguous floats each, rounded and written transposed: dst[p·stride + r] = src[r·ld + p].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose4x8<TR>(float* src, int ld, float* dst, int stride) where TR : struct, IOperandRounding
    {
        var r0 = TR.Round(Avx.LoadVector256(src)); var r1 = TR.Round(Avx.LoadVector256(src + ld));
        var r2 = TR.Round(Avx.LoadVector256(src + 2L * ld)); var r3 = TR.Round(Avx.LoadVector256(src + 3L * ld));
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        u0.GetLower().Store(dst); u1.GetLower().Store(dst + stride); u2.GetLower().Store(dst + 2 * stride); u3.GetLower().Store(dst + 3 * stride);
        u0.GetUpper().Store(dst + 4 * stride); u1.GetUpper().Store(dst + 5 * stride); u2.GetUpper().Store(dst + 6 * stride); u3.GetUpper().Store(dst + 7 * stride);
    }

    // Rows src and src + ld, 8 contiguous floats each, rounded and written transposed: dst[p·stride + r] = src[r·ld + p], r < 2.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose2x8<TR>(float* src, int ld, float* dst, int stride) where TR : struct, IOperandRounding
    {
        var r0 = TR.Round(Avx.LoadVector256(src)); var r1 = TR.Round(Avx.LoadVector256(src + ld));
        // lo = (r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]), hi the same for k 2, 3 | 6, 7: each k's pair is one 64-bit lane.
        var lo = Avx.UnpackLow(r0, r1).AsDouble(); var hi = Avx.UnpackHigh(r0, r1).AsDouble();
        Sse2.StoreScalar((double*)dst, lo.GetLower()); Sse2.StoreHigh((double*)(dst + stride), lo.GetLower());
        Sse2.StoreScalar((double*)(dst + 2 * stride), hi.GetLower()); Sse2.StoreHigh((double*)(dst + 3 * stride), hi.GetLower());
        Sse2.StoreScalar((double*)(dst + 4 * stride), lo.GetUpper()); Sse2.StoreHigh((double*)(dst + 5 * stride), lo.GetUpper());
        Sse2.StoreScalar((double*)(dst + 6 * stride), hi.GetUpper()); Sse2.StoreHigh((double*)(dst + 7 * stride), hi.GetUpper());
    }

    /// <summary>C[mr, nr] (+)= the kernel's block of A and B panels: a whole MR×NR block (or its left half, where only
    /// that is there) is merged in registers (<see cref="IGemmKernel.BlockInto"/>, <see cref="IGemmKernel.HalfInto"/>),
    /// another edge block through the MR·NR scratch <paramref name="block"/> and <see cref="Merge{TK}"/>; all give C + t
    /// (or t), so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BlockMerged<TK, TP>(int kc, float* a, byte* b, float* c, int ldc, int mr, int nr, bool overwrite, float* block)
        where TK : struct, IGemmKernel where TP : struct, IPanelFormat
    {
        if (mr == TK.MR && nr == TK.NR) TK.BlockInto<TP>(kc, a, b, c, ldc, overwrite);
        else if (mr == TK.MR && nr == TK.NR / 2) TK.HalfInto<TP>(kc, a, b, c, ldc, overwrite);
        else
        {
            TK.Block<TP>(kc, a, b, block);
            Merge<TK>(block, c, ldc, mr, nr, overwrite);
        }
    }

    /// <summary>C[mr, nr] (+)= t: the register block merged into the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Merge<TK>(float* t, float* c, int ldc, int mr, int nr, bool overwrite) where TK : struct, IGemmKernel
    {
        int NR = TK.NR;
        if (nr == NR)
        {
            for (int i = 0; i < mr; i++)
            {
                float* row = c + (long)i * ldc, ti = t + i * NR;
                if (overwrite) for (int j = 0; j < NR; j += 8) Vector256.Load(ti + j).Store(row + j);
                else for (int j = 0; j < NR; j += 8) (Vector256.Load(row + j) + Vector256.Load(ti + j)).Store(row + j);
            }
            return;
        }
        for (int i = 0; i < mr; i++)
        {
            float* row = c + (long)i * ldc;
            for (int j = 0; j < nr; j++) row[j] = overwrite ? t[i * NR + j] : row[j] + t[i * NR + j];
        }
    }
}
