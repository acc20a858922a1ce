using Minimind.Kernels;
using Minimind.Kernels.Distributed;

namespace Minimind.Training.Distributed;

/// <summary>
/// Chooses how gradients cross ranks: under mpirun, when every rank's backend can open NCCL (<see cref="IRankTransport"/>:
/// the CUDA backend) and libnccl.so.2 loads, NCCL send/recv between device buffers; otherwise host memory over MPI. Both run <see cref="TreeSchedule"/>,
/// so the sum order (and the bits) do not depend on the choice.
/// </summary>
public static class GradientTransport
{
    /// <summary>True when the process was started by mpirun (even with one rank).</summary>
    public static bool UnderMpirun() =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("PMIX_RANK") is not null;

    /// <summary>
    /// The NCCL communicator (created and checked with a send/recv ring) or null, and the start-up sentence
    /// saying which path was taken and why (empty outside mpirun). Collective: every rank must call it.
    /// </summary>
    public static (NcclCommunicator? Nccl, string Note) Select(ICommunicator comm, IBackend backend)
    {
        if (!UnderMpirun()) return (null, "");
        var transport = backend.Transport;
        bool canNccl = transport.NcclUnavailable is null;
        NcclLibrary? lib = null;
        string why = transport.NcclUnavailable ?? "";
        if (canNccl)
        {
            try { lib = NcclLibrary.Load(); }
            catch (DllNotFoundException e) { why = e.Message; }
        }
        // Every rank votes (even a CPU one, so mismatched --device values still pair up): NCCL only if all can.
        int missing = -1;
        if (comm.Size > 1) missing = Array.IndexOf(Collectives.AllGather(comm, new[] { lib is null ? (byte)0 : (byte)1 }), (byte)0);
        else if (lib is null) missing = 0;
        if (missing >= 0)
            return (null, !canNccl && comm.Size == 1 ? "" : $"gradient exchange: host memory over MPI (NCCL not used: rank {missing}{(missing == comm.Rank ? ": " + why : " cannot")})");
        var nccl = transport.OpenNccl(comm, lib!);
        nccl.CheckSendRecv();
        return (nccl, $"gradient exchange: NCCL {lib!.Version} ({lib.LoadedName}) send/recv between GPUs in the fixed tree order, adds on the device (binding checked at start-up)");
    }
}
