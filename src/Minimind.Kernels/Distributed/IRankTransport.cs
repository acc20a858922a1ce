namespace Minimind.Kernels.Distributed;

/// <summary>
/// How a backend's buffers travel between the ranks of a job: a capability each backend states
/// (<see cref="IBackend.Transport"/>), so data parallelism never tests backend types. Host-memory buffers are
/// lent to MPI in place; a CUDA device can open an NCCL communicator for device-to-device exchange; any other
/// buffer is staged through a host copy.
/// </summary>
public interface IRankTransport
{
    /// <summary>A host view of <paramref name="t"/> that MPI can read and write in place; false when the buffer is device memory.</summary>
    bool TryHostView(Tensor t, out Span<float> view);

    /// <summary>Null when this device can exchange buffers through NCCL, else why not (e.g. "cpu backend").</summary>
    string? NcclUnavailable { get; }

    /// <summary>Opens an NCCL communicator between this device and every other rank's of <paramref name="mpi"/> (collective);
    /// only where <see cref="NcclUnavailable"/> is null.</summary>
    NcclCommunicator OpenNccl(ICommunicator mpi, NcclLibrary library);
}
