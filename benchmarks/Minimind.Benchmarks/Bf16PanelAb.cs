using System.Globalization;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;

namespace Minimind.Benchmarks;

/// <summary>
/// The CPU SGEMM at bf16 with 16-bit B panels against the float32 B panels it used before (same process, same operands,
/// same bits out), and against the same product at fp32, calls interleaved per repetition on one thread, timed by the
/// thread's CPU time: on a machine shared with other work the time spent descheduled is left out. Shapes are
/// <c>kernels bench --sizes v1|m3</c>'s model matmuls in the three nn.Linear layouts. Prints best-of GFLOP/s and the
/// median of the per-repetition time ratios (above 1: the 16-bit panels are faster).
/// Run: <c>dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- bf16-panels [v1|m3] [reps] [avx512,avx2,portable] [M] [threads]</c>
/// (M: rows, i.e. tokens, default the size set's batch·T; a few rows time the decode-sized products; threads above 1
/// time wall-clock seconds instead, since the workers' CPU time includes the thread pool's spinning).
/// </summary>
public static class Bf16PanelAb
{
    /// <summary>Runs the comparison; args: the size set (v1 default), repetitions (5), the CPU paths (every supported one), the rows M,
    /// the worker threads (1).</summary>
    public static int Run(string[] args)
    {
        string sizes = args.Length > 0 ? args[0] : "v1";
        int reps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var paths = Enum.GetValues<CpuIsa>().Where(CpuIsas.IsSupported).OrderDescending()
            .Where(p => args.Length <= 2 || args[2].Split(',').Contains(p.Name())).ToArray();
        if (paths.Length == 0) { Console.Error.WriteLine($"bf16-panels: no supported CPU path named in '{args[2]}'"); return 2; }
        var (tokens, dim, kvDim, hidden, vocab) = sizes == "m3" ? (16 * 1024, 768, 384, 2432, 6400) : (16 * 512, 512, 256, 1408, 6400);
        if (args.Length > 3) tokens = int.Parse(args[3], CultureInfo.InvariantCulture);
        int threads = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;
        var work = new WorkPartition(threads);
        string clock = threads == 1 ? "1 thread, the thread's CPU time" : $"{threads} threads, wall-clock time";
        Console.WriteLine($"{clock}, sizes {sizes}, best of {reps} (ratio: median of per-repetition ratios); " +
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine();
        Console.WriteLine("| path | shape M×N×K | layout | bf16, f32 panels GFLOP/s | bf16, 16-bit panels GFLOP/s | fp32 GFLOP/s | f32 panels / 16-bit | fp32 / bf16 16-bit |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        string[] layoutNames = ["fwd", "bwdIn", "bwdW"];
        foreach (var isa in paths)
            foreach (var (name, n, k) in new[] { ("q/o", dim, dim), ("k/v", kvDim, dim), ("gate/up", hidden, dim), ("down", dim, hidden), ("lm_head", vocab, dim) })
            {
                int m = tokens;
                float[] x = Filled(1, (long)m * k), w = Filled(2, (long)n * k), dy = Filled(3, (long)m * n), o = new float[Math.Max((long)m * Math.Max(n, k), (long)n * k)];
                for (int layout = 0; layout < 3; layout++)
                {
                    var t = new[] { new List<double>(), new List<double>(), new List<double>() };
                    for (int r = -1; r < reps; r++)
                        for (int v = 0; v < 3; v++)
                        {
                            var (pr, narrow) = v switch { 0 => (Precision.Bf16, false), 1 => (Precision.Bf16, true), _ => (Precision.Fp32, false) };
                            double s = SgemmVsOpenBlas.Time(threads == 1, () =>
                            {
                                if (layout == 0) Sgemm.Run(work, isa, m, n, k, x, 0, k, 1, w, 0, 1, k, o, 0, n, false, pr, narrow);
                                else if (layout == 1) Sgemm.Run(work, isa, m, k, n, dy, 0, n, 1, w, 0, k, 1, o, 0, k, true, pr, narrow);
                                else Sgemm.Run(work, isa, n, k, m, dy, 0, 1, n, x, 0, k, 1, o, 0, k, true, pr, narrow);
                            });
                            if (r >= 0) t[v].Add(s);
                        }
                    double flops = 2.0 * m * n * k;
                    string Gf(List<double> s) => (flops / s.Min() / 1e9).ToString("F0", CultureInfo.InvariantCulture);
                    string Ratio(List<double> a, List<double> b) => a.Zip(b, (p, q) => p / q).Order().ElementAt(a.Count / 2).ToString("F2", CultureInfo.InvariantCulture);
                    Console.WriteLine($"| {isa.Name()} | {m}×{n}×{k} ({name}) | {layoutNames[layout]} | {Gf(t[0])} | {Gf(t[1])} | {Gf(t[2])} | {Ratio(t[0], t[1])} | {Ratio(t[2], t[1])} |");
                }
            }
        return 0;
    }

    private static float[] Filled(int seed, long n)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        return a;
    }
}
