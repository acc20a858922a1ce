using System.Globalization;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind bench memory</c>: this machine's memory bandwidth, STREAM-like (<see cref="MemoryBandwidth"/>): read,
/// copy and triad over float32 arrays far larger than the last-level cache, on each --threads count, best of --passes.
/// With --bytes-per-token it also prints the decode ceiling a memory-bound model reaches: read GB/s ÷ bytes per token.
/// The last line is <c>read GB/s: X</c> (the most threads').
/// </summary>
public static class MemoryBench
{
    /// <summary><c>--mib</c>.</summary>
    public static readonly CliOption<int> Mib = Opt.Int("mib", "N", 1024, "MiB per array (3 arrays are allocated; far larger than the last-level cache)").AtLeast(1);
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<string?> ThreadCounts = Opt.String("threads", "N,N,...", "1,2", "thread counts to measure, in this order").Sample("1,4");
    /// <summary><c>--passes</c>.</summary>
    public static readonly CliOption<int> Passes = Opt.Int("passes", "N", 5, "timed passes per kernel and thread count; the fastest is reported").AtLeast(1);
    /// <summary><c>--bytes-per-token</c>.</summary>
    public static readonly CliOption<long?> BytesPerToken = Opt.LongOrNull("bytes-per-token", "N", "bytes a decode step streams (weights + KV cache): prints the ceiling tokens/s = read bytes/s ÷ N").AtLeast(1);

    /// <summary><c>minimind bench memory</c>.</summary>
    public static readonly OptionTable Table = new("bench memory",
        new[] { "bench memory [--mib 1024] [--threads 1,2] [--passes 5] [--bytes-per-token N]" },
        """
        Allocates three float32 arrays of --mib MiB each, writes them once, then for each --threads count times
        --passes passes of three kernels, each thread on its own contiguous chunk: read (s += a[i]), copy
        (b[i] = a[i]) and triad (a[i] = b[i] + 3*c[i]). Bytes are counted as STREAM does: 4 per element read or
        written (read 1 array, copy 2, triad 3), with no write-allocate traffic. Prints each kernel's best GB/s
        (10^9 bytes/s). With --bytes-per-token N also the decode ceiling N bytes per token allow at the read rate.
        The LAST line is "read GB/s: <the most threads' read rate>".
        """,
        new[] { new OptionGroup("Options", Mib, ThreadCounts, Passes, BytesPerToken) },
        new[]
        {
            "bench memory",
            "bench memory --mib 256 --threads 1 --passes 3",
            "bench memory --bytes-per-token 241000000   # minimind3 f32 weights: the fp32 decode ceiling",
        });

    /// <summary>What one <c>minimind bench memory</c> command line asks for.</summary>
    public sealed record Settings(int Mib, int[] Threads, int Passes, long? BytesPerToken);

    /// <summary>Binds and validates a command line (after the word <c>memory</c>).</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark");
        if (what != "memory") throw new UsageException($"expected 'memory', got '{what}'");
        var threads = Opt.PositiveInts(ThreadCounts, args.Get(ThreadCounts)!, "1,2");
        var s = new Settings(args.Get(Mib), threads, args.Get(Passes), args.Get(BytesPerToken));
        if ((long)s.Mib * 1024 * 1024 / sizeof(float) > Array.MaxLength)
            throw new UsageException($"--mib {s.Mib}: an array holds at most {(long)Array.MaxLength * sizeof(float) >> 20} MiB");
        args.EnsureAllUsed();
        return s;
    }

    /// <summary>Runs the measurement; returns the exit code.</summary>
    public static int Run(ArgParser args)
    {
        var s = Bind(args);
        var o = Console.Out;
        var bench = new MemoryBandwidth((long)s.Mib * 1024 * 1024 / sizeof(float));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory bandwidth: 3 arrays of {s.Mib} MiB (float32), best of {s.Passes} passes, {Environment.ProcessorCount} logical cores"));
        o.WriteLine("threads  kernel  GB/s     bytes/pass      best pass (ms)");
        double read = 0;
        foreach (int t in s.Threads)
        {
            foreach (var k in Enum.GetValues<StreamKernel>())
            {
                var r = bench.Measure(k, t, s.Passes);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{t,7}  {k.ToString().ToLowerInvariant(),-6}  {r.GigabytesPerSecond,6:F1}  {r.BytesPerPass,14:N0}  {r.BestSeconds * 1000,10:F1}"));
                if (k == StreamKernel.Read) read = r.GigabytesPerSecond;
            }
            if (s.BytesPerToken is long bpt)
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{t,7}  decode ceiling at {bpt:N0} bytes per token: {read * 1e9 / bpt:F1} tokens/s (read rate / bytes per token)"));
        }
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read GB/s: {read:F1}"));
        return 0;
    }
}
