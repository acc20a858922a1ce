using System.Runtime.InteropServices;

namespace Minimind.Kernels.Distributed;

/// <summary>
/// Sums one float vector across ranks in a fixed tree order and leaves the sum on every rank.
/// <para>
/// W a power of two: recursive halving (reduce-scatter; round k pairs rank r with r ⊕ 2^k and adds the
/// lower group's partial + the higher group's) then recursive doubling (all-gather, the rounds in
/// reverse). The combination order is the perfect binary tree over the ranks' contiguous subtrees, so
/// with each rank holding the pairwise sum of its own block of leaves the result is the pairwise sum of
/// all leaves, bit for bit what one process computes. Each rank sends 2·(W−1)/W of the vector.
/// </para>
/// <para>
/// Other W: the ranks above the largest power of two P first hand their vector to rank r − P (lower +
/// higher), the P core ranks run the tree, and the sum goes back. Deterministic at a fixed W, but not
/// the same tree as one process, so not bit-identical across world sizes.
/// </para>
/// Ranks at or above <c>presentRanks</c> hold no data (their blocks of leaves are past the end of the
/// epoch): their partials are skipped, not added as zeros, so the sign of a zero is kept exactly.
/// </summary>
public sealed class TreeAllReduce
{
    private readonly ICommunicator _c;
    private float[] _scratch = Array.Empty<float>();

    /// <summary>Bytes this rank sent in the last <see cref="Run"/>.</summary>
    public long BytesSent { get; private set; }

    /// <summary>A reducer over <paramref name="comm"/>.</summary>
    public TreeAllReduce(ICommunicator comm) => _c = comm;

    /// <summary>True when the cross-rank tree equals one process's pairwise tree (W a power of two).</summary>
    public static bool IsExactAcrossWorldSizes(int worldSize) => worldSize > 0 && (worldSize & (worldSize - 1)) == 0;

    /// <summary>
    /// Replaces <paramref name="data"/> (the same length on every rank) with the sum over ranks
    /// 0..<paramref name="presentRanks"/>−1 of their data, on every rank (the schedule of <see cref="TreeSchedule"/>, over MPI).
    /// </summary>
    public unsafe void Run(Span<float> data, int presentRanks)
    {
        BytesSent = 0;
        if (_c.Size == 1) return;
        if (_scratch.Length < data.Length) _scratch = new float[data.Length];
        fixed (float* d = data) fixed (float* s = _scratch)
            BytesSent = TreeSchedule.Run(new HostTransport(_c, d, s), _c.Rank, _c.Size, data.Length, presentRanks);
    }

    // Host memory: the exchange is the communicator's SendRecv, the add a CPU loop. Valid while Run pins both vectors.
    private sealed unsafe class HostTransport(ICommunicator c, float* data, float* scratch) : ITreeTransport
    {
        private Span<float> At(TreeRegion g) => new((g.Scratch ? scratch : data) + g.Offset, checked((int)g.Length));
        public void Exchange(TreeRegion send, int dest, TreeRegion recv, int source) =>
            c.SendRecv(MemoryMarshal.AsBytes((ReadOnlySpan<float>)At(send)), dest, MemoryMarshal.AsBytes(At(recv)), source);
        public void Add(TreeRegion y, TreeRegion a, TreeRegion b) => TreeAllReduce.Add(At(a), At(b), At(y));
        public void Copy(TreeRegion dst, TreeRegion src) => At(src).CopyTo(At(dst));
    }

    // y = a + b elementwise: the operand order is written out even though IEEE addition commutes.
    private static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var va = MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(b);
            var vy = MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(y);
            for (int k = 0; k < vy.Length && k < va.Length && k < vb.Length; k++) vy[k] = va[k] + vb[k];
            i = Math.Min(vy.Length, Math.Min(va.Length, vb.Length)) * System.Numerics.Vector<float>.Count;
        }
        for (; i < y.Length; i++) y[i] = a[i] + b[i];
    }
}
