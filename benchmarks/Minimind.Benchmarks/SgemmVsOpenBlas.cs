using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;

namespace Minimind.Benchmarks;

/// <summary>
/// The CPU backend's SGEMM side by side with OpenBLAS's <c>cblas_sgemm</c> in one process, calls interleaved
/// (ours on each CPU path, then OpenBLAS, per repetition), so a shared machine's drifting load hits both alike.
/// Shapes are the model matmuls of <c>kernels bench --sizes v1|m3</c> (M tokens × N outputs × K inputs) in the three
/// nn.Linear layouts: fwd Y = X·Wᵀ, bwdIn dX += dY·W, bwdW dW += dYᵀ·X. Prints best-of GFLOP/s and the median of the
/// per-repetition ratios. OpenBLAS is loaded from the path given (Debian's libopenblas0-pthread, unpacked, not
/// installed); its threads and kernel follow OPENBLAS_NUM_THREADS and OPENBLAS_CORETYPE as usual.
/// Run: <c>OPENBLAS_NUM_THREADS=2 dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- sgemm-vs-openblas LIB [v1|m3[:ROWS]] [reps] [layouts] [paths]</c>
/// (layouts: comma-separated fwd, bwdIn, bwdW, default all; paths: comma-separated CPU path names, default every supported one).
/// A 6th argument <c>1</c> runs both sides on one thread and times the calling thread's CPU time instead of the wall
/// clock (OpenBLAS must then run on the caller: OPENBLAS_NUM_THREADS=1): on a machine shared with other work the time
/// the thread spends descheduled is left out, so per-core efficiency can be compared where wall-clock figures are noise.
/// A 7th, <c>calls</c> (default 3), is how many times each side runs the product in a row per repetition; the first call
/// is not timed and the best of the others counts. A training step runs its matmuls back to back, so its workers are
/// awake and its operands warm; after the 300 ms pause each side gets (so that neither side's workers, which poll for a
/// while after a call, take a core from the other) a single call also times waking the threads and the idle vCPUs
/// (measured on the 2-core VM: 1020×256×512 in 4.2 ms cold against 2.3 ms warm). <c>calls</c> = 1 gives that cold figure.
/// </summary>
public static unsafe class SgemmVsOpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>Runs the comparison; args: the libopenblas.so path, the size set (v1 default), repetitions (5), the layouts
    /// (all by default) and the CPU paths (every supported one by default).</summary>
    public static int Run(string[] args)
    {
        if (args.Length < 1) { Console.Error.WriteLine("usage: sgemm-vs-openblas LIBOPENBLAS.so [v1|m3[:ROWS]] [reps] [fwd,bwdIn,bwdW] [avx512,avx2,portable] [threads: 2|1] [calls: 3]"); return 2; }
        var lib = NativeLibrary.Load(args[0]);
        var sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(lib, "cblas_sgemm");
        var corename = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "openblas_get_corename");
        var nthreads = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "openblas_get_num_threads");
        // "v1" or "m3", optionally ":ROWS" for the token rows M (a training step's batch × positions, e.g. v1:1020 = B4 T256).
        string sizes = args.Length > 1 ? args[1] : "v1";
        int reps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var (tokens, dim, kvDim, hidden, vocab) = sizes.StartsWith("m3", StringComparison.Ordinal) ? (16 * 1024, 768, 384, 2432, 6400) : (16 * 512, 512, 256, 1408, 6400);
        if (sizes.Contains(':')) tokens = int.Parse(sizes[(sizes.IndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        string[] layoutNames = ["fwd", "bwdIn", "bwdW"];
        var layouts = args.Length > 3 ? args[3].Split(',').Select(l => Array.IndexOf(layoutNames, l)).ToArray() : [0, 1, 2];
        if (layouts.Contains(-1)) { Console.Error.WriteLine($"sgemm-vs-openblas: layouts are {string.Join(", ", layoutNames)}, got '{args[3]}'"); return 2; }
        var paths = Enum.GetValues<CpuIsa>().Where(CpuIsas.IsSupported).OrderDescending()
            .Where(p => args.Length <= 4 || args[4].Split(',').Contains(p.Name())).ToArray();
        if (paths.Length == 0) { Console.Error.WriteLine($"sgemm-vs-openblas: no supported CPU path named in '{args[4]}'"); return 2; }
        int threads = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 2;
        bool cpuTime = threads == 1;
        int calls = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 3;
        if (calls < 1) { Console.Error.WriteLine($"sgemm-vs-openblas: calls in a row must be at least 1, got {calls}"); return 2; }
        if (cpuTime && nthreads() != 1) { Console.Error.WriteLine("sgemm-vs-openblas: one thread times CPU time: set OPENBLAS_NUM_THREADS=1"); return 2; }
        var backends = paths.Select(p => new CpuBackend(threads, p)).ToArray();
        Console.WriteLine($"OpenBLAS core {Marshal.PtrToStringAnsi(corename())}, {nthreads()} threads; ours {threads} threads on {string.Join(", ", paths.Select(p => p.Name()))}; " +
            $"sizes {sizes}, best of {reps}{(cpuTime ? " of the thread's CPU time" : "")} (ratio: median of per-repetition ratios), {(calls == 1 ? "one call" : $"{calls} calls in a row, the first untimed,")} per side and repetition; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine();
        Console.WriteLine("| shape M×N×K | layout | " + string.Join(" | ", paths.Select(p => $"ours {p.Name()} GFLOP/s")) + " | OpenBLAS GFLOP/s | " +
            string.Join(" | ", paths.Select(p => $"{p.Name()}/OpenBLAS")) + " |");
        Console.WriteLine("|---|---|" + string.Concat(Enumerable.Repeat("---:|", 1 + 2 * paths.Length)));
        foreach (var (name, n, k) in new[] { ("q/o", dim, dim), ("k/v", kvDim, dim), ("gate/up", hidden, dim), ("down", dim, hidden), ("lm_head", vocab, dim) })
        {
            int m = tokens;
            // Tensors of the first backend (every CpuBackend reads any CPU tensor); OpenBLAS gets pointers to the same memory.
            var x = Filled(backends[0], 1, (long)m * k); var w = Filled(backends[0], 2, (long)n * k); var dy = Filled(backends[0], 3, (long)m * n);
            var outs = new[] { Filled(backends[0], 4, (long)m * n), Filled(backends[0], 5, (long)m * k), Filled(backends[0], 6, (long)n * k) };
            foreach (int layout in layouts)
            {
                var tOurs = paths.Select(_ => new List<double>()).ToArray();
                var tBlas = new List<double>();
                var o = outs[layout];
                for (int r = -1; r < reps; r++)
                {
                    for (int p = 0; p < paths.Length; p++)
                    {
                        var b = backends[p];
                        double t = InARow(calls, cpuTime, () =>
                        {
                            var s = new GemmShape(m, n, k);
                            if (layout == 0) b.MatMul(o, x, w, s);
                            else if (layout == 1) b.MatMulBackwardInput(o, dy, w, s, WriteMode.Accumulate);
                            else b.MatMulBackwardWeight(o, dy, x, s, WriteMode.Accumulate);
                        });
                        if (r >= 0) tOurs[p].Add(t);
                        // Our workers poll for the next region for a while: let them sleep before OpenBLAS's calls.
                        Thread.Sleep(300);
                    }
                    double tb = InARow(calls, cpuTime, () =>
                    {
                        fixed (float* px = CpuBackend.Span(x), pw = CpuBackend.Span(w), pdy = CpuBackend.Span(dy), po = CpuBackend.Span(o))
                        {
                            if (layout == 0) sgemm(RowMajor, NoTrans, Trans, m, n, k, 1f, px, k, pw, k, 0f, po, n);
                            else if (layout == 1) sgemm(RowMajor, NoTrans, NoTrans, m, k, n, 1f, pdy, n, pw, k, 1f, po, k);
                            else sgemm(RowMajor, Trans, NoTrans, n, k, m, 1f, pdy, n, px, k, 1f, po, k);
                        }
                    });
                    // OpenBLAS's workers spin for a while after a call: let them go to sleep before our next call.
                    Thread.Sleep(300);
                    if (r >= 0) tBlas.Add(tb);
                }
                double flops = 2.0 * m * n * k;
                string Gf(List<double> t) => (flops / t.Min() / 1e9).ToString("F0", CultureInfo.InvariantCulture);
                string Ratio(List<double> t)
                {
                    var q = t.Zip(tBlas, (a, b) => b / a).Order().ToList();
                    return q[q.Count / 2].ToString("F2", CultureInfo.InvariantCulture);
                }
                Console.WriteLine($"| {m}×{n}×{k} ({name}) | {layoutNames[layout]} | " +
                    string.Join(" | ", tOurs.Select(Gf)) + $" | {Gf(tBlas)} | " + string.Join(" | ", tOurs.Select(Ratio)) + " |");
            }
        }
        foreach (var b in backends) b.Dispose();
        return 0;
    }

    // The best time of calls − 1 runs of a after one untimed run (one timed run when calls is 1).
    private static double InARow(int calls, bool cpuTime, Action a)
    {
        if (calls > 1) a();
        double best = double.MaxValue;
        for (int i = 0; i < Math.Max(1, calls - 1); i++) best = Math.Min(best, Time(cpuTime, a));
        return best;
    }

    /// <summary>Seconds <paramref name="a"/> takes: wall clock, or the calling thread's CPU time.</summary>
    internal static double Time(bool cpuTime, Action a)
    {
        if (cpuTime)
        {
            double c0 = ThreadCpuSeconds();
            a();
            return ThreadCpuSeconds() - c0;
        }
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalSeconds;
    }

    private const int ClockThreadCpuTime = 3;

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, long* timespec);

    internal static double ThreadCpuSeconds()
    {
        long* ts = stackalloc long[2];
        if (ClockGetTime(ClockThreadCpuTime, ts) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return ts[0] + ts[1] * 1e-9;
    }

    private static Tensor Filled(CpuBackend b, int seed, long n)
    {
        var t = b.Alloc(n);
        var s = CpuBackend.Span(t);
        var rng = new Random(seed);
        for (int i = 0; i < s.Length; i++) s[i] = (float)rng.NextDouble() - 0.5f;
        return t;
    }
}
