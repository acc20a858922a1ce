using Minimind.Kernels.Cpu;
using Xunit;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>The CPU backend's fork-join regions: every index runs exactly once, on the partition's own workers, through
/// failures, nesting, concurrent callers and workers that went to sleep or ended.</summary>
public class WorkPartitionTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void EveryIndexRunsOnce_InBackToBackRegions(int threads)
    {
        var work = new WorkPartition(threads);
        var rng = new Random(threads);
        for (int region = 0; region < 2000; region++)
        {
            int n = rng.Next(1, 40);
            var hits = new int[n];
            work.ForEach(n, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
            long total = rng.Next(1, 100_000), covered = 0;
            var seen = new bool[total];
            work.For(total, rng.Next(1, 5000), (s, e) =>
            {
                for (long i = s; i < e; i++) seen[i] = true;
                Interlocked.Add(ref covered, e - s);
            });
            Assert.Equal(total, covered);
            Assert.All(seen, Assert.True);
        }
    }

    [Fact]
    public void WorkersTakePart_AfterSleepingAndAfterTheirThreadEnded()
    {
        var work = new WorkPartition(2);
        // Each index waits until both have started: the region can only finish if a second thread runs one of them.
        void BothAtOnce()
        {
            using var both = new CountdownEvent(2);
            var threadIds = new int[2];
            work.ForEach(2, i =>
            {
                threadIds[i] = Environment.CurrentManagedThreadId;
                both.Signal();
                Assert.True(both.Wait(TimeSpan.FromSeconds(20)), "the other index never started: no worker took part");
            });
            Assert.NotEqual(threadIds[0], threadIds[1]);
        }
        BothAtOnce();
        Assert.Equal(1, work.LiveWorkers);
        Thread.Sleep(TimeSpan.FromMilliseconds(50)); // past the polling: the worker sleeps
        BothAtOnce();
        Thread.Sleep(WorkPartition.IdleExit + TimeSpan.FromSeconds(1.5)); // the worker's thread ends
        Assert.Equal(0, work.LiveWorkers);
        BothAtOnce();
        Assert.Equal(1, work.LiveWorkers);
    }

    [Fact]
    public void AFailure_IsReportedAsParallelForReportsIt_AndThePartitionStaysUsable()
    {
        var work = new WorkPartition(2);
        var e = Assert.Throws<AggregateException>(() => work.ForEach(64, i => { if (i == 5) throw new InvalidOperationException("index 5"); }));
        Assert.Equal("index 5", Assert.IsType<InvalidOperationException>(Assert.Single(e.InnerExceptions)).Message);
        int ran = 0;
        work.ForEach(64, _ => Interlocked.Increment(ref ran));
        Assert.Equal(64, ran);
    }

    [Fact]
    public async Task NestedAndConcurrentRegions_Complete()
    {
        var work = new WorkPartition(2);
        int inner = 0;
        work.ForEach(4, _ => work.ForEach(8, _ => Interlocked.Increment(ref inner)));
        Assert.Equal(32, inner);
        int concurrent = 0;
        var callers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            for (int r = 0; r < 300; r++) work.ForEach(5, _ => Interlocked.Increment(ref concurrent));
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(3 * 300 * 5, concurrent);
    }
}
