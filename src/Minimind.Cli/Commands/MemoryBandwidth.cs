using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Minimind.Cli.Commands;

/// <summary>The STREAM-like kernels of <c>minimind bench memory</c>.</summary>
public enum StreamKernel
{
    /// <summary>s += a[i]: reads one array (what a decode step does with its weights).</summary>
    Read,
    /// <summary>b[i] = a[i]: reads one array, writes another.</summary>
    Copy,
    /// <summary>a[i] = b[i] + s·c[i]: reads two arrays, writes a third (STREAM's triad).</summary>
    Triad,
}

/// <summary>One measured kernel: the bytes one pass moves (STREAM's count: each array element read or written once, no
/// write-allocate traffic) and the fastest pass.</summary>
/// <param name="Kernel">Which kernel.</param>
/// <param name="Threads">Threads the arrays were split between (contiguous equal chunks).</param>
/// <param name="BytesPerPass">Bytes one pass reads plus writes.</param>
/// <param name="BestSeconds">Wall time of the fastest pass.</param>
/// <param name="Passes">Passes timed.</param>
public sealed record StreamResult(StreamKernel Kernel, int Threads, long BytesPerPass, double BestSeconds, int Passes)
{
    /// <summary>Bytes per second of the fastest pass, in GB/s (10⁹).</summary>
    public double GigabytesPerSecond => BytesPerPass / BestSeconds / 1e9;
}

/// <summary>
/// A STREAM-like memory bandwidth measurement over float32 arrays (<see cref="StreamKernel"/>), SIMD loops split over
/// threads in contiguous chunks, best of N passes. With arrays far larger than the last-level cache it gives the rate
/// at which this machine streams memory, the ceiling of a memory-bound decode step (weights read once per token).
/// </summary>
public sealed class MemoryBandwidth
{
    private readonly float[] _a, _b, _c;

    /// <summary>Allocates three arrays of <paramref name="elements"/> floats each and writes them (so every page is
    /// mapped before any pass is timed).</summary>
    public MemoryBandwidth(long elements)
    {
        if (elements < 1 || elements > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(elements), $"{elements} floats per array: must be in [1, {Array.MaxLength}]");
        _a = new float[elements]; _b = new float[elements]; _c = new float[elements];
        Parallel.For(0, 16, part =>
        {
            var (lo, hi) = Chunk(elements, 16, part);
            for (long i = lo; i < hi; i++) { _a[i] = 1; _b[i] = 2; _c[i] = 0.5f; }
        });
    }

    /// <summary>Floats per array.</summary>
    public long Elements => _a.LongLength;

    /// <summary>Bytes one pass of <paramref name="kernel"/> moves over arrays of <paramref name="elements"/> floats: 4
    /// per element read or written (read 1 array, copy 2, triad 3).</summary>
    public static long BytesPerPass(StreamKernel kernel, long elements) => elements * sizeof(float) * kernel switch
    {
        StreamKernel.Read => 1,
        StreamKernel.Copy => 2,
        StreamKernel.Triad => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "unknown kernel"),
    };

    /// <summary>Times <paramref name="passes"/> passes of <paramref name="kernel"/> on <paramref name="threads"/> threads
    /// and returns the fastest.</summary>
    public StreamResult Measure(StreamKernel kernel, int threads, int passes)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be at least 1, got {threads}");
        if (passes < 1) throw new ArgumentOutOfRangeException(nameof(passes), $"passes must be at least 1, got {passes}");
        double best = double.MaxValue;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        var sums = new double[threads];
        for (int p = 0; p < passes; p++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, options, t =>
            {
                var (lo, hi) = Chunk(Elements, threads, t);
                sums[t] = Run(kernel, lo, (int)(hi - lo));
            });
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        // The sums are used, so the read loop cannot be dropped; they are all finite by construction.
        if (!double.IsFinite(sums.Sum())) throw new InvalidOperationException("the read kernel summed to a non-finite value");
        return new StreamResult(kernel, threads, BytesPerPass(kernel, Elements), best, passes);
    }

    /// <summary>Sum of the first array (the read kernel's result, for tests).</summary>
    public double Sum(long start, int count) => Run(StreamKernel.Read, start, count);

    /// <summary>The three arrays (for tests: what copy and triad wrote).</summary>
    public (float[] A, float[] B, float[] C) Arrays => (_a, _b, _c);

    // One thread's chunk of one kernel; returns the read kernel's sum (0 for the others).
    private double Run(StreamKernel kernel, long start, int count)
    {
        int w = Vector<float>.Count, i = 0;
        var a = _a.AsSpan().Slice((int)start, count);
        var b = _b.AsSpan().Slice((int)start, count);
        var c = _c.AsSpan().Slice((int)start, count);
        switch (kernel)
        {
            case StreamKernel.Read:
            {
                // four accumulators so the adds' latency does not bound the loop; unchecked loads so the loop is not
                // bound by slicing either (the measured rate must be the memory's, not the loop's)
                ref float ar = ref MemoryMarshal.GetReference(a);
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (; i + 4 * w <= count; i += 4 * w)
                {
                    s0 += Vector.LoadUnsafe(ref ar, (nuint)i); s1 += Vector.LoadUnsafe(ref ar, (nuint)(i + w));
                    s2 += Vector.LoadUnsafe(ref ar, (nuint)(i + 2 * w)); s3 += Vector.LoadUnsafe(ref ar, (nuint)(i + 3 * w));
                }
                double sum = Vector.Sum(s0 + s1 + s2 + s3);
                for (; i < count; i++) sum += a[i];
                return sum;
            }
            case StreamKernel.Copy:
                a.CopyTo(b);
                return 0;
            case StreamKernel.Triad:
            {
                const float scalar = 3f;
                ref float ar = ref MemoryMarshal.GetReference(a), br = ref MemoryMarshal.GetReference(b), cr = ref MemoryMarshal.GetReference(c);
                for (; i + w <= count; i += w)
                    (Vector.LoadUnsafe(ref br, (nuint)i) + scalar * Vector.LoadUnsafe(ref cr, (nuint)i)).StoreUnsafe(ref ar, (nuint)i);
                for (; i < count; i++) a[i] = b[i] + scalar * c[i];
                return 0;
            }
            default: throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "unknown kernel");
        }
    }

    private static (long Lo, long Hi) Chunk(long n, int parts, int part) => (n * part / parts, n * (part + 1) / parts);
}
