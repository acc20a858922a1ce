using System.Collections.Concurrent;
using Minimind.Kernels.Distributed;

namespace Minimind.Training.Tests.Distributed;

/// <summary>W "ranks" as threads of one test process: a mailbox per (sender, receiver) pair.</summary>
public sealed class ThreadCommunicator : ICommunicator
{
    private readonly BlockingCollection<byte[]>[,] _box;
    public int Rank { get; }
    public int Size { get; }
    public int LocalRank => Rank;
    public int LocalSize => Size;

    private ThreadCommunicator(BlockingCollection<byte[]>[,] box, int rank, int size) { _box = box; Rank = rank; Size = size; }

    /// <summary>One communicator per rank of a world of <paramref name="size"/>.</summary>
    public static ThreadCommunicator[] World(int size)
    {
        var box = new BlockingCollection<byte[]>[size, size];
        for (int i = 0; i < size; i++) for (int j = 0; j < size; j++) box[i, j] = new BlockingCollection<byte[]>();
        return Enumerable.Range(0, size).Select(r => new ThreadCommunicator(box, r, size)).ToArray();
    }

    /// <summary>Runs <paramref name="body"/> on every rank at once, each on its own thread; rethrows the first failure.</summary>
    public static T[] RunAll<T>(int size, Func<ThreadCommunicator, T> body)
    {
        var world = World(size);
        var results = new T[size];
        var errors = new ConcurrentQueue<Exception>();
        var threads = world.Select(c => new Thread(() =>
        {
            try { results[c.Rank] = body(c); } catch (Exception e) { errors.Enqueue(e); }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(60_000), "a rank thread hung");
        if (errors.TryDequeue(out var first)) throw new AggregateException(first);
        return results;
    }

    public void SendRecv(ReadOnlySpan<byte> send, int dest, Span<byte> recv, int source)
    {
        _box[Rank, dest].Add(send.ToArray());
        if (!_box[source, Rank].TryTake(out var got, 30_000)) throw new MpiException($"rank {Rank}: rank {source} did not answer");
        if (got.Length != recv.Length) throw new MpiException($"rank {Rank}: expected {recv.Length} bytes from rank {source}, got {got.Length}");
        got.CopyTo(recv);
    }

    public void Abort(int exitCode) => throw new InvalidOperationException("abort");
    public void Dispose() { }
}
