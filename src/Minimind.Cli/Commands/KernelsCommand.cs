using System.Globalization;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind kernels check|bench</c>: runs every backend op on a device against the CPU backend (check), or
/// times each op there (bench). Output is a markdown table, so the GPU script can paste it into its report.
/// </summary>
public sealed class KernelsCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "kernels";

    /// <inheritdoc/>
    public string Summary => "Check every kernel on a device against the CPU backend, or benchmark them";

    private static CliOption<string> DeviceOpt() => CommonOptions.Device("auto",
        "device: cuda, ilgpu-cpu (ILGPU's CPU simulator: slow, use --sizes small), cpu (bench only makes sense), auto (cuda when ILGPU finds a GPU, else ilgpu-cpu)");
    private static CliOption<string?> SizesOpt() => Opt.ChoiceOrNull("sizes",
        "v1: dim 512, 16 heads, 8 kv heads, T 512, batch 16, FFN 1408, vocab 6400; m3 (minimind3): dim 768, 8/4 heads (head dim 96), T 1024, batch 16, FFN 2432; small: tiny shapes", "small", "v1", "m3")
        .DefaultIs("small on ilgpu-cpu, else v1").Sample("small");
    private static CliOption<string?> OpOpt() => Opt.String("op", "NAME", null, "only the ops whose name contains NAME").DefaultIs("all").Sample("Matmul");

    /// <summary><c>check</c>'s <c>--device</c>.</summary>
    public static readonly CliOption<string> CheckDevice = DeviceOpt(), BenchDevice = DeviceOpt();
    /// <summary><c>--sizes</c>.</summary>
    public static readonly CliOption<string?> CheckSizes = SizesOpt(), BenchSizes = SizesOpt();
    /// <summary><c>--op</c>.</summary>
    public static readonly CliOption<string?> CheckOp = OpOpt(), BenchOp = OpOpt(), PtxOp = OpOpt();
    /// <summary><c>--dtype</c>: the precision of the matmul and attention ops (the others are float32 at any dtype).</summary>
    public static readonly CliOption<string> CheckDtype = CommonOptions.Dtype("fp32"), BenchDtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> CheckThreads = CommonOptions.Threads("CPU backend threads"), BenchThreads = CommonOptions.Threads("CPU backend threads");
    /// <summary><c>check --tol</c>.</summary>
    public static readonly CliOption<double?> Tol = Opt.DoubleOrNull("tol", "X", "largest accepted max relative error").Positive()
        .DefaultIs("1e-4; 2e-5 at --dtype fp16").Sample("1e-3");

    /// <summary><c>bench --seconds</c>.</summary>
    public static readonly CliOption<double> Seconds = Opt.Double("seconds", "X", 0.5, "minimum timed seconds per op").Positive();
    /// <summary><c>ptx --out</c>.</summary>
    public static readonly CliOption<string?> PtxOut = Opt.String("out", "DIR", null, "folder for the .ptx files").Required().Sample("ptx");
    /// <summary><c>ptx --arch</c>.</summary>
    public static readonly CliOption<string> PtxArch = Opt.Choice("arch", "sm_90", "CUDA architecture to compile for", "sm_80", "sm_86", "sm_89", "sm_90");

    private const string Intro = """
        Runs every IBackend op on a device against the CPU backend, or times it; tables are markdown,
        so the GPU script can paste them into its report.
        """;

    /// <summary><c>minimind kernels check</c>.</summary>
    public static readonly OptionTable CheckTable = new("kernels check", new[] { "kernels check [--device D] [--sizes small|v1|m3] [--dtype fp32|bf16|fp16] [--tol X]" },
        """
        Builds every IBackend op with seeded inputs on the device and on the CPU backend, runs each once on
        both, and prints the max relative error (max|a-b| / max|b|) of every output with PASS/FAIL; exit
        code 1 when any output fails. With --dtype bf16/fp16 the matmul and attention ops round their
        operands on both backends alike (the CPU backend is the reference of the rounding), so only
        float32 summation order differs; the default tolerance is 1e-4, 2e-5 at fp16 (whose rounding
        moves outputs by less, so a device that skipped it must still fail).
        """,
        new[] { new OptionGroup("Options", CheckDevice, CheckSizes, CheckDtype, Tol, CheckOp, CheckThreads) },
        new[] { "kernels check --device ilgpu-cpu", "kernels check --device cuda --sizes v1 --dtype bf16" });

    /// <summary><c>minimind kernels bench</c>.</summary>
    public static readonly OptionTable BenchTable = new("kernels bench", new[] { "kernels bench [--device D] [--sizes small|v1|m3] [--dtype fp32|bf16|fp16] [--seconds 0.5] [--op NAME]" },
        """
        Times every op on the device (after warm-up, synchronised) and prints its shape, ms per call and
        TFLOP/s (matmul in every nn.Linear shape of the model and layout, attention) or GB/s (memory-bound
        ops: minimum bytes moved). --dtype sets the precision of the matmul and attention ops.
        """,
        new[] { new OptionGroup("Options", BenchDevice, BenchSizes, BenchDtype, Seconds, BenchOp, BenchThreads) },
        new[] { "kernels bench --device cuda", "kernels bench --device cuda --dtype bf16 --op MatMul" });

    /// <summary><c>minimind kernels ptx</c>.</summary>
    public static readonly OptionTable PtxTable = new("kernels ptx", new[] { "kernels ptx --out DIR [--arch sm_80|sm_86|sm_89|sm_90] [--op NAME]" },
        """
        Writes every ILGPU kernel's PTX (ISA 7.8) to DIR/<kernel>.ptx without needing a GPU, e.g. for
        `ptxas -v -arch=sm_90 DIR/GemmTiled_GemmTile64.ptx` (registers, spills, shared memory).
        """,
        new[] { new OptionGroup("Options", PtxOut, PtxArch, PtxOp) },
        new[] { "kernels ptx --out ptx --arch sm_90" });

    /// <summary><c>nccl --mb</c>.</summary>
    public static readonly CliOption<double> NcclMb = Opt.Double("mb", "X", 256, "megabytes in the timed all-reduce").Positive();
    /// <summary><c>nccl --iters</c>.</summary>
    public static readonly CliOption<int> NcclIters = Opt.Int("iters", "N", 10, "timed all-reduces").AtLeast(1);

    /// <summary><c>minimind kernels nccl</c>.</summary>
    public static readonly OptionTable NcclTable = new("kernels nccl", new[] { "[mpirun -np W] kernels nccl [--mb 256] [--iters 10]" },
        """
        The NCCL binding on CUDA (libnccl.so.2, or the file MINIMIND_NCCL_LIB names, e.g. the copy in PyTorch's
        CUDA wheel): one GPU per local rank, the unique id broadcast over MPI, ILGPU's device pointers and
        stream. An exact all-reduce check of small integers, then all-reduce time and bandwidth. Runs alone
        (world size 1, still through NCCL) or under mpirun.
        """,
        new[] { new OptionGroup("Options", NcclMb, NcclIters) },
        new[] { "kernels nccl", "kernels nccl --mb 64" });

    /// <summary>Everything <c>minimind kernels</c> accepts: one table per sub-command.</summary>
    public static readonly OptionTable Table = new("kernels", new[] { "kernels check|bench|ptx|nccl [options]" }, Intro, Array.Empty<OptionGroup>(),
        new[] { "kernels check --device ilgpu-cpu", "kernels check --device cuda --sizes v1", "kernels bench --device cuda" })
    {
        Subcommands = new[]
        {
            ("check", "every op vs the CPU backend: max relative error, PASS/FAIL", CheckTable),
            ("bench", "ms per call and GFLOP/s or GB/s of every op", BenchTable),
            ("ptx", "write every kernel's PTX to a folder (no GPU needed)", PtxTable),
            ("nccl", "the NCCL binding: exact all-reduce check and bandwidth (CUDA)", NcclTable),
        },
    };

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind kernels</c> command line asks for (the options of other modes keep their defaults).</summary>
    public sealed record Settings(string Mode, string Device, string? Sizes, double Tol, double Seconds, string? Op, int Threads, string? PtxOut, string PtxArch,
        double NcclMb = 256, int NcclIters = 10, Precision Dtype = Precision.Fp32);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        string mode = args.Positional("check, bench, ptx or nccl");
        var s = mode switch
        {
            "check" => CheckSettings(args),
            "bench" => new Settings(mode, args.Get(BenchDevice), args.Get(BenchSizes), KernelSuite.DefaultTolerance(Precision.Fp32), args.Get(Seconds), args.Get(BenchOp), args.Get(BenchThreads), null, PtxArch.Default,
                Dtype: PrecisionRounding.Parse(args.Get(BenchDtype))),
            "ptx" => new Settings(mode, CheckDevice.Default, null, KernelSuite.DefaultTolerance(Precision.Fp32), Seconds.Default, args.Get(PtxOp), 0,
                args.Require(PtxOut), args.Get(PtxArch)),
            "nccl" => new Settings(mode, "cuda", null, KernelSuite.DefaultTolerance(Precision.Fp32), Seconds.Default, null, 0, null, PtxArch.Default, args.Get(NcclMb), args.Get(NcclIters)),
            _ => throw new UsageException($"unknown mode '{mode}': expected check, bench, ptx or nccl{Suggest.Nearest(mode, new[] { "check", "bench", "ptx", "nccl" }, " (did you mean '{0}'?)")}"),
        };
        args.EnsureAllUsed();
        return s;
    }

    private static Settings CheckSettings(ArgParser args)
    {
        var dtype = PrecisionRounding.Parse(args.Get(CheckDtype));
        return new Settings("check", args.Get(CheckDevice), args.Get(CheckSizes), args.Get(Tol) ?? KernelSuite.DefaultTolerance(dtype), Seconds.Default, args.Get(CheckOp),
            args.Get(CheckThreads), null, PtxArch.Default, Dtype: dtype);
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var settings = Bind(args);
        if (settings.Mode == "nccl") return NcclCheck.Run(settings.NcclMb, settings.NcclIters);
        var (mode, device, sizesName, tol, seconds, only, threads, ptxOut, ptxArch, _, _, dtype) = settings;
        if (mode == "ptx") return WritePtx(ptxOut!, IlgpuPtx.ParseArch(ptxArch), only);
        using var backend = BackendFactory.Create(device, threads, autoWithoutGpu: "ilgpu-cpu");
        var sizes = KernelSizes.Parse(sizesName ?? (backend.Name == "ilgpu-cpu" ? "small" : "v1"));
        Console.WriteLine(BackendFactory.Describe(backend));
        if (dtype != Precision.Fp32 && !backend.Limits.ReducedPrecision)
            throw new NotSupportedException($"kernels {mode} --dtype {dtype.Name()}: the {backend.Name} backend does not run bf16/fp16 matmul and attention yet " +
                "(BackendLimits.ReducedPrecision is false); use --dtype fp32 there, or --device cpu");
        Console.WriteLine($"sizes: {sizes.Name} (batch {sizes.Batch}, T {sizes.SeqLen}, dim {sizes.Dim}, heads {sizes.Heads}/{sizes.KvHeads} kv, " +
            $"head dim {sizes.HeadDim}, FFN {sizes.Hidden}, vocab {sizes.Vocab}, experts {sizes.Experts} top-{sizes.TopK}); dtype {dtype.Name()} " +
            "(matmul and attention operands; every other op float32)");
        return mode == "check" ? Check(backend, sizes, dtype, tol, only, threads) : Bench(backend, sizes, dtype, seconds, only);
    }

    private static int WritePtx(string outDir, ILGPU.Runtime.Cuda.CudaArchitecture arch, string? only)
    {
        Directory.CreateDirectory(outDir);
        int n = 0;
        foreach (var e in IlgpuKernels.All)
        {
            if (!Selected(e.Name, only)) continue;
            string path = Path.Combine(outDir, IlgpuPtx.FileName(e) + ".ptx");
            // Atomic write: a partial file never carries the final name.
            File.WriteAllText(path + ".tmp", IlgpuPtx.Compile(e, arch));
            File.Move(path + ".tmp", path, overwrite: true);
            Console.WriteLine(path);
            n++;
        }
        Console.Error.WriteLine($"wrote {n} PTX file(s) to {outDir}");
        return 0;
    }

    private static bool Selected(string name, string? only) => only is null || name.Contains(only, StringComparison.OrdinalIgnoreCase);

    private static int Check(IBackend backend, KernelSizes sizes, Precision dtype, double tol, string? only, int threads)
    {
        using var cpu = new CpuBackend(threads);
        Console.Error.WriteLine("setting up inputs on both backends...");
        var dev = KernelSuite.Build(backend, sizes, precision: dtype);
        var refs = KernelSuite.Build(cpu, sizes, precision: dtype);
        Console.WriteLine();
        Console.WriteLine($"| op | output | max rel err vs cpu | result (tol {tol.ToString("G3", CultureInfo.InvariantCulture)}) |");
        Console.WriteLine("|---|---|---:|---|");
        int failures = 0;
        for (int i = 0; i < dev.Count; i++)
        {
            if (!Selected(dev[i].Name, only)) continue;
            if (!Console.IsErrorRedirected) Console.Error.Write($"  {dev[i].Name}...\r"); // a live line on a terminal only
            dev[i].Run(); refs[i].Run();
            var a = dev[i].Read(); var r = refs[i].Read();
            for (int j = 0; j < a.Count; j++)
            {
                double e = KernelSuite.MaxRelativeError(a[j].Values, r[j].Values);
                bool ok = e <= tol;
                if (!ok) failures++;
                Console.WriteLine($"| {dev[i].Name} | {a[j].Name} | {e.ToString("E2", CultureInfo.InvariantCulture)} | {(ok ? "PASS" : "FAIL")} |");
            }
        }
        Console.WriteLine();
        Console.WriteLine(failures == 0 ? $"kernels check ({dtype.Name()}): all outputs PASS" : $"kernels check ({dtype.Name()}): {failures} output(s) FAIL");
        return failures == 0 ? 0 : 1;
    }

    private static int Bench(IBackend backend, KernelSizes sizes, Precision dtype, double seconds, string? only)
    {
        Console.Error.WriteLine("setting up inputs...");
        var cases = KernelSuite.Build(backend, sizes, precision: dtype);
        Console.WriteLine();
        Console.WriteLine("| op | shape | dtype | ms/call | throughput |");
        Console.WriteLine("|---|---|---|---:|---:|");
        foreach (var c in cases)
        {
            if (!Selected(c.Name, only)) continue;
            double t = KernelSuite.Time(backend, c, warmup: 2, minSeconds: seconds, maxIterations: 1000);
            string tp = c.Flops > 0 ? $"{c.Flops / t / 1e12:0.####} TFLOP/s" : $"{c.Bytes / t / 1e9:0.###} GB/s";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {c.Shape ?? ""} | {c.Precision.Name()} | {t * 1e3:F3} | {tp} |"));
        }
        return 0;
    }
}
