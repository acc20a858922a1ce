using ILGPU;
using Minimind.Kernels.Ilgpu.Mma;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    // Words per shared row: 8 packed k-pairs of a 16-deep slice + 4 of padding (see IGemmMmaTile).
    private const int MmaRow = 12;

    /// <summary>
    /// Tensor-core GEMM for bf16 operands (fp16: <see cref="GemmMmaFp16{TTile}"/>), float32 accumulation and output, on a warp of 32:
    /// a group owns a (32·WarpRows)×(16·WarpCols) block of C and each warp 2×2 m16n8 fragments of it. Operands are
    /// rounded and packed two per word while staged into shared memory, rows = M (A) or N (B) with k-pairs along the
    /// row, which is the register format of the mma fragments. Double-buffered: slice k+1 is read from global memory
    /// into registers before slice k is multiplied from shared memory, then stored to the other buffer, so one barrier
    /// per slice suffices. Edges are zero-padded (zero rounds to zero); C is written only inside M×N.
    /// One kernel per format, so the format is a constant in each and the mma has one instruction string.
    /// </summary>
    [Kernel(typeof(GemmMmaTile64), typeof(GemmMmaTile32))]
    public static void GemmMmaBf16<TTile>(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s)
        where TTile : struct, IGemmMmaTile => GemmMma<TTile>(c, a, b, s, 1);

    /// <summary><see cref="GemmMmaBf16{TTile}"/> with fp16 operands.</summary>
    [Kernel(typeof(GemmMmaTile64), typeof(GemmMmaTile32))]
    public static void GemmMmaFp16<TTile>(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s)
        where TTile : struct, IGemmMmaTile => GemmMma<TTile>(c, a, b, s, 2);

    private static void GemmMma<TTile>(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s, int p)
        where TTile : struct, IGemmMmaTile
    {
        int wc = default(TTile).WarpCols, bm = 32 * default(TTile).WarpRows, bn = 16 * wc;
        int pa = default(TTile).PairsA, pb = default(TTile).PairsB;
        var As = SharedMemory.Allocate<uint>(default(TTile).ASize);   // [2][bm][MmaRow]
        var Bs = SharedMemory.Allocate<uint>(default(TTile).BSize);   // [2][bn][MmaRow]
        int tid = Group.IdxX, n = Group.DimX;
        int warp = tid / 32, lane = tid % 32, g = lane >> 2, t = lane & 3;
        int wm0 = (warp / wc) * 32, wn0 = (warp % wc) * 16;
        int tilesM = (s.M + bm - 1) / bm, tilesN = (s.N + bn - 1) / bn, slices = (s.K + 15) / 16;
        for (int tile = Grid.IdxX; tile < tilesM * tilesN; tile += Grid.DimX)
        {
            int i0 = (tile / tilesN) * bm, j0 = (tile % tilesN) * bn;
            MmaAcc c00 = default, c01 = default, c10 = default, c11 = default;
            // Slice 0 into registers; each iteration stores the registers' slice, fetches the next one, multiplies.
            uint ra0 = 0, ra1 = 0, ra2 = 0, ra3 = 0, rb0 = 0, rb1 = 0, rb2 = 0, rb3 = 0;
            ra0 = LoadPair(a, tid, bm, i0, s.M, s.Sai, s.Sap, 0, s.K, p);
            if (pa > 1) ra1 = LoadPair(a, tid + n, bm, i0, s.M, s.Sai, s.Sap, 0, s.K, p);
            if (pa > 2) ra2 = LoadPair(a, tid + 2 * n, bm, i0, s.M, s.Sai, s.Sap, 0, s.K, p);
            if (pa > 3) ra3 = LoadPair(a, tid + 3 * n, bm, i0, s.M, s.Sai, s.Sap, 0, s.K, p);
            rb0 = LoadPair(b, tid, bn, j0, s.N, s.Sbj, s.Sbp, 0, s.K, p);
            if (pb > 1) rb1 = LoadPair(b, tid + n, bn, j0, s.N, s.Sbj, s.Sbp, 0, s.K, p);
            if (pb > 2) rb2 = LoadPair(b, tid + 2 * n, bn, j0, s.N, s.Sbj, s.Sbp, 0, s.K, p);
            if (pb > 3) rb3 = LoadPair(b, tid + 3 * n, bn, j0, s.N, s.Sbj, s.Sbp, 0, s.K, p);
            for (int ks = 0; ks < slices; ks++)
            {
                int ab = (ks & 1) * bm * MmaRow, bb = (ks & 1) * bn * MmaRow;
                // Buffer ks&1 was last read in slice ks-2, which every thread finished before the barrier of slice ks-1.
                StorePair(As, ab, tid, bm, s.Sap, ra0);
                if (pa > 1) StorePair(As, ab, tid + n, bm, s.Sap, ra1);
                if (pa > 2) StorePair(As, ab, tid + 2 * n, bm, s.Sap, ra2);
                if (pa > 3) StorePair(As, ab, tid + 3 * n, bm, s.Sap, ra3);
                StorePair(Bs, bb, tid, bn, s.Sbp, rb0);
                if (pb > 1) StorePair(Bs, bb, tid + n, bn, s.Sbp, rb1);
                if (pb > 2) StorePair(Bs, bb, tid + 2 * n, bn, s.Sbp, rb2);
                if (pb > 3) StorePair(Bs, bb, tid + 3 * n, bn, s.Sbp, rb3);
                Group.Barrier();
                if (ks + 1 < slices)
                {
                    // The next slice's global reads are in flight while this slice's mma run.
                    int k0 = (ks + 1) * 16;
                    ra0 = LoadPair(a, tid, bm, i0, s.M, s.Sai, s.Sap, k0, s.K, p);
                    if (pa > 1) ra1 = LoadPair(a, tid + n, bm, i0, s.M, s.Sai, s.Sap, k0, s.K, p);
                    if (pa > 2) ra2 = LoadPair(a, tid + 2 * n, bm, i0, s.M, s.Sai, s.Sap, k0, s.K, p);
                    if (pa > 3) ra3 = LoadPair(a, tid + 3 * n, bm, i0, s.M, s.Sai, s.Sap, k0, s.K, p);
                    rb0 = LoadPair(b, tid, bn, j0, s.N, s.Sbj, s.Sbp, k0, s.K, p);
                    if (pb > 1) rb1 = LoadPair(b, tid + n, bn, j0, s.N, s.Sbj, s.Sbp, k0, s.K, p);
                    if (pb > 2) rb2 = LoadPair(b, tid + 2 * n, bn, j0, s.N, s.Sbj, s.Sbp, k0, s.K, p);
                    if (pb > 3) rb3 = LoadPair(b, tid + 3 * n, bn, j0, s.N, s.Sbj, s.Sbp, k0, s.K, p);
                }
                MmaA f0 = FragA(As, ab + (wm0 + g) * MmaRow + t), f1 = FragA(As, ab + (wm0 + 16 + g) * MmaRow + t);
                MmaB h0 = FragB(Bs, bb + (wn0 + g) * MmaRow + t), h1 = FragB(Bs, bb + (wn0 + 8 + g) * MmaRow + t);
                c00 = MmaM16n8k16.Run(f0, h0, c00, p);
                c01 = MmaM16n8k16.Run(f0, h1, c01, p);
                c10 = MmaM16n8k16.Run(f1, h0, c10, p);
                c11 = MmaM16n8k16.Run(f1, h1, c11, p);
            }
            int r = i0 + wm0 + g, col = j0 + wn0 + 2 * t;
            StoreFragment(c, s, r, col, c00);
            StoreFragment(c, s, r, col + 8, c01);
            StoreFragment(c, s, r + 16, col, c10);
            StoreFragment(c, s, r + 16, col + 8, c11);
            Group.Barrier();   // the next tile's first store may hit the buffer of this tile's last slice
        }
    }

    // Pair e of a slice: (row, k-pair) with threads consecutive along the operand's contiguous axis so reads coalesce.
    private static int PairRow(int e, int rows, int kStride) => kStride == 1 ? e >> 3 : e % rows;
    private static int PairK(int e, int rows, int kStride) => kStride == 1 ? e & 7 : e / rows;

    // Elements (row0 + row, k0 + 2kp) and (…, k0 + 2kp + 1) of x(r, k) = x[r·rowStride + k·kStride], rounded and packed; 0 outside.
    private static uint LoadPair(ArrayView<float> x, int e, int rows, int row0, int extent, int rowStride, int kStride, int k0, int k, int p)
    {
        int gr = row0 + PairRow(e, rows, kStride), gk = k0 + 2 * PairK(e, rows, kStride);
        float lo = 0f, hi = 0f;
        if (gr < extent)
        {
            int at = gr * rowStride + gk * kStride;
            if (gk < k) lo = x[at];
            if (gk + 1 < k) hi = x[at + kStride];
        }
        return DeviceRounding.Pack(lo, hi, p);
    }

    private static void StorePair(ArrayView<uint> sh, int buffer, int e, int rows, int kStride, uint v) =>
        sh[buffer + PairRow(e, rows, kStride) * MmaRow + PairK(e, rows, kStride)] = v;

    // A fragment at (row g, pair t) of a 16-row block: rows g and g+8, pairs t and t+4 (k and k+8).
    private static MmaA FragA(ArrayView<uint> sh, int at) =>
        new() { R0 = sh[at], R1 = sh[at + 8 * MmaRow], R2 = sh[at + 4], R3 = sh[at + 8 * MmaRow + 4] };

    private static MmaB FragB(ArrayView<uint> sh, int at) => new() { R0 = sh[at], R1 = sh[at + 4] };

    // D fragment: (r, col), (r, col+1), (r+8, col), (r+8, col+1), inside M×N only.
    private static void StoreFragment(ArrayView<float> c, GemmArgs s, int r, int col, MmaAcc d)
    {
        if (r < s.M)
        {
            if (col < s.N) Store1(c, s, r * s.N + col, d.D0);
            if (col + 1 < s.N) Store1(c, s, r * s.N + col + 1, d.D1);
        }
        if (r + 8 < s.M)
        {
            if (col < s.N) Store1(c, s, (r + 8) * s.N + col, d.D2);
            if (col + 1 < s.N) Store1(c, s, (r + 8) * s.N + col + 1, d.D3);
        }
    }
}
