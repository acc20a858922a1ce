using ILGPU;
using Minimind.Kernels.Ilgpu.Mma;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    /// <summary>
    /// Causal GQA attention forward at bf16/fp16 on tensor cores (<see cref="MmaM16n8k16"/>; its warp-shuffle fallback
    /// off CUDA, so warps must be 32 lanes). A group owns 16·Warps queries of one (b, h), a warp 16 of them. Per block of
    /// 16 keys (staged in shared memory rounded to s.Rounding, K as pairs along the head dim, V as pairs along the keys):
    /// S = Q·Kᵀ by m16n8k16 steps over the head dim, online softmax in float32 on the C fragments (row max and sum over
    /// the 4 lanes of a quad by shuffles), then O += P·V with the S fragments reused as the A fragments of P. P stays
    /// float32 as in the CPU backend: it is fed as P_hi + P_lo (two rounded parts, two mmas), which leaves P with 16
    /// (bf16) or 22 (fp16) significant bits. The output accumulator lives in shared memory (indexable, no unrolling in
    /// ILGPU); lse = m + log l is saved for the backward.
    /// </summary>
    [Kernel(typeof(FlashTile2), typeof(FlashTile1))]
    public static void FlashAttentionForward<TTile>(ArrayView<float> o, ArrayView<float> lse, ArrayView<float> q, ArrayView<float> k,
        ArrayView<float> v, AttnArgs s) where TTile : struct, IFlashTile
    {
        var Qs = SharedMemory.Allocate<uint>(default(TTile).QSize);
        var Ks = SharedMemory.Allocate<uint>(default(TTile).KSize);
        var Vs = SharedMemory.Allocate<uint>(default(TTile).VSize);
        var Os = SharedMemory.Allocate<float>(default(TTile).OSize);
        int qr = 16 * default(TTile).Warps, tid = Group.IdxX, nth = Group.DimX;
        int warp = tid >> 5, lane = tid & 31, g = lane >> 2, t4 = lane & 3, p = s.Rounding;
        int hd = s.Hd, hp = (hd + 15) & ~15, hp2 = hp >> 1, rep = s.H / s.Hkv, T = s.T;
        int tiles = (T + qr - 1) / qr, total = s.B * s.H * tiles;
        int w0 = 16 * warp + g, w1 = w0 + 8;   // this lane's two rows in the group's tile
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int qt = blk % tiles, bh = blk / tiles, h = bh % s.H, b = bh / s.H, kvh = h / rep;
            int q0 = qt * qr, r0 = q0 + w0, r1 = q0 + w1, wLast = q0 + 16 * warp + 15;
            Group.Barrier();   // the previous tile's readers of Qs/Os are done
            for (int e = tid; e < qr * hp2; e += nth)
            {
                int r = e / hp2, c = 2 * (e - r * hp2), t = q0 + r, at = ((b * T + t) * s.H + h) * hd + c;
                Qs[e] = t < T ? DeviceRounding.Pack(c < hd ? q[at] : 0f, c + 1 < hd ? q[at + 1] : 0f, p) : 0u;
            }
            for (int e = tid; e < qr * hp; e += nth) Os[e] = 0f;
            float m0 = float.NegativeInfinity, m1 = float.NegativeInfinity, l0 = 0f, l1 = 0f;
            int kEnd = Min(T, q0 + qr);
            for (int j0 = 0; j0 < kEnd; j0 += 16)
            {
                Group.Barrier();   // Q staged / the previous key block's readers are done
                for (int e = tid; e < 16 * hp2; e += nth)
                {
                    int r = e / hp2, c = 2 * (e - r * hp2), j = j0 + r, at = ((b * T + j) * s.Hkv + kvh) * hd + c;
                    Ks[e] = j < T ? DeviceRounding.Pack(c < hd ? k[at] : 0f, c + 1 < hd ? k[at + 1] : 0f, p) : 0u;
                }
                for (int e = tid; e < 8 * hp; e += nth)
                {
                    int r = e / hp, c = e - r * hp, j = j0 + 2 * r, at = ((b * T + j) * s.Hkv + kvh) * hd + c;
                    bool inHd = c < hd;
                    Vs[e] = DeviceRounding.Pack(inHd && j < T ? v[at] : 0f, inHd && j + 1 < T ? v[at + s.Hkv * hd] : 0f, p);
                }
                Group.Barrier();
                if (j0 > wLast) continue;   // warp-uniform: every key of this block is after this warp's queries

                // S = Q·Kᵀ for keys j0..j0+7 (s0) and j0+8..j0+15 (s1).
                MmaAcc s0 = default, s1 = default;
                for (int c = 0; c < hp2; c += 8)
                {
                    int cq = c + t4;
                    var a = new MmaA { R0 = Qs[w0 * hp2 + cq], R1 = Qs[w1 * hp2 + cq], R2 = Qs[w0 * hp2 + cq + 4], R3 = Qs[w1 * hp2 + cq + 4] };
                    s0 = MmaM16n8k16.Run(a, new MmaB { R0 = Ks[g * hp2 + cq], R1 = Ks[g * hp2 + cq + 4] }, s0, p);
                    s1 = MmaM16n8k16.Run(a, new MmaB { R0 = Ks[(g + 8) * hp2 + cq], R1 = Ks[(g + 8) * hp2 + cq + 4] }, s1, p);
                }

                // Online softmax: row r0 holds keys ja, ja+1, ja+8, ja+9 of this lane in (s0.D0, s0.D1, s1.D0, s1.D1), row r1 the D2/D3s.
                int ja = j0 + 2 * t4;
                float x0 = Masked(s0.D0, ja, r0, s), x1 = Masked(s0.D1, ja + 1, r0, s), x2 = Masked(s1.D0, ja + 8, r0, s), x3 = Masked(s1.D1, ja + 9, r0, s);
                float y0 = Masked(s0.D2, ja, r1, s), y1 = Masked(s0.D3, ja + 1, r1, s), y2 = Masked(s1.D2, ja + 8, r1, s), y3 = Masked(s1.D3, ja + 9, r1, s);
                float n0 = Max(m0, QuadMax(Max(Max(x0, x1), Max(x2, x3)))), n1 = Max(m1, QuadMax(Max(Max(y0, y1), Max(y2, y3))));
                // A row with no visible key yet keeps m = −∞; exp(x − 0) of its masked scores is 0.
                float e0 = n0 == float.NegativeInfinity ? 0f : n0, e1 = n1 == float.NegativeInfinity ? 0f : n1;
                float c0 = MathF.Exp(m0 - e0), c1 = MathF.Exp(m1 - e1);
                x0 = MathF.Exp(x0 - e0); x1 = MathF.Exp(x1 - e0); x2 = MathF.Exp(x2 - e0); x3 = MathF.Exp(x3 - e0);
                y0 = MathF.Exp(y0 - e1); y1 = MathF.Exp(y1 - e1); y2 = MathF.Exp(y2 - e1); y3 = MathF.Exp(y3 - e1);
                l0 = l0 * c0 + ((x0 + x1) + (x2 + x3));
                l1 = l1 * c1 + ((y0 + y1) + (y2 + y3));
                m0 = n0; m1 = n1;

                // P as A fragments (R0 = row g keys 2t,2t+1; R1 = row g+8; R2/R3 = keys 2t+8, 2t+9), split P = hi + lo.
                var hi = new MmaA
                {
                    R0 = DeviceRounding.Pack(x0, x1, p), R1 = DeviceRounding.Pack(y0, y1, p),
                    R2 = DeviceRounding.Pack(x2, x3, p), R3 = DeviceRounding.Pack(y2, y3, p),
                };
                var lo = new MmaA
                {
                    R0 = DeviceRounding.Pack(x0 - DeviceRounding.Lo(hi.R0, p), x1 - DeviceRounding.Hi(hi.R0, p), p),
                    R1 = DeviceRounding.Pack(y0 - DeviceRounding.Lo(hi.R1, p), y1 - DeviceRounding.Hi(hi.R1, p), p),
                    R2 = DeviceRounding.Pack(x2 - DeviceRounding.Lo(hi.R2, p), x3 - DeviceRounding.Hi(hi.R2, p), p),
                    R3 = DeviceRounding.Pack(y2 - DeviceRounding.Lo(hi.R3, p), y3 - DeviceRounding.Hi(hi.R3, p), p),
                };

                // O = O·corr + P·V per 8-column slice of the head dim; V's B fragment: keys 2t, 2t+1 (and +8) at column g.
                for (int n0c = 0; n0c < hp; n0c += 8)
                {
                    int a0 = w0 * hp + n0c + 2 * t4, a1 = w1 * hp + n0c + 2 * t4;
                    var acc = new MmaAcc { D0 = Os[a0] * c0, D1 = Os[a0 + 1] * c0, D2 = Os[a1] * c1, D3 = Os[a1 + 1] * c1 };
                    var bv = new MmaB { R0 = Vs[t4 * hp + n0c + g], R1 = Vs[(t4 + 4) * hp + n0c + g] };
                    acc = MmaM16n8k16.Run(hi, bv, acc, p);
                    acc = MmaM16n8k16.Run(lo, bv, acc, p);
                    Os[a0] = acc.D0; Os[a0 + 1] = acc.D1; Os[a1] = acc.D2; Os[a1 + 1] = acc.D3;
                }
            }

            // Row sums over the quad, then each lane writes the output columns it owns; lane t4 = 0 writes lse.
            l0 = QuadSum(l0); l1 = QuadSum(l1);
            float i0 = 1f / l0, i1 = 1f / l1;
            for (int n0c = 0; n0c < hp; n0c += 8)
                for (int x = 0; x < 2; x++)
                {
                    int c = n0c + 2 * t4 + x;
                    if (c >= hd) continue;
                    if (r0 < T) o[((b * T + r0) * s.H + h) * hd + c] = Os[w0 * hp + c] * i0;
                    if (r1 < T) o[((b * T + r1) * s.H + h) * hd + c] = Os[w1 * hp + c] * i1;
                }
            if (t4 == 0 && r0 < T) lse[(b * s.H + h) * T + r0] = m0 + MathF.Log(l0);
            if (t4 == 0 && r1 < T) lse[(b * s.H + h) * T + r1] = m1 + MathF.Log(l1);
        }
    }

    // scale·x when key j is visible from query i (causal, inside the sequence), else −∞.
    private static float Masked(float x, int j, int i, AttnArgs s) => j <= i && j < s.T ? x * s.Scale : float.NegativeInfinity;

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
