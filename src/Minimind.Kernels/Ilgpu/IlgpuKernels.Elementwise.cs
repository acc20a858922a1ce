using ILGPU;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    /// <summary>y[i] = value.</summary>
    [Kernel]
    public static void Fill(ArrayView<float> y, float value)
    {
        int n = y.IntLength;
        for (int i = Gid; i < n; i += GStride) y[i] = value;
    }

    /// <summary>dst[i] = src[i].</summary>
    [Kernel]
    public static void Copy(ArrayView<float> dst, ArrayView<float> src)
    {
        int n = dst.IntLength;
        for (int i = Gid; i < n; i += GStride) dst[i] = src[i];
    }

    /// <summary>y[i] = a[i] + b[i] (y may alias a or b: each element is read before it is written by one thread).</summary>
    [Kernel]
    public static void AddKernel(ArrayView<float> y, ArrayView<float> a, ArrayView<float> b)
    {
        int n = y.IntLength;
        for (int i = Gid; i < n; i += GStride) y[i] = a[i] + b[i];
    }

    /// <summary>y[i] += x[i].</summary>
    [Kernel]
    public static void AddInPlace(ArrayView<float> y, ArrayView<float> x)
    {
        int n = y.IntLength;
        for (int i = Gid; i < n; i += GStride) y[i] += x[i];
    }

    /// <summary>y[i] *= s.</summary>
    [Kernel]
    public static void Scale(ArrayView<float> y, float s)
    {
        int n = y.IntLength;
        for (int i = Gid; i < n; i += GStride) y[i] *= s;
    }

    /// <summary>h = silu(gate)·up.</summary>
    [Kernel]
    public static void SwiGlu(ArrayView<float> h, ArrayView<float> gate, ArrayView<float> up)
    {
        int n = h.IntLength;
        for (int i = Gid; i < n; i += GStride)
        {
            float g = gate[i];
            h[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary>dGate (+)= dh·up·silu'(gate); dUp (+)= dh·silu(gate) (accumulate 0: overwrite).</summary>
    [Kernel]
    public static void SwiGluBackward(ArrayView<float> dGate, ArrayView<float> dUp, ArrayView<float> dh, ArrayView<float> gate, ArrayView<float> up,
        int accumulate)
    {
        int n = dh.IntLength;
        for (int i = Gid; i < n; i += GStride)
        {
            float g = gate[i], s = 1f / (1f + MathF.Exp(-g)), d = dh[i];
            float dg = d * up[i] * (s + g * s * (1f - s)), du = d * g * s;
            dGate[i] = accumulate != 0 ? dGate[i] + dg : dg;
            dUp[i] = accumulate != 0 ? dUp[i] + du : du;
        }
    }

    /// <summary>y[i,:] = table[ids[i],:].</summary>
    [Kernel]
    public static void Embedding(ArrayView<float> y, ArrayView<int> ids, ArrayView<float> table, int count, int dim)
    {
        int n = count * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int i = e / dim, c = e - i * dim;
            y[e] = table[(long)ids[i] * dim + c];
        }
    }

    /// <summary>For each position i: links[2i] = 1 when i is the first occurrence of its id, links[2i+1] = the
    /// next position with the same id (−1 at the end). The chains let the backward sum each id's rows in
    /// ascending order without float atomics.</summary>
    [Kernel]
    public static void EmbeddingLinks(ArrayView<int> links, ArrayView<int> ids, int count)
    {
        for (int i = Gid; i < count; i += GStride)
        {
            int id = ids[i], head = 1, next = -1;
            for (int j = 0; j < i; j++) if (ids[j] == id) { head = 0; break; }
            for (int j = i + 1; j < count; j++) if (ids[j] == id) { next = j; break; }
            links[2 * i] = head;
            links[2 * i + 1] = next;
        }
    }

    /// <summary>dTable[id,c] += dy[i,c] for every i with ids[i] = id, in ascending i: the thread of the id's first
    /// position walks the chain built by <see cref="EmbeddingLinks"/>.</summary>
    [Kernel]
    public static void EmbeddingBackward(ArrayView<float> dTable, ArrayView<float> dy, ArrayView<int> ids, ArrayView<int> links, int count, int dim)
    {
        int n = count * dim;
        for (int e = Gid; e < n; e += GStride)
        {
            int i = e / dim, c = e - i * dim;
            if (links[2 * i] == 0) continue;
            long dst = (long)ids[i] * dim + c;
            float acc = dTable[dst];
            for (int j = i; j >= 0; j = links[2 * j + 1]) acc += dy[j * dim + c];
            dTable[dst] = acc;
        }
    }

    /// <summary>Rotates pairs of x [B,T,H,hd] by angle row PosOffset (+ rowStart[b]) + t (Sign −1: the inverse rotation).</summary>
    [Kernel]
    public static void Rope(ArrayView<float> x, ArrayView<float> cos, ArrayView<float> sin, ArrayView<int> rowStart, RopeArgs s)
    {
        int half = s.Hd / 2, n = s.B * s.T * s.H * half;
        for (int e = Gid; e < n; e += GStride)
        {
            int i = e % half, row = e / half;          // row = (b·T + t)·H + h
            int a = s.Position(row, rowStart) * half + i;
            float c = cos[a], sn = s.Sign * sin[a];
            int i0 = s.Interleaved != 0 ? row * s.Hd + 2 * i : row * s.Hd + i;
            int i1 = s.Interleaved != 0 ? i0 + 1 : i0 + half;
            float x0 = x[i0], x1 = x[i1];
            x[i0] = x0 * c - x1 * sn;
            x[i1] = x1 * c + x0 * sn;
        }
    }

    /// <summary>AdamW over flat buffers: <see cref="AdamScalars.Update"/>, the CPU backend's arithmetic.</summary>
    [Kernel]
    public static void AdamW(ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamScalars s)
    {
        int n = p.IntLength;
        for (int i = Gid; i < n; i += GStride)
        {
            float mi = m[i], vi = v[i];
            p[i] = s.Update(p[i], g[i], ref mi, ref vi);
            m[i] = mi; v[i] = vi;
        }
    }

    /// <summary>partial[p] = Σ g[i]² over i ≡ p (mod parts), ascending, in float64; the host adds the partials in order.</summary>
    [Kernel]
    public static void SumOfSquaresPartials(ArrayView<double> partial, ArrayView<float> g, int parts)
    {
        int n = g.IntLength;
        for (int p = Gid; p < parts; p += GStride)
        {
            double acc = 0;
            for (int i = p; i < n; i += parts) { double x = g[i]; acc += x * x; }
            partial[p] = acc;
        }
    }
}
