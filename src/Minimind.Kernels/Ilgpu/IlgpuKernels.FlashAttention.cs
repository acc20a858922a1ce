using ILGPU;
using Minimind.Kernels.Ilgpu.Mma;

namespace Minimind.Kernels.Ilgpu;

// Tensor-core flash attention at bf16/fp16: every inner product is an m16n8k16 step of MmaM16n8k16 (its warp-shuffle
// fallback off CUDA, so warps must be 32 lanes). Operand tiles are staged in shared memory already rounded, as .b32
// pairs: "along the head dim" ([row][dim pair]) where the head dim is the mma's k, "transposed" ([dim][row pair]) where
// the 16 rows of a block are k. Head dims are padded with zeros to a multiple of 16 (hp). A C fragment of a 16×16
// product (two n8 tiles) is reused as the A fragment of the next product (FlashAttention-2's register reuse); P and dS
// stay float32 as in the CPU backend by feeding them as hi + lo (two rounded parts, two mmas: 16 significant bits at
// bf16, 22 at fp16). Accumulators live in shared memory (ILGPU does not unroll loops, so a register array cannot be
// indexed); each lane owns its fragment's entries, so they need no barrier.
public static partial class IlgpuKernels
{
    /// <summary>
    /// Causal GQA attention forward on tensor cores. A group owns 16·Warps queries of one (b, h), a warp 16 of them.
    /// Per block of 16 keys: S = Q·Kᵀ, online softmax in float32 on the C fragments (row max and sum over the 4 lanes of
    /// a quad by shuffles), O = O·corr + P·V. lse = m + log l is saved for the backward.
    /// </summary>
    [Kernel(typeof(FlashTile2), typeof(FlashTile1))]
    public static void FlashAttentionForward<TTile>(ArrayView<float> o, ArrayView<float> lse, ArrayView<float> q, ArrayView<float> k,
        ArrayView<float> v, AttnArgs s) where TTile : struct, IFlashTile
    {
        var Qs = SharedMemory.Allocate<uint>(default(TTile).QSize);
        var Ks = SharedMemory.Allocate<uint>(default(TTile).KSize);
        var Vt = SharedMemory.Allocate<uint>(default(TTile).VSize);
        var Os = SharedMemory.Allocate<float>(default(TTile).OSize);
        int qr = 16 * default(TTile).Warps, lane = Group.IdxX & 31, g = lane >> 2, t4 = lane & 3, p = s.Precision;
        int hd = s.Hd, hp = (hd + 15) & ~15, hp2 = hp >> 1, T = s.T, qs = s.H * hd, ks = s.Hkv * hd;
        int w0 = 16 * (Group.IdxX >> 5) + g, w1 = w0 + 8;   // this lane's two rows in the group's tile
        int tiles = (T + qr - 1) / qr, total = s.B * s.H * tiles;
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int qt = blk % tiles, bh = blk / tiles, h = bh % s.H, b = bh / s.H, kvh = h / (s.H / s.Hkv);
            int q0 = qt * qr, r0 = q0 + w0, r1 = q0 + w1, wLast = q0 + w0 - g + 15;
            Group.Barrier();   // the previous tile's readers of Qs/Os are done
            StagePairs(Qs, q, b * T * qs + h * hd, qs, q0, qr, T, hd, hp2, p);
            ZeroShared(Os, qr * hp);
            float m0 = float.NegativeInfinity, m1 = float.NegativeInfinity, l0 = 0f, l1 = 0f;
            for (int j0 = 0; j0 < Min(T, q0 + qr); j0 += 16)
            {
                Group.Barrier();   // Q staged / the previous key block's readers are done
                StagePairs(Ks, k, b * T * ks + kvh * hd, ks, j0, 16, T, hd, hp2, p);
                StageTransposed(Vt, v, b * T * ks + kvh * hd, ks, j0, T, hd, hp, p);
                Group.Barrier();
                if (j0 > wLast) continue;   // warp-uniform: every key of the block is after this warp's queries

                var s0 = default(MmaAcc); var s1 = default(MmaAcc);
                TileProduct(Qs, w0, Ks, g, hp2, t4, p, ref s0, ref s1);
                int ja = j0 + 2 * t4;
                // Row r0 holds this lane's keys ja, ja+1, ja+8, ja+9 in s0.D0, s0.D1, s1.D0, s1.D1; row r1 in the D2/D3s.
                s0.D0 = Score(s0.D0, ja, r0, s); s0.D1 = Score(s0.D1, ja + 1, r0, s); s1.D0 = Score(s1.D0, ja + 8, r0, s); s1.D1 = Score(s1.D1, ja + 9, r0, s);
                s0.D2 = Score(s0.D2, ja, r1, s); s0.D3 = Score(s0.D3, ja + 1, r1, s); s1.D2 = Score(s1.D2, ja + 8, r1, s); s1.D3 = Score(s1.D3, ja + 9, r1, s);
                float n0 = Max(m0, QuadMax(Max(Max(s0.D0, s0.D1), Max(s1.D0, s1.D1)))), n1 = Max(m1, QuadMax(Max(Max(s0.D2, s0.D3), Max(s1.D2, s1.D3))));
                // A row with no visible key yet keeps m = −∞; exp(x − 0) of its masked scores is 0.
                float e0 = n0 == float.NegativeInfinity ? 0f : n0, e1 = n1 == float.NegativeInfinity ? 0f : n1;
                float c0 = MathF.Exp(m0 - e0), c1 = MathF.Exp(m1 - e1);
                s0.D0 = MathF.Exp(s0.D0 - e0); s0.D1 = MathF.Exp(s0.D1 - e0); s1.D0 = MathF.Exp(s1.D0 - e0); s1.D1 = MathF.Exp(s1.D1 - e0);
                s0.D2 = MathF.Exp(s0.D2 - e1); s0.D3 = MathF.Exp(s0.D3 - e1); s1.D2 = MathF.Exp(s1.D2 - e1); s1.D3 = MathF.Exp(s1.D3 - e1);
                l0 = l0 * c0 + ((s0.D0 + s0.D1) + (s1.D0 + s1.D1));
                l1 = l1 * c1 + ((s0.D2 + s0.D3) + (s1.D2 + s1.D3));
                m0 = n0; m1 = n1;
                AccumulateProduct(Os, w0, hp, s0, s1, Vt, c0, c1, g, t4, p);
            }

            // Row sums over the quad, then each lane writes the output columns it owns; lane t4 = 0 writes lse.
            l0 = QuadSum(l0); l1 = QuadSum(l1);
            WriteRows(o, Os, b * T * qs + h * hd, qs, r0, r1, w0, hp, hd, T, 1f / l0, 1f / l1, t4, 0);
            if (t4 == 0 && r0 < T) lse[(b * s.H + h) * T + r0] = m0 + MathF.Log(l0);
            if (t4 == 0 && r1 < T) lse[(b * s.H + h) * T + r1] = m1 + MathF.Log(l1);
        }
    }

    /// <summary>
    /// dq (+)= scale·Σ_j dS·K on tensor cores (overwritten when s.Accumulate is 0): a warp owns 16 queries of one (b, h);
    /// per block of 16 keys S = Q·Kᵀ and dP = dO·Vᵀ are recomputed, P = exp(scale·S − lse), dS = P∘(dP − D), and
    /// dS·K is added in ascending key order.
    /// </summary>
    [Kernel(typeof(FlashTile2), typeof(FlashTile1))]
    public static void FlashAttentionBackwardQuery<TTile>(ArrayView<float> dq, ArrayView<float> dO, ArrayView<float> q, ArrayView<float> k,
        ArrayView<float> v, ArrayView<float> lse, ArrayView<float> dDot, AttnArgs s) where TTile : struct, IFlashTile
    {
        var Qs = SharedMemory.Allocate<uint>(default(TTile).QSize);
        var Gs = SharedMemory.Allocate<uint>(default(TTile).QSize);
        var Ks = SharedMemory.Allocate<uint>(default(TTile).KSize);
        var Vs = SharedMemory.Allocate<uint>(default(TTile).KSize);
        var Kt = SharedMemory.Allocate<uint>(default(TTile).VSize);
        var Acc = SharedMemory.Allocate<float>(default(TTile).OSize);
        int qr = 16 * default(TTile).Warps, lane = Group.IdxX & 31, g = lane >> 2, t4 = lane & 3, p = s.Precision;
        int hd = s.Hd, hp = (hd + 15) & ~15, hp2 = hp >> 1, T = s.T, qs = s.H * hd, ks = s.Hkv * hd;
        int w0 = 16 * (Group.IdxX >> 5) + g, w1 = w0 + 8;
        int tiles = (T + qr - 1) / qr, total = s.B * s.H * tiles;
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int qt = blk % tiles, bh = blk / tiles, h = bh % s.H, b = bh / s.H, kvh = h / (s.H / s.Hkv);
            int q0 = qt * qr, r0 = q0 + w0, r1 = q0 + w1, wLast = q0 + w0 - g + 15, qBase = b * T * qs + h * hd, kBase = b * T * ks + kvh * hd;
            int li = (b * s.H + h) * T;
            float lse0 = r0 < T ? lse[li + r0] : 0f, lse1 = r1 < T ? lse[li + r1] : 0f;
            float d0 = r0 < T ? dDot[li + r0] : 0f, d1 = r1 < T ? dDot[li + r1] : 0f;
            Group.Barrier();
            StagePairs(Qs, q, qBase, qs, q0, qr, T, hd, hp2, p);
            StagePairs(Gs, dO, qBase, qs, q0, qr, T, hd, hp2, p);
            ZeroShared(Acc, qr * hp);
            for (int j0 = 0; j0 < Min(T, q0 + qr); j0 += 16)
            {
                Group.Barrier();
                StagePairs(Ks, k, kBase, ks, j0, 16, T, hd, hp2, p);
                StagePairs(Vs, v, kBase, ks, j0, 16, T, hd, hp2, p);
                StageTransposed(Kt, k, kBase, ks, j0, T, hd, hp, p);
                Group.Barrier();
                if (j0 > wLast) continue;

                var s0 = default(MmaAcc); var s1 = default(MmaAcc); var g0 = default(MmaAcc); var g1 = default(MmaAcc);
                TileProduct(Qs, w0, Ks, g, hp2, t4, p, ref s0, ref s1);
                TileProduct(Gs, w0, Vs, g, hp2, t4, p, ref g0, ref g1);
                int ja = j0 + 2 * t4;
                g0.D0 = ScoreGrad(s0.D0, g0.D0, ja, r0, lse0, d0, s); g0.D1 = ScoreGrad(s0.D1, g0.D1, ja + 1, r0, lse0, d0, s);
                g1.D0 = ScoreGrad(s1.D0, g1.D0, ja + 8, r0, lse0, d0, s); g1.D1 = ScoreGrad(s1.D1, g1.D1, ja + 9, r0, lse0, d0, s);
                g0.D2 = ScoreGrad(s0.D2, g0.D2, ja, r1, lse1, d1, s); g0.D3 = ScoreGrad(s0.D3, g0.D3, ja + 1, r1, lse1, d1, s);
                g1.D2 = ScoreGrad(s1.D2, g1.D2, ja + 8, r1, lse1, d1, s); g1.D3 = ScoreGrad(s1.D3, g1.D3, ja + 9, r1, lse1, d1, s);
                AccumulateProduct(Acc, w0, hp, g0, g1, Kt, 1f, 1f, g, t4, p);
            }
            WriteRows(dq, Acc, qBase, qs, r0, r1, w0, hp, hd, T, s.Scale, s.Scale, t4, s.Accumulate);
        }
    }

    /// <summary>
    /// dk (+)= scale·Σ dSᵀ·Q and dv (+)= Σ Pᵀ·dO on tensor cores (overwritten when s.Accumulate is 0): a warp owns 16 keys
    /// of one (b, kv head); for each query head of the kv head in ascending order, query blocks of 16 from the diagonal
    /// on recompute Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ and add their terms in ascending query order (no atomics).
    /// </summary>
    [Kernel(typeof(FlashTile1))]
    public static void FlashAttentionBackwardKeyValue<TTile>(ArrayView<float> dk, ArrayView<float> dv, ArrayView<float> dO, ArrayView<float> q,
        ArrayView<float> k, ArrayView<float> v, ArrayView<float> lse, ArrayView<float> dDot, AttnArgs s) where TTile : struct, IFlashTile
    {
        var Ks = SharedMemory.Allocate<uint>(default(TTile).QSize);
        var Vs = SharedMemory.Allocate<uint>(default(TTile).QSize);
        var Qs = SharedMemory.Allocate<uint>(default(TTile).KSize);
        var Gs = SharedMemory.Allocate<uint>(default(TTile).KSize);
        var Qt = SharedMemory.Allocate<uint>(default(TTile).VSize);
        var Gt = SharedMemory.Allocate<uint>(default(TTile).VSize);
        var dKs = SharedMemory.Allocate<float>(default(TTile).OSize);
        var dVs = SharedMemory.Allocate<float>(default(TTile).OSize);
        var Ls = SharedMemory.Allocate<float>(16);
        var Ds = SharedMemory.Allocate<float>(16);
        int kr = 16 * default(TTile).Warps, tid = Group.IdxX, lane = tid & 31, g = lane >> 2, t4 = lane & 3, p = s.Precision;
        int hd = s.Hd, hp = (hd + 15) & ~15, hp2 = hp >> 1, T = s.T, qs = s.H * hd, ks = s.Hkv * hd, rep = s.H / s.Hkv;
        int w0 = 16 * (tid >> 5) + g, w1 = w0 + 8;
        int tiles = (T + kr - 1) / kr, total = s.B * s.Hkv * tiles;
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int kt = blk % tiles, bk = blk / tiles, kvh = bk % s.Hkv, b = bk / s.Hkv;
            int k0 = kt * kr, j0 = k0 + w0, j1 = k0 + w1, wFirst = k0 + w0 - g, kBase = b * T * ks + kvh * hd;
            Group.Barrier();
            StagePairs(Ks, k, kBase, ks, k0, kr, T, hd, hp2, p);
            StagePairs(Vs, v, kBase, ks, k0, kr, T, hd, hp2, p);
            ZeroShared(dKs, kr * hp);
            ZeroShared(dVs, kr * hp);
            for (int hh = 0; hh < rep; hh++)
            {
                int h = kvh * rep + hh, qBase = b * T * qs + h * hd, li = (b * s.H + h) * T;
                for (int i0 = k0; i0 < T; i0 += 16)
                {
                    Group.Barrier();
                    StagePairs(Qs, q, qBase, qs, i0, 16, T, hd, hp2, p);
                    StagePairs(Gs, dO, qBase, qs, i0, 16, T, hd, hp2, p);
                    StageTransposed(Qt, q, qBase, qs, i0, T, hd, hp, p);
                    StageTransposed(Gt, dO, qBase, qs, i0, T, hd, hp, p);
                    if (tid < 16) { Ls[tid] = i0 + tid < T ? lse[li + i0 + tid] : 0f; Ds[tid] = i0 + tid < T ? dDot[li + i0 + tid] : 0f; }
                    Group.Barrier();
                    if (i0 + 15 < wFirst) continue;   // warp-uniform: every query of the block is before this warp's keys

                    // Pᵀ and dSᵀ: rows are keys j0 / j1, columns are this lane's queries ia, ia+1 (s0/g0) and ia+8, ia+9 (s1/g1).
                    var s0 = default(MmaAcc); var s1 = default(MmaAcc); var g0 = default(MmaAcc); var g1 = default(MmaAcc);
                    TileProduct(Ks, w0, Qs, g, hp2, t4, p, ref s0, ref s1);
                    TileProduct(Vs, w0, Gs, g, hp2, t4, p, ref g0, ref g1);
                    int ia = i0 + 2 * t4, c = 2 * t4;
                    float pa = Prob(s0.D0, j0, ia, Ls[c], s), pb = Prob(s0.D1, j0, ia + 1, Ls[c + 1], s);
                    float pc = Prob(s1.D0, j0, ia + 8, Ls[c + 8], s), pd = Prob(s1.D1, j0, ia + 9, Ls[c + 9], s);
                    float pe = Prob(s0.D2, j1, ia, Ls[c], s), pf = Prob(s0.D3, j1, ia + 1, Ls[c + 1], s);
                    float pg = Prob(s1.D2, j1, ia + 8, Ls[c + 8], s), ph = Prob(s1.D3, j1, ia + 9, Ls[c + 9], s);
                    g0.D0 = pa * (g0.D0 - Ds[c]); g0.D1 = pb * (g0.D1 - Ds[c + 1]); g1.D0 = pc * (g1.D0 - Ds[c + 8]); g1.D1 = pd * (g1.D1 - Ds[c + 9]);
                    g0.D2 = pe * (g0.D2 - Ds[c]); g0.D3 = pf * (g0.D3 - Ds[c + 1]); g1.D2 = pg * (g1.D2 - Ds[c + 8]); g1.D3 = ph * (g1.D3 - Ds[c + 9]);
                    s0.D0 = pa; s0.D1 = pb; s1.D0 = pc; s1.D1 = pd; s0.D2 = pe; s0.D3 = pf; s1.D2 = pg; s1.D3 = ph;
                    AccumulateProduct(dVs, w0, hp, s0, s1, Gt, 1f, 1f, g, t4, p);
                    AccumulateProduct(dKs, w0, hp, g0, g1, Qt, 1f, 1f, g, t4, p);
                }
            }
            WriteRows(dk, dKs, kBase, ks, j0, j1, w0, hp, hd, T, s.Scale, s.Scale, t4, s.Accumulate);
            WriteRows(dv, dVs, kBase, ks, j0, j1, w0, hp, hd, T, 1f, 1f, t4, s.Accumulate);
        }
    }

    // dst[r·hp2 + c/2] = the pair (c, c+1) of token row first + r (r < rows) of src, rounded and packed; zeros past T and hd.
    // Token t's row starts at src[at + t·stride]. Called by every thread of the group.
    private static void StagePairs(ArrayView<uint> dst, ArrayView<float> src, int at, int stride, int first, int rows, int T, int hd, int hp2, int p)
    {
        for (int e = Group.IdxX; e < rows * hp2; e += Group.DimX)
        {
            int r = e / hp2, c = 2 * (e - r * hp2), t = first + r, i = at + t * stride + c;
            dst[e] = t < T ? DeviceRounding.Pack(c < hd ? src[i] : 0f, c + 1 < hd ? src[i + 1] : 0f, p) : 0u;
        }
    }

    // dst[n·8 + r] = the pair of token rows first + 2r, first + 2r + 1 at head-dim column n (n < hp), rounded and packed.
    private static void StageTransposed(ArrayView<uint> dst, ArrayView<float> src, int at, int stride, int first, int T, int hd, int hp, int p)
    {
        for (int e = Group.IdxX; e < 8 * hp; e += Group.DimX)
        {
            int n = e >> 3, t = first + 2 * (e & 7), i = at + t * stride + n;
            bool inHd = n < hd;
            dst[e] = DeviceRounding.Pack(inHd && t < T ? src[i] : 0f, inHd && t + 1 < T ? src[i + stride] : 0f, p);
        }
    }

    private static void ZeroShared(ArrayView<float> a, int n)
    {
        for (int e = Group.IdxX; e < n; e += Group.DimX) a[e] = 0f;
    }

    // c0 (columns 0..7) and c1 (8..15) += A·Bᵀ over the padded head dim: A rows a0, a0+8 and B rows b0, b0+8 of two
    // along-the-head-dim tiles (m16n8k16's A row-major, B ".col": B[k][n] = Bt[n][k]).
    private static void TileProduct(ArrayView<uint> a, int a0, ArrayView<uint> bt, int b0, int hp2, int t4, int p, ref MmaAcc c0, ref MmaAcc c1)
    {
        for (int c0p = 0; c0p < hp2; c0p += 8)   // a lane-independent trip count keeps the warp converged at the mma
        {
            int c = c0p + t4;
            var fa = new MmaA { R0 = a[a0 * hp2 + c], R1 = a[(a0 + 8) * hp2 + c], R2 = a[a0 * hp2 + c + 4], R3 = a[(a0 + 8) * hp2 + c + 4] };
            c0 = MmaM16n8k16.Run(fa, new MmaB { R0 = bt[b0 * hp2 + c], R1 = bt[b0 * hp2 + c + 4] }, c0, p);
            c1 = MmaM16n8k16.Run(fa, new MmaB { R0 = bt[(b0 + 8) * hp2 + c], R1 = bt[(b0 + 8) * hp2 + c + 4] }, c1, p);
        }
    }

    // acc[rows a0, a0+8][hp] = acc·(corr0, corr1) + X·B for the 16×16 float32 X held as C fragments x0 (k 0..7), x1 (k 8..15),
    // fed as hi + lo; B is a transposed tile (k = its 16 rows).
    private static void AccumulateProduct(ArrayView<float> acc, int a0, int hp, MmaAcc x0, MmaAcc x1, ArrayView<uint> bt, float corr0, float corr1,
        int g, int t4, int p)
    {
        var hi = new MmaA
        {
            R0 = DeviceRounding.Pack(x0.D0, x0.D1, p), R1 = DeviceRounding.Pack(x0.D2, x0.D3, p),
            R2 = DeviceRounding.Pack(x1.D0, x1.D1, p), R3 = DeviceRounding.Pack(x1.D2, x1.D3, p),
        };
        var lo = new MmaA
        {
            R0 = DeviceRounding.Pack(x0.D0 - DeviceRounding.Lo(hi.R0, p), x0.D1 - DeviceRounding.Hi(hi.R0, p), p),
            R1 = DeviceRounding.Pack(x0.D2 - DeviceRounding.Lo(hi.R1, p), x0.D3 - DeviceRounding.Hi(hi.R1, p), p),
            R2 = DeviceRounding.Pack(x1.D0 - DeviceRounding.Lo(hi.R2, p), x1.D1 - DeviceRounding.Hi(hi.R2, p), p),
            R3 = DeviceRounding.Pack(x1.D2 - DeviceRounding.Lo(hi.R3, p), x1.D3 - DeviceRounding.Hi(hi.R3, p), p),
        };
        for (int n = 0; n < hp; n += 8)
        {
            int i0 = a0 * hp + n + 2 * t4, i1 = i0 + 8 * hp;
            var c = new MmaAcc { D0 = acc[i0] * corr0, D1 = acc[i0 + 1] * corr0, D2 = acc[i1] * corr1, D3 = acc[i1 + 1] * corr1 };
            var fb = new MmaB { R0 = bt[(n + g) * 8 + t4], R1 = bt[(n + g) * 8 + t4 + 4] };
            c = MmaM16n8k16.Run(hi, fb, c, p);
            c = MmaM16n8k16.Run(lo, fb, c, p);
            acc[i0] = c.D0; acc[i0 + 1] = c.D1; acc[i1] = c.D2; acc[i1 + 1] = c.D3;
        }
    }

    // The lane's entries of accumulator rows a0 (token r0) and a0+8 (token r1) times f0/f1 into dst (+= when accumulate is 1).
    private static void WriteRows(ArrayView<float> dst, ArrayView<float> acc, int at, int stride, int r0, int r1, int a0, int hp, int hd, int T,
        float f0, float f1, int t4, int accumulate)
    {
        for (int n = 0; n < hp; n += 8)
            for (int x = 0; x < 2; x++)
            {
                int c = n + 2 * t4 + x;
                if (c >= hd) continue;
                if (r0 < T) { int i = at + r0 * stride + c; float y = acc[a0 * hp + c] * f0; dst[i] = accumulate != 0 ? dst[i] + y : y; }
                if (r1 < T) { int i = at + r1 * stride + c; float y = acc[(a0 + 8) * hp + c] * f1; dst[i] = accumulate != 0 ? dst[i] + y : y; }
            }
    }

    // Key j is visible from query i when j ≤ i and i is inside the sequence (so j is too).
    private static float Score(float x, int j, int i, AttnArgs s) => j <= i && i < s.T ? x * s.Scale : float.NegativeInfinity;

    // P = exp(scale·s − lse) for key j of query i, 0 where masked.
    private static float Prob(float x, int j, int i, float rowLse, AttnArgs s) => j <= i && i < s.T ? MathF.Exp(x * s.Scale - rowLse) : 0f;

    // dS = P·(dP − D) of key j for query i.
    private static float ScoreGrad(float x, float dp, int j, int i, float rowLse, float rowD, AttnArgs s) => Prob(x, j, i, rowLse, s) * (dp - rowD);

    // Max / sum over the 4 lanes of a quad (lanes 4g..4g+3 hold one row of a C fragment); every lane gets the same bits.
    private static float QuadMax(float x)
    {
        x = Max(x, Warp.ShuffleXor(x, 1));
        return Max(x, Warp.ShuffleXor(x, 2));
    }

    private static float QuadSum(float x)
    {
        x += Warp.ShuffleXor(x, 1);
        return x + Warp.ShuffleXor(x, 2);
    }
}
