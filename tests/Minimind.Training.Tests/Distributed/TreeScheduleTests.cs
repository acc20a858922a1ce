using System.Runtime.InteropServices;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Distributed;

namespace Minimind.Training.Tests.Distributed;

/// <summary>
/// One schedule, two transports: <see cref="TreeSchedule"/> driven through a device-style transport (backend
/// tensors, the backend's Add, exchanges of tensor slices, as the NCCL transport does) must issue the same
/// exchanges as the MPI host path (<see cref="TreeAllReduce"/>) and produce the same bits, which for W a power
/// of two are one process's pairwise sum; the op sequence at W = 2 is checked against a hand-derived one.
/// </summary>
public class TreeScheduleTests
{
    // A communicator that logs every exchange as "dest src sendBytes recvBytes".
    private sealed class RecordingCommunicator(ICommunicator inner, List<string> log) : ICommunicator
    {
        public int Rank => inner.Rank;
        public int Size => inner.Size;
        public int LocalRank => inner.LocalRank;
        public int LocalSize => inner.LocalSize;
        public void SendRecv(ReadOnlySpan<byte> send, int dest, Span<byte> recv, int source)
        { log.Add($"X {dest} {source} {send.Length} {recv.Length}"); inner.SendRecv(send, dest, recv, source); }
        public void Abort(int exitCode) => inner.Abort(exitCode);
        public void Dispose() { }
    }

    // Device-style: vectors are backend tensors, adds and copies are backend ops on slices, exchanges move slices.
    private sealed class BackendTransport(CpuBackend be, Tensor data, Tensor scratch, ICommunicator c, List<string> ops, List<string> exchanges) : ITreeTransport
    {
        private Tensor At(TreeRegion g) => (g.Scratch ? scratch : data).Slice(g.Offset, g.Length);
        private static string S(TreeRegion g) => $"{(g.Scratch ? "T" : "D")}[{g.Offset},{g.Offset + g.Length})";
        public void Exchange(TreeRegion send, int dest, TreeRegion recv, int source)
        {
            ops.Add($"X {S(send)}->{dest} {S(recv)}<-{source}");
            exchanges.Add($"X {dest} {source} {send.Length * 4} {recv.Length * 4}");
            c.SendRecv(MemoryMarshal.AsBytes((ReadOnlySpan<float>)CpuBackend.Span(At(send))), dest, MemoryMarshal.AsBytes(CpuBackend.Span(At(recv))), source);
        }
        public void Add(TreeRegion y, TreeRegion a, TreeRegion b) { ops.Add($"A {S(y)}={S(a)}+{S(b)}"); be.Add(At(y), At(a), At(b)); }
        public void Copy(TreeRegion dst, TreeRegion src) { ops.Add($"C {S(dst)}={S(src)}"); be.Copy(At(dst), At(src)); }
    }

    private static float[][] Vectors(int w, int len, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, w).Select(_ => Enumerable.Range(0, len)
            .Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4)))).ToArray()).ToArray();
    }

    // The perfect binary tree over ranks lo..lo+n-1 (n a power of two), absent ranks skipped, written independently.
    private static float[]? Pairwise(float[][] x, int lo, int n, int present)
    {
        if (lo >= present) return null;
        if (n == 1) return (float[])x[lo].Clone();
        var a = Pairwise(x, lo, n / 2, present);
        var b = Pairwise(x, lo + n / 2, n / 2, present);
        return b is null ? a : a!.Zip(b, (p, q) => p + q).ToArray();
    }

    private static (float[] Result, List<string> Exchanges, List<string> Ops) Device(ICommunicator c, float[] v, int present)
    {
        using var be = new CpuBackend(1);
        var data = be.Alloc(v.Length);
        var scratch = be.Alloc(v.Length);
        be.Upload(data, v);
        var ops = new List<string>(); var ex = new List<string>();
        long sent = TreeSchedule.Run(new BackendTransport(be, data, scratch, c, ops, ex), c.Rank, c.Size, v.Length, present);
        Assert.Equal(ex.Sum(e => long.Parse(e.Split(' ')[3])), sent);
        return (CpuBackend.Span(data).ToArray(), ex, ops);
    }

    [Theory]
    [InlineData(2, 5)] [InlineData(4, 1037)] [InlineData(8, 1037)] [InlineData(8, 3)] [InlineData(3, 101)] [InlineData(6, 1037)]
    public void BothTransportsRunTheSameExchangesAndGiveTheSameBits(int w, int len)
    {
        var x = Vectors(w, len, 17 * w + len);
        for (int present = w; present >= 1; present--)
        {
            var dev = ThreadCommunicator.RunAll(w, c => Device(c, x[c.Rank], present));
            var host = ThreadCommunicator.RunAll(w, c =>
            {
                var log = new List<string>();
                var v = (float[])x[c.Rank].Clone();
                var red = new TreeAllReduce(new RecordingCommunicator(c, log));
                red.Run(v, present);
                Assert.Equal(log.Sum(e => long.Parse(e.Split(' ')[3])), red.BytesSent);
                return (v, log);
            });
            var expected = TreeAllReduce.IsExactAcrossWorldSizes(w) ? Pairwise(x, 0, w, present)! : host[0].v;
            for (int r = 0; r < w; r++)
            {
                Assert.Equal(host[r].log, dev[r].Exchanges);
                for (int i = 0; i < len; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(host[r].v[i]), $"W={w} present={present} rank {r} host element {i}");
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dev[r].Result[i]), $"W={w} present={present} rank {r} device element {i}");
                }
            }
        }
    }

    [Fact]
    public void TwoRanksRunTheHandDerivedSequence()
    {
        // Length 5 splits at 2: rank 0 keeps [0,2) and adds lower (its own) + higher (received); rank 1 keeps [2,5).
        var x = Vectors(2, 5, 3);
        var dev = ThreadCommunicator.RunAll(2, c => Device(c, x[c.Rank], 2));
        Assert.Equal(new[] { "X D[2,5)->1 T[0,2)<-1", "A D[0,2)=D[0,2)+T[0,2)", "X D[0,2)->1 D[2,5)<-1" }, dev[0].Ops);
        Assert.Equal(new[] { "X D[0,2)->0 T[2,5)<-0", "A D[2,5)=T[2,5)+D[2,5)", "X D[2,5)->0 D[0,2)<-0" }, dev[1].Ops);
        // Rank 1 absent: rank 0's subtree is the whole sum, rank 1 copies instead of adding.
        var solo = ThreadCommunicator.RunAll(2, c => Device(c, x[c.Rank], 1));
        Assert.Equal(new[] { "X D[2,5)->1 T[0,2)<-1", "X D[0,2)->1 D[2,5)<-1" }, solo[0].Ops);
        Assert.Equal(new[] { "X D[0,2)->0 T[2,5)<-0", "C D[2,5)=T[2,5)", "X D[2,5)->0 D[0,2)<-0" }, solo[1].Ops);
        Assert.Equal(x[0], solo[1].Result);
    }
}
