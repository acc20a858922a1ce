using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Distributed;

/// <summary>
/// An NCCL communicator over the GPUs of an MPI job: rank 0's unique id is broadcast over MPI, each rank uses
/// the CUDA device of its ILGPU backend (one per local rank), on the backend's stream.
/// <see cref="TreeAllReduceSum"/> runs <see cref="TreeSchedule"/> with grouped ncclSend/ncclRecv and the
/// backend's own Add, so its sums are the fixed pairwise order of <see cref="TreeAllReduce"/>.
/// <see cref="AllReduceSum"/> is NCCL's own all-reduce: NCCL chooses its summation order (ring/tree by size
/// and topology), so a run using it is deterministic only at a fixed world size and NCCL configuration.
/// </summary>
public sealed unsafe class NcclCommunicator : IDisposable
{
    private readonly NcclLibrary _nccl;
    private readonly IBackend _backend;
    private readonly Accelerator _acc;
    private readonly int _rank, _size;
    private nint _comm;

    /// <summary>The loaded library.</summary>
    public NcclLibrary Library => _nccl;

    private NcclCommunicator(NcclLibrary nccl, IBackend backend, Accelerator acc, nint comm, int rank, int size)
    { _nccl = nccl; _backend = backend; _acc = acc; _comm = comm; _rank = rank; _size = size; }

    /// <summary>Creates the communicator on every rank of <paramref name="mpi"/> (collective).</summary>
    public static NcclCommunicator Create(ICommunicator mpi, IlgpuBackend backend) => Create(mpi, backend, NcclLibrary.Load());

    /// <summary>Creates the communicator with an already loaded library (collective).</summary>
    public static NcclCommunicator Create(ICommunicator mpi, IlgpuBackend backend, NcclLibrary nccl) =>
        Create(mpi, backend, backend.Accelerator, nccl);

    // The backend's ops (its Alloc, transfers, Add and Copy) on the CUDA device of acc.
    internal static NcclCommunicator Create(ICommunicator mpi, IBackend backend, Accelerator acc, NcclLibrary nccl)
    {
        if (acc is not CudaAccelerator) throw new NotSupportedException("NCCL needs the CUDA backend (--device cuda)");
        NcclUniqueId id = default;
        if (mpi.Rank == 0) nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId");
        Collectives.Broadcast(mpi, new Span<byte>(&id, sizeof(NcclUniqueId)), 0);
        acc.Bind(); // NCCL uses the calling thread's current CUDA context
        nint comm;
        nccl.Check(nccl.CommInitRank(&comm, mpi.Size, id, mpi.Rank), "ncclCommInitRank");
        return new NcclCommunicator(nccl, backend, acc, comm, mpi.Rank, mpi.Size);
    }

    private nint Stream => ((CudaStream)_acc.DefaultStream).StreamPtr;
    private static nint Ptr(Tensor t) => ((IlgpuBuffer<float>)t.Buffer).Memory.NativePtr + (nint)(t.Offset * sizeof(float));

    /// <summary>In place: <paramref name="t"/> becomes the sum of every rank's <paramref name="t"/> in NCCL's order (float32, on the backend's stream).</summary>
    public void AllReduceSum(Tensor t)
    {
        nint ptr = Ptr(t);
        _nccl.Check(_nccl.AllReduce(ptr, ptr, (nuint)t.Length, NcclLibrary.Float32, NcclLibrary.Sum, _comm, Stream), "ncclAllReduce");
    }

    /// <summary>
    /// In place: <paramref name="data"/> becomes the sum over ranks 0..<paramref name="presentRanks"/>−1 in the
    /// fixed tree order of <see cref="TreeSchedule"/> (bit-identical to one process for W a power of two).
    /// <paramref name="scratch"/> is a device vector at least as long. Returns the bytes this rank sent.
    /// </summary>
    public long TreeAllReduceSum(Tensor data, Tensor scratch, int presentRanks)
    {
        if (scratch.Length < data.Length) throw new ArgumentException($"scratch holds {scratch.Length} floats, the data {data.Length}", nameof(scratch));
        return TreeSchedule.Run(new DeviceTransport(this, data, scratch), _rank, _size, data.Length, presentRanks);
    }

    /// <summary>
    /// Start-up check of the send/recv binding: every rank sends a small vector to the next rank of a ring
    /// (itself at W = 1) and verifies what the previous one sent. Throws naming the rank on a mismatch.
    /// </summary>
    public void CheckSendRecv()
    {
        const int n = 1027;
        var send = _backend.Alloc(n);
        var recv = _backend.Alloc(n);
        try
        {
            var host = new float[n];
            for (int i = 0; i < n; i++) host[i] = _rank * 4096 + i;
            _backend.Upload(send, host);
            int next = (_rank + 1) % _size, prev = (_rank - 1 + _size) % _size;
            Group(Ptr(send), n, next, Ptr(recv), n, prev);
            _backend.Download(recv, host);
            for (int i = 0; i < n; i++)
                if (host[i] != prev * 4096 + i)
                    throw new MpiException($"rank {_rank}: NCCL send/recv check failed: element {i} from rank {prev} is {host[i]}, expected {prev * 4096 + i}");
        }
        finally { send.Buffer.Dispose(); recv.Buffer.Dispose(); }
    }

    // One grouped send + receive on the backend's stream; empty sides are left out (the peer leaves out its match).
    private void Group(nint send, long sendCount, int dest, nint recv, long recvCount, int source)
    {
        if (sendCount == 0 && recvCount == 0) return;
        _nccl.Check(_nccl.GroupStart(), "ncclGroupStart");
        if (sendCount > 0) _nccl.Check(_nccl.Send(send, (nuint)sendCount, NcclLibrary.Float32, dest, _comm, Stream), "ncclSend");
        if (recvCount > 0) _nccl.Check(_nccl.Recv(recv, (nuint)recvCount, NcclLibrary.Float32, source, _comm, Stream), "ncclRecv");
        _nccl.Check(_nccl.GroupEnd(), "ncclGroupEnd");
    }

    // Device buffers: exchanges are NCCL send/recv, adds the backend's Add kernel, all ordered on one stream.
    private sealed class DeviceTransport(NcclCommunicator n, Tensor data, Tensor scratch) : ITreeTransport
    {
        private Tensor At(TreeRegion g) => (g.Scratch ? scratch : data).Slice(g.Offset, g.Length);
        public void Exchange(TreeRegion send, int dest, TreeRegion recv, int source) =>
            n.Group(send.Length > 0 ? Ptr(At(send)) : 0, send.Length, dest, recv.Length > 0 ? Ptr(At(recv)) : 0, recv.Length, source);
        public void Add(TreeRegion y, TreeRegion a, TreeRegion b) { if (y.Length > 0) n._backend.Add(At(y), At(a), At(b)); }
        public void Copy(TreeRegion dst, TreeRegion src) { if (dst.Length > 0) n._backend.Copy(At(dst), At(src)); }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_comm != 0) { _nccl.CommDestroy(_comm); _comm = 0; }
    }
}
