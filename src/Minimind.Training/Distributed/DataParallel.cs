using System.Diagnostics;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;

namespace Minimind.Training.Distributed;

/// <summary>
/// The data-parallel part of one optimizer step. A step consumes G = W × per-rank micro-batches; the
/// samples of micro-batch g depend only on (seed, epoch, step, g), and rank r computes
/// g ∈ [r·G/W, (r+1)·G/W). Each rank sums its block with <see cref="GradientTree"/>, the blocks are
/// combined by <see cref="TreeAllReduce"/> (W a power of two: exactly one process's pairwise tree),
/// and the per-micro-batch losses and every rank's stop request are gathered, so every rank holds the
/// same gradient, loss and decision and takes the same clip coefficient and AdamW step.
/// With W = 1 nothing is sent and no MPI library is touched.
/// </summary>
public sealed class DataParallel : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor _gradients;
    private readonly GradientTree _tree;
    private readonly TreeAllReduce _reduce;
    private readonly float[] _losses;
    private float[]? _host;
    private readonly NcclCommunicator? _nccl;
    private readonly string _transport;
    private Tensor _scratch;
    private bool _ownsNccl = true;

    /// <summary>The job's ranks.</summary>
    public ICommunicator Comm { get; }
    /// <summary>World size W.</summary>
    public int WorldSize => Comm.Size;
    /// <summary>This rank.</summary>
    public int Rank => Comm.Rank;
    /// <summary>True on the rank that prints, writes metrics and checkpoints.</summary>
    public bool IsRoot => Comm.Rank == 0;
    /// <summary>Micro-batches each rank computes per step (--accumulation-steps).</summary>
    public int PerRank { get; }
    /// <summary>G: micro-batches per optimizer step over all ranks.</summary>
    public int MicroBatchesPerStep => PerRank * WorldSize;
    /// <summary>Time spent exchanging gradients, losses and barriers since the start.</summary>
    public TimeSpan CommTime => _comm.Elapsed;
    /// <summary>Bytes this rank sent in gradient exchanges since the start.</summary>
    public long BytesSent { get; private set; }
    private readonly Stopwatch _comm = new();

    /// <summary>Sums into <paramref name="gradients"/> (a buffer of <paramref name="backend"/>) over <paramref name="comm"/>.</summary>
    /// <remarks>Picks the gradient transport with <see cref="GradientTransport.Select"/> (collective under mpirun).</remarks>
    public DataParallel(ICommunicator comm, IBackend backend, Tensor gradients, int perRank)
        : this(comm, backend, gradients, perRank, GradientTransport.Select(comm, backend)) { }

    private DataParallel(ICommunicator comm, IBackend backend, Tensor gradients, int perRank, (NcclCommunicator? Nccl, string Note) transport)
    {
        if (perRank < 1) throw new ArgumentOutOfRangeException(nameof(perRank), "--accumulation-steps must be at least 1");
        Comm = comm; _backend = backend; _gradients = gradients; PerRank = perRank;
        _tree = new GradientTree(backend, gradients.Length);
        _reduce = new TreeAllReduce(comm);
        _losses = new float[perRank + 1];
        (_nccl, _transport) = transport;
    }

    /// <summary>The same job with <paramref name="perRank"/> micro-batches per rank (a resume keeping G); this instance is disposed and hands over its NCCL communicator.</summary>
    public DataParallel WithPerRank(int perRank)
    {
        var next = new DataParallel(Comm, _backend, _gradients, perRank, (_nccl, _transport));
        _ownsNccl = false;
        Dispose();
        return next;
    }

    /// <summary>True when gradients travel device to device through NCCL send/recv (still in the fixed tree order).</summary>
    public bool UsesNccl => _nccl is not null;

    /// <summary>A sentence for start-up: world size, per-rank share, and whether results equal every other world size's.</summary>
    public string Describe() => (WorldSize == 1
        ? $"world size 1: {PerRank} micro-batch(es) per step, pairwise-summed"
        : $"data parallel: world size {WorldSize}, rank {Rank} (local {Comm.LocalRank}/{Comm.LocalSize}); G = {MicroBatchesPerStep} micro-batches per step, {PerRank} per rank; " +
          (TreeAllReduce.IsExactAcrossWorldSizes(WorldSize)
              ? "gradients combined in the pairwise tree order: bit-identical to any power-of-two world size with the same G on this device type"
              : $"NOTE: {WorldSize} is not a power of two, so the cross-rank sum order differs from other world sizes: runs are deterministic at W={WorldSize} but not bit-identical to W=1 or 2")) +
        (_transport.Length > 0 ? "\n" + _transport : "");

    /// <summary>Global index of this rank's first micro-batch and how many of its <see cref="PerRank"/> exist when the step has <paramref name="available"/>.</summary>
    public (int First, int Count) MyMicroBatches(int available) =>
        (Rank * PerRank, Math.Clamp(available - Rank * PerRank, 0, PerRank));

    /// <summary>
    /// The step's gradient into the gradient buffer on every rank. <paramref name="leaf"/>(i) adds the gradient
    /// of this rank's i-th micro-batch (already scaled by 1/G) into the buffer and returns its loss.
    /// Returns the mean loss over the step's <paramref name="available"/> micro-batches, the loss of the step's first
    /// micro-batch (global index 0, rank 0's first: the checkpointer's resume check), and whether any rank asked to stop.
    /// </summary>
    public (float Loss, float First, bool StopAny) Step(int available, Func<int, float> leaf, bool stopRequested)
    {
        var (_, mine) = MyMicroBatches(available);
        Array.Fill(_losses, float.NaN);
        _tree.Evaluate(PerRank, mine, _gradients, i => _losses[i] = leaf(i));
        _losses[PerRank] = stopRequested ? 1f : 0f;
        float[] all = _losses;
        if (WorldSize > 1)
        {
            _comm.Start();
            int present = (available + PerRank - 1) / PerRank;
            if (_nccl is not null)
            {
                if (_scratch.IsEmpty) _scratch = _backend.Alloc(_gradients.Length);
                BytesSent += _nccl.TreeAllReduceSum(_gradients, _scratch, present);
            }
            else
            {
                // Host-memory buffers are reduced in place; device ones are staged through a host copy.
                bool staged = !_backend.Transport.TryHostView(_gradients, out var g);
                if (staged) { _host ??= new float[_gradients.Length]; _backend.Download(_gradients, _host); g = _host; }
                _reduce.Run(g, present);
                BytesSent += _reduce.BytesSent;
                if (staged) _backend.Upload(_gradients, _host);
            }
            all = Collectives.AllGather(Comm, _losses);
            _comm.Stop();
        }
        // The mean in micro-batch order, in float64, as one process sums it.
        double sum = 0;
        bool stop = false;
        for (int r = 0; r < WorldSize; r++)
        {
            for (int i = 0; i < PerRank && r * PerRank + i < available; i++) sum += all[r * (PerRank + 1) + i];
            stop |= all[r * (PerRank + 1) + PerRank] != 0;
        }
        return ((float)(sum / available), all[0], stop);
    }

    /// <summary>Waits for every rank (the checkpoint's commit point); counted as communication time.</summary>
    public void Barrier()
    {
        if (WorldSize == 1) return;
        _comm.Start();
        Collectives.Barrier(Comm);
        _comm.Stop();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _tree.Dispose();
        if (!_scratch.IsEmpty) { _scratch.Buffer.Dispose(); _scratch = default; }
        if (_ownsNccl) _nccl?.Dispose();
        _ownsNccl = false;
    }
}
