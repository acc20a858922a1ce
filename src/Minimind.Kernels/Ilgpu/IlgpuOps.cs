using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Distributed;

namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// <see cref="IBackend"/> on ILGPU: kernels written in C# and compiled by ILGPU to PTX (CUDA) or run on ILGPU's
/// CPU accelerator (a simulator, for tests). All ops are queued on the accelerator's default stream; downloads
/// and the ops that return host values synchronise. Every reduction has a fixed order (no float atomics), so
/// results are bit-identical from run to run on the same device and launch shape. The ops assume checked arguments
/// and non-empty work: <see cref="IlgpuBackend"/>, the public type, is <see cref="CheckedBackend"/> around them.
/// </summary>
internal sealed partial class IlgpuOps : IBackend, IRankTransport
{
    private readonly Context _ctx;
    private readonly Accelerator _acc;
    private readonly IlgpuLaunch _launch;
    private readonly bool _tiled;

    private IlgpuOps(Context ctx, Accelerator acc, bool tiledMatMul, bool cudaShapes, bool mmaMatMul = false, bool mmaAttention = false)
    {
        _ctx = ctx; _acc = acc;
        CudaShapes = cudaShapes || acc.AcceleratorType == AcceleratorType.Cuda;
        _launch = new IlgpuLaunch(acc, CudaShapes);
        _tiled = tiledMatMul || CudaShapes;
        // mma.sync with bf16 needs sm_80; a simulator runs the kernels' shuffle fallback on its 32-lane warps when asked to.
        bool warp32 = acc.WarpSize == 32;
        TensorCoreMatMul = acc is CudaAccelerator cuda ? cuda.Architecture >= CudaArchitecture.SM_80 : (mmaMatMul || cudaShapes) && warp32;
        TensorCoreAttention = acc is CudaAccelerator ? TensorCoreMatMul : mmaAttention && warp32;
    }

    /// <summary>True when bf16/fp16 matmuls run on the tensor-core kernel (mma.sync m16n8k16): on CUDA from sm_80, and on a
    /// simulator with 32-lane warps created with <c>mmaMatMul</c> or <c>cudaShapes</c> (there the mma's warp-shuffle fallback runs).</summary>
    public bool TensorCoreMatMul { get; }

    /// <summary>True when the kernels run with CUDA's tiles and group sizes (64×64 GEMM tiles, 32-row attention
    /// blocks, 256-thread row groups): always on CUDA, and on a simulator created with <c>cudaShapes</c>.</summary>
    public bool CudaShapes { get; }

    /// <summary>True when bf16/fp16 attention runs on the tensor-core flash kernels (FlashAttention*, mma.sync m16n8k16): on
    /// CUDA from sm_80, and on a simulator with 32-lane warps created with <c>mmaAttention</c> (the shuffle fallback runs).</summary>
    public bool TensorCoreAttention { get; }

