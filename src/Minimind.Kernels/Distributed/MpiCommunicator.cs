using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Minimind.Kernels.Distributed;

/// <summary>
/// MPI_COMM_WORLD through <see cref="MpiLibrary"/>. Exchanges are MPI_Irecv + MPI_Isend polled with
/// MPI_Test against a deadline, so a dead or hung peer becomes an error naming its rank instead of a hang.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private const int Tag = 11;
    private const int MaxMessage = 1 << 30; // MPI counts are int: long buffers go in 1 GiB pieces
    private readonly MpiLibrary _mpi;
    private bool _finalized;

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size { get; }
    /// <inheritdoc/>
    public int LocalRank { get; }
    /// <inheritdoc/>
    public int LocalSize { get; }
    /// <summary>How long one exchange may wait for its peer.</summary>
    public TimeSpan Timeout { get; set; }
    /// <summary>The library file that was loaded.</summary>
    public string LibraryName => _mpi.LoadedName;

    private MpiCommunicator(MpiLibrary mpi, TimeSpan timeout)
    {
        _mpi = mpi; Timeout = timeout;
        int inited;
        MpiLibrary.Check(mpi.Initialized(&inited), "MPI_Initialized");
        // Open MPI's own SIGSEGV/SIGBUS handlers would replace the .NET runtime's (which turns faults into exceptions).
        SetEnv("OMPI_MCA_opal_signal", "");
        if (inited == 0) MpiLibrary.Check(mpi.Init(null, null), "MPI_Init");
        int r, s;
        MpiLibrary.Check(mpi.CommRank(mpi.CommWorld, &r), "MPI_Comm_rank");
        MpiLibrary.Check(mpi.CommSize(mpi.CommWorld, &s), "MPI_Comm_size");
        Rank = r; Size = s;
        LocalRank = EnvInt("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0;
        LocalSize = EnvInt("OMPI_COMM_WORLD_LOCAL_SIZE") ?? 1;
    }

    /// <summary>World size announced by the launcher (Open MPI's OMPI_COMM_WORLD_SIZE, or PMIx's), 1 without mpirun.</summary>
    public static int LauncherWorldSize() => EnvInt("OMPI_COMM_WORLD_SIZE") ?? EnvInt("PMIX_SIZE") ?? 1;

    /// <summary>
    /// The job's communicator: <see cref="SoloCommunicator"/> when not started by mpirun with more than one
    /// rank (no MPI library is touched), otherwise MPI_COMM_WORLD. Throws naming the packages when the
    /// library is missing.
    /// </summary>
    public static ICommunicator FromEnvironment(TimeSpan timeout)
    {
        if (LauncherWorldSize() <= 1) return SoloCommunicator.Instance;
        return new MpiCommunicator(MpiLibrary.Load(), timeout);
    }

    /// <inheritdoc/>
    public void SendRecv(ReadOnlySpan<byte> send, int dest, Span<byte> recv, int source)
    {
        if ((uint)dest >= (uint)Size || (uint)source >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(dest), $"peer ranks {dest}/{source} outside 0..{Size - 1}");
        int n = Math.Max(send.Length, recv.Length);
        for (int off = 0; off < n || off == 0; off += MaxMessage)
        {
            int sl = Math.Clamp(send.Length - off, 0, MaxMessage), rl = Math.Clamp(recv.Length - off, 0, MaxMessage);
            fixed (byte* ps = send) fixed (byte* pr = recv)
                Exchange(ps + Math.Min(off, send.Length), sl, dest, pr + Math.Min(off, recv.Length), rl, source);
            if (n == 0) break;
        }
    }

    private void Exchange(byte* send, int sendLen, int dest, byte* recv, int recvLen, int source)
    {
        nint rreq = 0, sreq = 0;
        MpiLibrary.Check(_mpi.Irecv(recv, recvLen, _mpi.Byte, source, Tag, _mpi.CommWorld, &rreq), "MPI_Irecv");
        MpiLibrary.Check(_mpi.Isend(send, sendLen, _mpi.Byte, dest, Tag, _mpi.CommWorld, &sreq), "MPI_Isend");
        var sw = Stopwatch.StartNew();
        int rdone = 0, sdone = 0;
        var spin = new SpinWait();
        while (rdone == 0 || sdone == 0)
        {
            if (rdone == 0) MpiLibrary.Check(_mpi.Test(&rreq, &rdone, null), "MPI_Test");
            if (sdone == 0) MpiLibrary.Check(_mpi.Test(&sreq, &sdone, null), "MPI_Test");
            if (rdone != 0 && sdone != 0) break;
            var waited = sw.Elapsed;
            if (waited > Timeout)
            {
                // The buffers are about to be unpinned: withdraw the receive before reporting.
                if (rdone == 0) { _mpi.Cancel(&rreq); _mpi.RequestFree(&rreq); }
                int peer = rdone == 0 ? source : dest;
                throw new MpiException($"rank {Rank}: rank {peer} did not answer within {Timeout.TotalSeconds:0.#} s " +
                    $"(it is hung, dead or far behind; --dist-timeout sets the limit)");
            }
            // Spin for the first millisecond (a step's exchange is usually quick), then give the core away.
            if (waited.TotalMilliseconds < 1) spin.SpinOnce(-1);
            else if (waited.TotalMilliseconds < 20) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    /// <inheritdoc/>
    public void Abort(int exitCode)
    {
        Console.Out.Flush(); Console.Error.Flush();
        _mpi.Abort(_mpi.CommWorld, exitCode);
        Environment.Exit(exitCode);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        int fin;
        if (_mpi.Finalized(&fin) == MpiLibrary.Success && fin == 0) _mpi.Finalize();
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int NativeSetEnv(string name, string value, int overwrite);

    // .NET keeps its own copy of the environment; the native library reads the C one.
    private static void SetEnv(string name, string value) => NativeSetEnv(name, value, 0);
}
