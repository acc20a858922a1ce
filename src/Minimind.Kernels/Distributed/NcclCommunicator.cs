using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Distributed;

/// <summary>
/// An NCCL communicator over the GPUs of an MPI job: rank 0's unique id is broadcast over MPI, each rank uses
/// the CUDA device of its ILGPU backend (one per local rank) and all-reduces device buffers on the backend's
/// stream. NCCL chooses its own summation order (ring/tree by size and topology): its sums are not the
/// pairwise order of <see cref="TreeAllReduce"/>, so a run using it is deterministic only at a fixed
/// world size and NCCL configuration.
/// </summary>
public sealed unsafe class NcclCommunicator : IDisposable
{
    private readonly NcclLibrary _nccl;
    private readonly IlgpuBackend _backend;
    private nint _comm;

    /// <summary>The loaded library.</summary>
    public NcclLibrary Library => _nccl;

    private NcclCommunicator(NcclLibrary nccl, IlgpuBackend backend, nint comm) { _nccl = nccl; _backend = backend; _comm = comm; }

    /// <summary>Creates the communicator on every rank of <paramref name="mpi"/> (collective).</summary>
    public static NcclCommunicator Create(ICommunicator mpi, IlgpuBackend backend)
    {
        if (backend.Accelerator is not CudaAccelerator) throw new NotSupportedException("NCCL needs the CUDA backend (--device cuda)");
        var nccl = NcclLibrary.Load();
        NcclUniqueId id = default;
        if (mpi.Rank == 0) nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId");
        Collectives.Broadcast(mpi, new Span<byte>(&id, sizeof(NcclUniqueId)), 0);
        backend.Accelerator.Bind(); // NCCL uses the calling thread's current CUDA context
        nint comm;
        nccl.Check(nccl.CommInitRank(&comm, mpi.Size, id, mpi.Rank), "ncclCommInitRank");
        return new NcclCommunicator(nccl, backend, comm);
    }

    /// <summary>In place: <paramref name="t"/> becomes the sum of every rank's <paramref name="t"/> (float32, on the backend's stream).</summary>
    public void AllReduceSum(Tensor t)
    {
        var buf = (IlgpuBuffer<float>)t.Buffer;
        nint ptr = buf.Memory.NativePtr + (nint)(t.Offset * sizeof(float));
        nint stream = ((CudaStream)_backend.Accelerator.DefaultStream).StreamPtr;
        _nccl.Check(_nccl.AllReduce(ptr, ptr, (nuint)t.Length, NcclLibrary.Float32, NcclLibrary.Sum, _comm, stream), "ncclAllReduce");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_comm != 0) { _nccl.CommDestroy(_comm); _comm = 0; }
    }
}
