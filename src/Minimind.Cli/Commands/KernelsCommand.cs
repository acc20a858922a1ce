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

    /// <inheritdoc/>
    public string Help => """
        Usage: minimind kernels check [--device auto|cuda|ilgpu-cpu|cpu] [--sizes small|v1] [--tol 1e-4]
               minimind kernels bench [--device auto|cuda|ilgpu-cpu|cpu] [--sizes small|v1] [--seconds 0.5] [--op NAME]
               minimind kernels ptx --out DIR [--arch sm_80|sm_86|sm_89|sm_90] [--op NAME]
               [mpirun -np W] minimind kernels nccl [--mb 256] [--iters 10]

        check  builds every IBackend op with seeded inputs on the device and on the CPU backend, runs
               each once on both, and prints the max relative error (max|a-b| / max|b|) of every output
               with PASS/FAIL; exit code 1 when any output fails.
        bench  times every op on the device (after warm-up, synchronised) and prints ms per call and
               GFLOP/s (matmul, attention) or GB/s (memory-bound ops: minimum bytes moved).
        nccl   the NCCL binding on CUDA (libnccl.so.2 or MINIMIND_NCCL_LIB; one GPU per local rank, id
               broadcast over MPI): an exact all-reduce check, then all-reduce time and bandwidth
        ptx    writes every ILGPU kernel's PTX (ISA 7.8) to DIR/<kernel>.ptx without needing a GPU, e.g.
               for `ptxas -v -arch=sm_90 DIR/GemmTiled_GemmTile64.ptx` (registers, spills, shared memory).

        Options:
          --device D     auto (default: cuda when ILGPU finds a GPU, else ilgpu-cpu), cuda, ilgpu-cpu
                         (ILGPU's CPU simulator: slow, use --sizes small) or cpu (bench only makes sense)
          --sizes S      v1: dim 512, 16 heads, 8 kv heads, T 512, batch 16, FFN 1408, vocab 6400
                         (default on cuda/cpu); small: tiny shapes (default on ilgpu-cpu)
          --tol X        check: largest accepted max relative error (default 1e-4)
          --seconds X    bench: minimum timed seconds per op (default 0.5)
          --op NAME      only the ops whose name contains NAME
          --threads N    CPU backend threads (default: all cores)

        Examples:
          minimind kernels check --device ilgpu-cpu
          minimind kernels check --device cuda --sizes v1
          minimind kernels bench --device cuda
        """;

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        string mode = args.Positional("check, bench, ptx or nccl");
        if (mode is not ("check" or "bench" or "ptx" or "nccl")) throw new UsageException($"unknown mode '{mode}': expected check, bench, ptx or nccl");
        if (mode == "ptx") return WritePtx(args);
        if (mode == "nccl") return NcclCheck.Run(args);
        string device = args.Choice("device", "auto", "auto", "cuda", "ilgpu-cpu", "cpu");
        string? sizesName = args.String("sizes");
        double tol = args.Double("tol", 1e-4);
        double seconds = args.Double("seconds", 0.5);
        string? only = args.String("op");
        int threads = args.Int("threads", 0);
        args.EnsureAllUsed();

        if (device == "auto") device = IlgpuBackend.CudaAvailable() ? "cuda" : "ilgpu-cpu";
        var sizes = KernelSizes.Parse(sizesName ?? (device == "ilgpu-cpu" ? "small" : "v1"));
        using var backend = BackendFactory.Create(device, threads);
        Console.WriteLine(BackendFactory.Describe(backend));
        Console.WriteLine($"sizes: {sizes.Name} (batch {sizes.Batch}, T {sizes.SeqLen}, dim {sizes.Dim}, heads {sizes.Heads}/{sizes.KvHeads} kv, " +
            $"head dim {sizes.HeadDim}, FFN {sizes.Hidden}, vocab {sizes.Vocab}, experts {sizes.Experts} top-{sizes.TopK})");
        return mode == "check" ? Check(backend, sizes, tol, only, threads) : Bench(backend, sizes, seconds, only);
    }

    private static int WritePtx(ArgParser args)
    {
        string outDir = args.String("out") ?? throw new UsageException("ptx needs --out DIR");
        var arch = IlgpuPtx.ParseArch(args.String("arch", "sm_90")!);
        string? only = args.String("op");
        args.EnsureAllUsed();
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
