namespace Minimind.Kernels.Distributed;

/// <summary>
/// The processes of one data-parallel job and the single primitive every collective here is built on:
/// a paired send and receive. Keeping reductions out of the transport keeps their summation order ours.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0 ≤ Rank &lt; Size.</summary>
    int Rank { get; }
    /// <summary>Number of ranks (the world size W).</summary>
    int Size { get; }
    /// <summary>Rank among the ranks on this machine.</summary>
    int LocalRank { get; }
    /// <summary>Ranks on this machine (they split its CPU cores or GPUs).</summary>
    int LocalSize { get; }

    /// <summary>
    /// Sends <paramref name="send"/> to <paramref name="dest"/> and receives exactly <paramref name="recv"/>.Length
    /// bytes from <paramref name="source"/> at the same time; throws an <see cref="MpiException"/> naming the
    /// peer when it does not answer within the communicator's timeout.
    /// </summary>
    void SendRecv(ReadOnlySpan<byte> send, int dest, Span<byte> recv, int source);

    /// <summary>Ends every rank of the job at once (after a failure on this one).</summary>
    void Abort(int exitCode);
}

/// <summary>World size 1: no library, no peers.</summary>
public sealed class SoloCommunicator : ICommunicator
{
    /// <summary>The one instance.</summary>
    public static readonly SoloCommunicator Instance = new();
    private SoloCommunicator() { }
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public int LocalRank => 0;
    /// <inheritdoc/>
    public int LocalSize => 1;
    /// <inheritdoc/>
    public void SendRecv(ReadOnlySpan<byte> send, int dest, Span<byte> recv, int source)
    {
        if (dest != 0 || source != 0 || send.Length != recv.Length) throw new ArgumentException("a single process can only exchange with itself");
        send.CopyTo(recv);
    }
    /// <inheritdoc/>
    public void Abort(int exitCode) => Environment.Exit(exitCode);
    /// <inheritdoc/>
    public void Dispose() { }
}