    /// <summary>The CUDA backend on device <paramref name="deviceIndex"/>; throws naming the cause when ILGPU finds no CUDA device.</summary>
    internal static IlgpuOps CreateCuda(int deviceIndex = 0)
    {
        var ctx = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O1));
        try
        {
            var devices = ctx.GetCudaDevices();
            if (devices.Count == 0)
                throw new NotSupportedException("--device cuda: ILGPU found no CUDA device (is the NVIDIA driver's libcuda.so loadable and a GPU visible?)");
            if (deviceIndex < 0 || deviceIndex >= devices.Count)
                throw new ArgumentOutOfRangeException(nameof(deviceIndex), $"CUDA device {deviceIndex} does not exist ({devices.Count} found)");
            var acc = ctx.CreateCudaAccelerator(deviceIndex);
            return new IlgpuOps(ctx, acc, tiledMatMul: true, cudaShapes: true);
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    /// <summary>The backend on ILGPU's CPU accelerator with a small custom device (warp of
    /// <paramref name="warp"/> threads, <paramref name="warps"/> warps per group, one multiprocessor): every
    /// simulated thread is an OS thread, so keep it tiny. <paramref name="tiledMatMul"/> runs the shared-memory
    /// GEMM (with a small tile) instead of the one-thread-per-element path, so tests exercise the CUDA kernel's logic.
    /// <paramref name="cudaShapes"/> runs the exact CUDA configurations instead (needs a device of 256 threads per
    /// group, e.g. warp 32 × 8 warps; very slow: only for tests at tiny sizes). <paramref name="mmaMatMul"/> runs bf16/fp16
    /// matmuls on the tensor-core kernel with its 2-warp simulator block (needs warp 32 and 64 threads per group).
    /// <paramref name="mmaAttention"/> runs bf16/fp16 attention on the tensor-core flash kernels (needs warp 32).</summary>
    internal static IlgpuOps CreateCpuSimulator(int warp = 2, int warps = 2, bool tiledMatMul = false, bool cudaShapes = false, bool mmaMatMul = false,
        bool mmaAttention = false)
    {
        if (mmaAttention && warp != 32) throw new ArgumentException($"mmaAttention needs warps of 32 lanes (the mma fragments span 32), got {warp}");
        var ctx = Context.Create(b => b.CPU(new CPUDevice(warp, warps, 1)).EnableAlgorithms().Optimize(OptimizationLevel.O1));
        try
        {
            var acc = ctx.CreateCPUAccelerator(0);
            if (cudaShapes && acc.MaxNumThreadsPerGroup < 256)
                throw new ArgumentException($"cudaShapes needs 256 threads per group; the simulated device has {acc.MaxNumThreadsPerGroup}");
            if (mmaMatMul && (warp != 32 || acc.MaxNumThreadsPerGroup < 64))
                throw new ArgumentException($"mmaMatMul needs warps of 32 and 64 threads per group; the simulated device has warp {warp}, {acc.MaxNumThreadsPerGroup} threads");
            return new IlgpuOps(ctx, acc, tiledMatMul, cudaShapes, mmaMatMul, mmaAttention);
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    /// <summary>The underlying accelerator.</summary>
    public Accelerator Accelerator => _acc;

    /// <summary>True on a CUDA device.</summary>
    public bool IsCuda => _acc.AcceleratorType == AcceleratorType.Cuda;

    /// <inheritdoc/>
    public string Name => IsCuda ? "cuda" : "ilgpu-cpu";

    /// <inheritdoc/>
    /// <remarks>Device memory: staged through the host for MPI; on CUDA, NCCL between the devices.</remarks>
    public IRankTransport Transport => this;

    bool IRankTransport.TryHostView(Tensor t, out Span<float> view) { view = default; return false; }
    string? IRankTransport.NcclUnavailable => _acc is CudaAccelerator ? null : $"{Name} backend";
    NcclCommunicator IRankTransport.OpenNccl(ICommunicator mpi, NcclLibrary library) => NcclCommunicator.Create(mpi, this, _acc, library);

    /// <inheritdoc/>
    /// <remarks>Attention head dims up to the attention tiles' shared-memory rows (128).</remarks>
    public BackendLimits Limits { get; } = new(Math.Min(default(AttnTile32).MaxHd, default(AttnTile4).MaxHd), ReducedPrecision: true);

    /// <inheritdoc/>
    public string DeviceName => IsCuda
        ? $"{_acc.Name}, {_acc.NumMultiprocessors} SMs"
        : $"ILGPU CPU simulator, {_acc.MaxNumThreadsPerGroup} threads/group";

    /// <summary>Releases scratch buffers, the accelerator and the context.</summary>
    public void Dispose()
    {
        _scratchF?.Dispose(); _scratchI?.Dispose(); _scratchD?.Dispose(); _scratchI2?.Dispose(); _noInts?.Dispose();
        _acc.Dispose();
        _ctx.Dispose();
    }

    // ---- views and checks -----------------------------------------------------------------------

    private static ArrayView<float> V(Tensor t) => t.Buffer is IlgpuBuffer<float> b
        ? b.View(t.Offset, t.Length)
        : throw new ArgumentException(t.Buffer is null ? "tensor has no buffer (default Tensor)"
            : $"tensor buffer is {t.Buffer.GetType().Name}, not an ILGPU backend float buffer");

    private static ArrayView<int> V(IntTensor t) => t.Buffer is IlgpuBuffer<int> b
        ? b.View(t.Offset, t.Length)
        : throw new ArgumentException(t.Buffer is null ? "int tensor has no buffer (default IntTensor)"
            : $"int tensor buffer is {t.Buffer.GetType().Name}, not an ILGPU backend int buffer");

    // The first n elements of t (OpContract has checked that t holds them).
    private static ArrayView<float> V(Tensor t, long n)
    {
        if (n > int.MaxValue) throw new ArgumentException($"a tensor of {n} elements is more than the 2^31 this backend indexes");
        return V(t).SubView(0, n);
    }

    private static ArrayView<int> V(IntTensor t, long n) => V(t).SubView(0, n);

    // An optional int argument: its first n elements, or a one-element stand-in the kernel does not read (its flag is off).
    private ArrayView<int> IntsOrNone(IntTensor t, long n) => t.IsEmpty ? Scratch(ref _noInts, 1) : V(t, Math.Max(n, 1));

    // ---- scratch (grown on demand; growing synchronises so no queued kernel still reads the old one) ----

    private MemoryBuffer1D<float, Stride1D.Dense>? _scratchF;
    private MemoryBuffer1D<int, Stride1D.Dense>? _scratchI, _scratchI2, _noInts;
    private MemoryBuffer1D<double, Stride1D.Dense>? _scratchD;

    private ArrayView<T> Scratch<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buf, long n) where T : unmanaged
    {
        if (buf is null || buf.Length < n)
        {
            _acc.Synchronize();
            if (buf is not null) { Memory.Freed(buf.LengthInBytes); buf.Dispose(); }
            buf = _acc.Allocate1D<T>(Math.Max(n, 256));
            Memory.Allocated(buf.LengthInBytes); // device memory too: counted with the buffers
        }
        return ((ArrayView<T>)buf.View).SubView(0, Math.Max(n, 1));
    }

    // ---- memory -----------------------------------------------------------------------------------

    /// <inheritdoc/>
    public BufferTally Memory { get; } = new();

    /// <inheritdoc/>
    public Tensor Alloc(long length) => new(new IlgpuBuffer<float>(_acc, length, Memory), 0, length);

    /// <inheritdoc/>
    public IntTensor AllocInt(long length) => new(new IlgpuBuffer<int>(_acc, length, Memory), 0, length);

    /// <inheritdoc/>
    public void Upload(Tensor dst, ReadOnlySpan<float> src)
    {
        V(dst, src.Length).CopyFromCPU(src);
    }

    /// <inheritdoc/>
    public void Upload(IntTensor dst, ReadOnlySpan<int> src)
    {
        V(dst, src.Length).CopyFromCPU(src);
    }

    /// <inheritdoc/>
    public void Download(Tensor src, Span<float> dst)
    {
        _acc.Synchronize();
        V(src, dst.Length).CopyToCPU(dst);
    }

    /// <inheritdoc/>
    public void Download(IntTensor src, Span<int> dst)
    {
        _acc.Synchronize();
        V(src, dst.Length).CopyToCPU(dst);
    }

    /// <inheritdoc/>
    public void Synchronize() => _acc.Synchronize();

    // ---- elementwise --------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Fill(Tensor t, float value)
    {
        Launch(IlgpuKernels.Fill, _launch.Items(t.Length), V(t, t.Length), value);
    }

    /// <inheritdoc/>
    /// <remarks>Nothing to keep: the ILGPU matmul kernels read the weights as they lie.</remarks>
    public void KeepWeights(Tensor weights, bool frozen = false) { }

    /// <inheritdoc/>
    public void Copy(Tensor dst, Tensor src)
    {
        Launch(IlgpuKernels.Copy, _launch.Items(dst.Length), V(dst, dst.Length), V(src, src.Length));
    }

    /// <inheritdoc/>
    public void Add(Tensor y, Tensor a, Tensor b)
    {
        long n = y.Length;
        Launch(IlgpuKernels.AddKernel, _launch.Items(n), V(y, n), V(a, n), V(b, n));
    }

    /// <inheritdoc/>
    public void AddInPlace(Tensor y, Tensor x)
    {
        long n = y.Length;
        Launch(IlgpuKernels.AddInPlace, _launch.Items(n), V(y, n), V(x, n));
    }

    /// <inheritdoc/>
    public void Scale(Tensor y, float s)
    {
        Launch(IlgpuKernels.Scale, _launch.Items(y.Length), V(y, y.Length), s);
    }
}
