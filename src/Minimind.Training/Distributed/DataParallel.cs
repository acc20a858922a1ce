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
/// With W = 1 nothing is sent and no MPI library is touched. A stage that steps optimizers of its own (PPO) sums
/// several gradient buffers per leaf (the actor's and the critic's: one tree over both, each reduced in turn) and gathers
/// several values per leaf (<see cref="StepGathered"/>).
/// </summary>
public sealed class DataParallel : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor[] _gradients;
    private readonly GradientTree _tree;
    private readonly TreeAllReduce _reduce;
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
        : this(comm, backend, new[] { gradients }, perRank) { }

    /// <summary>Sums into every buffer of <paramref name="gradients"/> (each a buffer of <paramref name="backend"/>) over <paramref name="comm"/>, in one tree.</summary>
    public DataParallel(ICommunicator comm, IBackend backend, IReadOnlyList<Tensor> gradients, int perRank)
        : this(comm, backend, gradients, perRank, GradientTransport.Select(comm, backend)) { }

    private DataParallel(ICommunicator comm, IBackend backend, IReadOnlyList<Tensor> gradients, int perRank, (NcclCommunicator? Nccl, string Note) transport)
    {
        if (perRank < 1) throw new ArgumentOutOfRangeException(nameof(perRank), "--accumulation-steps must be at least 1");
        Comm = comm; _backend = backend; _gradients = gradients.ToArray(); PerRank = perRank;
        _tree = new GradientTree(backend, _gradients.Select(g => g.Length).ToArray());
        _reduce = new TreeAllReduce(comm);
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
        var (values, stop) = StepGathered(available, 1, i => new[] { leaf(i) }, stopRequested);
        // The mean in micro-batch order, in float64, as one process sums it.
        double sum = 0;
        foreach (var v in values) sum += v[0];
        return ((float)(sum / available), values[0][0], stop);
    }

    /// <summary>
    /// <see cref="Step"/> with <paramref name="width"/> values per micro-batch: the step's gradients into every
    /// gradient buffer on every rank, and on every rank each of the step's <paramref name="available"/> micro-batches'
    /// values (what <paramref name="leaf"/>(i) returned for this rank's i-th) in global micro-batch order, and whether
    /// any rank passed <paramref name="flag"/>.
    /// </summary>
    public (float[][] Values, bool FlagAny) StepGathered(int available, int width, Func<int, float[]> leaf, bool flag)
    {
        var (_, mine) = MyMicroBatches(available);
        int stride = width + 1;
        var local = new float[PerRank * stride + 1];
        Array.Fill(local, float.NaN);
        _tree.Evaluate(PerRank, mine, _gradients, i =>
        {
            var v = leaf(i);
            if (v.Length != width) throw new InvalidOperationException($"a micro-batch returned {v.Length} values, the step gathers {width}");
            v.CopyTo(local, i * stride);
        });
        local[^1] = flag ? 1f : 0f;
        float[] all = local;
        if (WorldSize > 1)
        {
            _comm.Start();
            int present = (available + PerRank - 1) / PerRank;
            foreach (var grad in _gradients) Reduce(grad, present);
            all = Collectives.AllGather(Comm, local);
            _comm.Stop();
        }
        var values = new float[available][];
        bool any = false;
        for (int r = 0; r < WorldSize; r++)
        {
            int at = r * local.Length;
            for (int i = 0; i < PerRank && r * PerRank + i < available; i++) values[r * PerRank + i] = all.AsSpan(at + i * stride, width).ToArray();
            any |= all[at + local.Length - 1] != 0;
        }
        return (values, any);
    }

    // One gradient buffer summed over the ranks in the fixed tree order.
    private void Reduce(Tensor gradients, int present)
    {
        if (_nccl is not null)
        {
            if (_scratch.IsEmpty) _scratch = _backend.Alloc(_gradients.Max(g => g.Length));
            BytesSent += _nccl.TreeAllReduceSum(gradients, _scratch, present);
            return;
        }
        // Host-memory buffers are reduced in place; device ones are staged through a host copy.
        bool staged = !_backend.Transport.TryHostView(gradients, out var g);
        if (staged)
        {
            _host ??= new float[_gradients.Max(x => x.Length)];
            g = _host.AsSpan(0, checked((int)gradients.Length));
            _backend.Download(gradients, g);
        }
        _reduce.Run(g, present);
        BytesSent += _reduce.BytesSent;
        if (staged) _backend.Upload(gradients, g);
    }

    /// <summary>True on every rank when <paramref name="flag"/> is true on any rank (a stop request); counted as communication time.</summary>
    public bool AnyRank(bool flag)
    {
        if (WorldSize == 1) return flag;
        _comm.Start();
        var all = Collectives.AllGather(Comm, new[] { flag ? (byte)1 : (byte)0 });
        _comm.Stop();
        return all.Any(b => b != 0);
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
