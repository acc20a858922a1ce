using System.Globalization;
using Minimind.Cli.Commands;

namespace Minimind.Cli.Tests;

/// <summary>
/// <c>bench memory</c> (<see cref="MemoryBandwidth"/>): the bytes a pass is counted as are STREAM's, derived by hand
/// (4 bytes per element read or written: read 1 array, copy 2, triad 3); the kernels really do what they are named
/// (the values they leave, tails included); and the command prints those byte counts, GB/s that follow from them,
/// and the decode ceiling = read rate ÷ bytes per token.
/// </summary>
public class MemoryBenchTests
{
    [Fact]
    public void BytesPerPass_AreStreamsCount()
    {
        Assert.Equal(4_000, MemoryBandwidth.BytesPerPass(StreamKernel.Read, 1000));
        Assert.Equal(8_000, MemoryBandwidth.BytesPerPass(StreamKernel.Copy, 1000));
        Assert.Equal(12_000, MemoryBandwidth.BytesPerPass(StreamKernel.Triad, 1000));
    }

    [Fact]
    public void Kernels_ComputeWhatTheyAreNamed_AndReportTheirBytes()
    {
        // An odd length, so the vector loops' scalar tails and the uneven thread chunks are exercised.
        const int n = 4099;
        var bench = new MemoryBandwidth(n);
        var (a, b, c) = bench.Arrays;
        for (int i = 0; i < n; i++) { a[i] = i % 7; b[i] = -1; c[i] = 0.5f; }
        double expected = Enumerable.Range(0, n).Sum(i => (double)(i % 7));
        Assert.Equal(expected, bench.Sum(0, n));
        var read = bench.Measure(StreamKernel.Read, 2, 3);
        Assert.Equal(4L * n, read.BytesPerPass);
        Assert.Equal(read.BytesPerPass / read.BestSeconds / 1e9, read.GigabytesPerSecond);
        var copy = bench.Measure(StreamKernel.Copy, 2, 2);
        Assert.Equal(8L * n, copy.BytesPerPass);
        for (int i = 0; i < n; i++) Assert.Equal(i % 7, b[i]);
        var triad = bench.Measure(StreamKernel.Triad, 3, 1);
        Assert.Equal(12L * n, triad.BytesPerPass);
        // a = b + 3·c with b = the copied a (i mod 7) and c = 0.5
        for (int i = 0; i < n; i++) Assert.Equal(i % 7 + 1.5f, a[i]);
    }

    [Fact]
    public void BenchMemory_PrintsByteCountsRatesAndTheCeiling()
    {
        var (code, stdout, stderr) = CliProcess.Exec(null, "bench", "memory", "--mib", "64", "--threads", "1,2", "--passes", "2", "--bytes-per-token", "1000000");
        Assert.True(code == 0, stderr + stdout);
        var lines = stdout.TrimEnd('\n').Split('\n');
        double lastRead = 0;
        foreach (int t in new[] { 1, 2 })
            foreach (var (kernel, arrays) in new[] { ("read", 1), ("copy", 2), ("triad", 3) })
            {
                // "      2  triad     12.3       3,145,728         0.3"
                var cols = lines.Single(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var th, var k, ..] && th == t.ToString(CultureInfo.InvariantCulture) && k == kernel)
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries);
                long bytes = long.Parse(cols[3], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
                Assert.Equal(arrays * 64L * 1024 * 1024, bytes);   // 64 MiB per array, each element read or written once
                double gbs = double.Parse(cols[2], CultureInfo.InvariantCulture), ms = double.Parse(cols[4], CultureInfo.InvariantCulture);
                Assert.InRange(gbs, 0.95 * bytes / (ms / 1000) / 1e9 - 0.1, 1.05 * bytes / (ms / 1000) / 1e9 + 0.1);
                if (kernel == "read") lastRead = gbs;
            }
        var ceiling = lines.Last(l => l.Contains("decode ceiling"));
        var tokS = double.Parse(System.Text.RegularExpressions.Regex.Match(ceiling, @": ([0-9.]+) tokens/s").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(tokS, lastRead * 1000 - 0.1 * 1000 - 1, lastRead * 1000 + 0.1 * 1000 + 1);   // GB/s ÷ 10⁶ bytes per token
        Assert.Equal($"read GB/s: {lastRead.ToString("F1", CultureInfo.InvariantCulture)}", lines[^1]);
    }
}
