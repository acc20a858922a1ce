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
        "v1: dim 512, 16 heads, 8 kv heads, T 512, batch 16, FFN 1408, vocab 6400; small: tiny shapes", "small", "v1")
        .DefaultIs("small on ilgpu-cpu, else v1").Sample("small");
    private static CliOption<string?> OpOpt() => Opt.String("op", "NAME", null, "only the ops whose name contains NAME").DefaultIs("all").Sample("Matmul");

    /// <summary><c>check</c>'s <c>--device</c>.</summary>
    public static readonly CliOption<string> CheckDevice = DeviceOpt(), BenchDevice = DeviceOpt();
    /// <summary><c>--sizes</c>.</summary>
    public static readonly CliOption<string?> CheckSizes = SizesOpt(), BenchSizes = SizesOpt();
    /// <summary><c>--op</c>.</summary>
    public static readonly CliOption<string?> CheckOp = OpOpt(), BenchOp = OpOpt(), PtxOp = OpOpt();
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> CheckThreads = CommonOptions.Threads("CPU backend threads"), BenchThreads = CommonOptions.Threads("CPU backend threads");
    /// <summary><c>check --tol</c>.</summary>
    public static readonly CliOption<double> Tol = Opt.Double("tol", "X", 1e-4, "largest accepted max relative error").Positive();
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
    public static readonly OptionTable CheckTable = new("kernels check", new[] { "kernels check [--device D] [--sizes small|v1] [--tol 1e-4]" },
        """
        Builds every IBackend op with seeded inputs on the device and on the CPU backend, runs each once on
        both, and prints the max relative error (max|a-b| / max|b|) of every output with PASS/FAIL; exit
        code 1 when any output fails.
        """,
        new[] { new OptionGroup("Options", CheckDevice, CheckSizes, Tol, CheckOp, CheckThreads) },
        new[] { "kernels check --device ilgpu-cpu", "kernels check --device cuda --sizes v1" });

    /// <summary><c>minimind kernels bench</c>.</summary>
    public static readonly OptionTable BenchTable = new("kernels bench", new[] { "kernels bench [--device D] [--sizes small|v1] [--seconds 0.5] [--op NAME]" },
        """
        Times every op on the device (after warm-up, synchronised) and prints ms per call and GFLOP/s
        (matmul, attention) or GB/s (memory-bound ops: minimum bytes moved).
        """,
        new[] { new OptionGroup("Options", BenchDevice, BenchSizes, Seconds, BenchOp, BenchThreads) },
        new[] { "kernels bench --device cuda" });

    /// <summary><c>minimind kernels ptx</c>.</summary>
    public static readonly OptionTable PtxTable = new("kernels ptx", new[] { "kernels ptx --out DIR [--arch sm_80|sm_86|sm_89|sm_90] [--op NAME]" },
        """
        Writes every ILGPU kernel's PTX (ISA 7.8) to DIR/<kernel>.ptx without needing a GPU, e.g. for
        `ptxas -v -arch=sm_90 DIR/GemmTiled_GemmTile64.ptx` (registers, spills, shared memory).
        """,
        new[] { new OptionGroup("Options", PtxOut, PtxArch, PtxOp) },
        new[] { "kernels ptx --out ptx --arch sm_90" });

    /// <summary>Everything <c>minimind kernels</c> accepts: one table per sub-command.</summary>
    public static readonly OptionTable Table = new("kernels", new[] { "kernels check|bench|ptx [options]" }, Intro, Array.Empty<OptionGroup>(),
        new[] { "kernels check --device ilgpu-cpu", "kernels check --device cuda --sizes v1", "kernels bench --device cuda" })
    {
        Subcommands = new[]
        {
            ("check", "every op vs the CPU backend: max relative error, PASS/FAIL", CheckTable),
            ("bench", "ms per call and GFLOP/s or GB/s of every op", BenchTable),
            ("ptx", "write every kernel's PTX to a folder (no GPU needed)", PtxTable),
        },
    };

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind kernels</c> command line asks for (the options of other modes keep their defaults).</summary>
    public sealed record Settings(string Mode, string Device, string? Sizes, double Tol, double Seconds, string? Op, int Threads, string? PtxOut, string PtxArch);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        string mode = args.Positional("check, bench or ptx");
        var s = mode switch
        {
            "check" => new Settings(mode, args.Get(CheckDevice), args.Get(CheckSizes), args.Get(Tol), Seconds.Default, args.Get(CheckOp), args.Get(CheckThreads), null, PtxArch.Default),
            "bench" => new Settings(mode, args.Get(BenchDevice), args.Get(BenchSizes), Tol.Default, args.Get(Seconds), args.Get(BenchOp), args.Get(BenchThreads), null, PtxArch.Default),
            "ptx" => new Settings(mode, CheckDevice.Default, null, Tol.Default, Seconds.Default, args.Get(PtxOp), 0,
                args.Require(PtxOut), args.Get(PtxArch)),
            _ => throw new UsageException($"unknown mode '{mode}': expected check, bench or ptx{Suggest.Nearest(mode, new[] { "check", "bench", "ptx" }, " (did you mean '{0}'?)")}"),
        };
        args.EnsureAllUsed();
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var (mode, device, sizesName, tol, seconds, only, threads, ptxOut, ptxArch) = Bind(args);
        if (mode == "ptx") return WritePtx(ptxOut!, IlgpuPtx.ParseArch(ptxArch), only);
        if (device == "auto") device = IlgpuBackend.CudaAvailable() ? "cuda" : "ilgpu-cpu";
        var sizes = KernelSizes.Parse(sizesName ?? (device == "ilgpu-cpu" ? "small" : "v1"));
        using var backend = BackendFactory.Create(device, threads);
        Console.WriteLine(BackendFactory.Describe(backend));
        Console.WriteLine($"sizes: {sizes.Name} (batch {sizes.Batch}, T {sizes.SeqLen}, dim {sizes.Dim}, heads {sizes.Heads}/{sizes.KvHeads} kv, " +
            $"head dim {sizes.HeadDim}, FFN {sizes.Hidden}, vocab {sizes.Vocab}, experts {sizes.Experts} top-{sizes.TopK})");
        return mode == "check" ? Check(backend, sizes, tol, only, threads) : Bench(backend, sizes, seconds, only);
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

    private static int Check(IBackend backend, KernelSizes sizes, double tol, string? only, int threads)
    {
        using var cpu = new CpuBackend(threads);
        Console.Error.WriteLine("setting up inputs on both backends...");
        var dev = KernelSuite.Build(backend, sizes);
        var refs = KernelSuite.Build(cpu, sizes);
        Console.WriteLine();
        Console.WriteLine($"| op | output | max rel err vs cpu | result (tol {tol.ToString("G3", CultureInfo.InvariantCulture)}) |");
        Console.WriteLine("|---|---|---:|---|");
        int failures = 0;
        for (int i = 0; i < dev.Count; i++)
        {
            if (!Selected(dev[i].Name, only)) continue;
            Console.Error.Write($"  {dev[i].Name}...\r");
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
        Console.WriteLine(failures == 0 ? "kernels check: all outputs PASS" : $"kernels check: {failures} output(s) FAIL");
        return failures == 0 ? 0 : 1;
    }

    private static int Bench(IBackend backend, KernelSizes sizes, double seconds, string? only)
    {
        Console.Error.WriteLine("setting up inputs...");
        var cases = KernelSuite.Build(backend, sizes);
        Console.WriteLine();
        Console.WriteLine("| op | ms/call | throughput |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var c in cases)
        {
            if (!Selected(c.Name, only)) continue;
            double t = KernelSuite.Time(backend, c, warmup: 2, minSeconds: seconds, maxIterations: 1000);
            string tp = c.Flops > 0 ? $"{c.Flops / t / 1e9:0.###} GFLOP/s" : $"{c.Bytes / t / 1e9:0.###} GB/s";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {t * 1e3:F3} | {tp} |"));
        }
        return 0;
    }
}
