using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The tiled SGEMM's parallel structure (<see cref="SliceFlow"/>): a call is one parallel region however many K slices
/// it has, and its out-of-step participants (a thread on the next slice's B pack or tiles while another finishes this
/// slice) still give every element its slices in ascending order: many slices, few tiles, more threads than cores,
/// against the scalar summation-order reference of <see cref="CpuIsaPathTests"/>, and 16-bit panels refused in one slice only.
/// </summary>
public class SgemmSliceFlowTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;

    private static float[] Seeded(int seed, int n) => TestData.ToFloat(TestData.Uniform(seed, n));

    // The three operand layouts of nn.Linear's products as strides of C[M,N] = A[M,K]·B[K,N] (forward: A row-major, B
    // k-contiguous; backward input: B column-contiguous; backward weight: A column-contiguous), all with K the long side.
    private static readonly (string Name, Func<int, int, int, (int ARs, int ACs, int BRs, int BCs)> Strides)[] Layouts =
    {
        ("fwd", (m, n, k) => (k, 1, 1, k)),
        ("bwdIn", (m, n, k) => (k, 1, n, 1)),
        ("bwdW", (m, n, k) => (1, m, n, 1)),
    };

    [Fact]
    public void TiledCall_IsOneParallelRegion_AnyNumberOfSlices()
    {
        // 9 K slices (a v1 weight gradient has 32): the per-slice structure made 2 regions a slice.
        int m = 192, n = 128, k = 8 * Sgemm.KC + 5;
        float[] a = Seeded(1, m * k), b = Seeded(2, n * k), c = new float[m * n];
        var work = new WorkPartition(2);
        foreach (var isa in Paths)
            foreach (var (name, strides) in Layouts)
                foreach (var pr in new[] { Precision.Fp32, Precision.Bf16 })
                    foreach (bool kept in new[] { false, true })
                    {
                        var (aRs, aCs, bRs, bCs) = strides(m, n, k);
                        var panels = kept ? Sgemm.Pack(work, isa, n, k, b, 0, bRs, bCs, pr) : null;
                        long before = work.Regions;
                        Sgemm.Run(work, isa, m, n, k, a, 0, aRs, aCs, b, 0, bRs, bCs, c, 0, n, true, pr, packedB: panels);
                        long regions = work.Regions - before;
                        Assert.True(regions == 1, $"{name} {pr.Name()}{(kept ? " from kept panels" : "")} on {isa.Name()}: {regions} parallel regions, expected 1");
                    }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void ManySlicesFewTiles_EveryThreadCount_EqualsTheSummationOrderReference(int threads)
    {
        // 60 rows: 10 six-row panels, one tile a slice per thread; 9 slices, so each of the two B buffers is refilled four times.
        int m = 60, n = 40, k = 8 * Sgemm.KC + 13;
        float[] a = Seeded(4, m * k), b = Seeded(5, n * k), c0 = Seeded(6, m * n);
        var work = new WorkPartition(threads);
        foreach (var (name, strides) in Layouts)
            foreach (var pr in new[] { Precision.Fp32, Precision.Bf16 })
                foreach (bool accumulate in new[] { false, true })
                {
                    var (aRs, aCs, bRs, bCs) = strides(m, n, k);
                    var expected = (float[])c0.Clone();
                    CpuIsaPathTests.Reference(expected, accumulate, m, n, k, a, aRs, aCs, b, bRs, bCs, pr);
                    foreach (var isa in Paths)
                        foreach (bool kept in new[] { false, true })
                        {
                            var panels = kept ? Sgemm.Pack(work, isa, n, k, b, 0, bRs, bCs, pr) : null;
                            var c = (float[])c0.Clone();
                            Sgemm.Run(work, isa, m, n, k, a, 0, aRs, aCs, b, 0, bRs, bCs, c, 0, n, accumulate, pr, packedB: panels);
                            AssertBits(expected, c, $"{name} {pr.Name()}{(accumulate ? " +=" : "")}{(kept ? " from kept panels" : "")} on {isa.Name()}, {threads} thread(s)");
                        }
                }
    }

    [Fact]
    public void SixteenBitPanelsRefusedInOneSlice_SameBitsAsFloat32Panels()
    {
        // A NaN with payload only in its low 16 bits in slice 5 of B: that slice alone falls back to float32 panels.
        int m = 60, n = 40, k = 8 * Sgemm.KC + 13;
        float[] x = Seeded(9, m * k), w = Seeded(10, n * k);
        w[(5 * Sgemm.KC + 7) + 3 * k] = BitConverter.UInt32BitsToSingle(0x7F800001);
        foreach (var isa in Paths)
            foreach (int threads in new[] { 1, 2, 5 })
            {
                var work = new WorkPartition(threads);
                float[] narrow = new float[m * n], wide = new float[m * n];
                Sgemm.Run(work, isa, m, n, k, x, 0, k, 1, w, 0, 1, k, narrow, 0, n, false, Precision.Bf16, narrowPanels: true);
                Sgemm.Run(work, isa, m, n, k, x, 0, k, 1, w, 0, 1, k, wide, 0, n, false, Precision.Bf16, narrowPanels: false);
                AssertBits(wide, narrow, $"y with one refused slice on {isa.Name()}, {threads} thread(s)");
                Assert.True(float.IsNaN(narrow[3]), "the NaN column must reach the output");
            }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 4, 0)]
    [InlineData(2, 1, 3)]
    [InlineData(9, 2, 4)]
    [InlineData(9, 5, 3)]
    [InlineData(32, 4, 4)]
    public void Sequence_HoldsEveryItemOnce_AndEachWaitsOnlyForEarlierItems(int slices, int tiles, int packs)
    {
        // Position of each item in the claim order; an item may only wait for items before it, or a participant holding
        // it could wait for one that no running participant has claimed.
        var flow = new SliceFlow(slices, tiles, packs);
        var packAt = new int[slices, Math.Max(1, packs)];
        var tileAt = new int[slices, tiles];
        var seen = new HashSet<(int, int, bool)>();
        int position = 0;
        for (int item = flow.Claim(); item >= 0; item = flow.Claim(), position++)
        {
            var (slice, index, pack) = flow.Item(item);
            Assert.True(seen.Add((slice, index, pack)), $"item {item}: slice {slice} {(pack ? "pack" : "tile")} {index} twice");
            if (pack) packAt[slice, index] = position; else tileAt[slice, index] = position;
        }
        Assert.Equal(slices * (tiles + packs), seen.Count);
        for (int s = 0; s < slices; s++)
        {
            for (int t = 0; t < tiles; t++)
            {
                for (int p = 0; p < packs; p++)
                    Assert.True(packAt[s, p] < tileAt[s, t], $"tile {t} of slice {s} comes before pack {p} of its slice");
                if (s > 0) Assert.True(tileAt[s - 1, t] < tileAt[s, t], $"tile {t} of slice {s} comes before its slice {s - 1}");
            }
            if (s >= 2)
                for (int p = 0; p < packs; p++)
                    for (int t = 0; t < tiles; t++)
                        Assert.True(tileAt[s - 2, t] < packAt[s, p], $"pack {p} of slice {s} comes before tile {t} of slice {s - 2}, which reads its buffer");
        }
    }

    [Fact]
    public void FailedParticipant_ReleasesTheWaitingOnes()
    {
        // A waiter for panels that a failed participant will never publish must throw, not spin forever.
        var flow = new SliceFlow(slices: 2, tiles: 1, packs: 1);
        // A thread of its own: a thread-pool task can wait longer than the bound below to start while the other test
        // classes' parallel SGEMMs hold the pool (the likely cause of this test's one failure, in a full CI run), which fails it for no fault of SliceFlow.
        var waiter = Task.Factory.StartNew(() => flow.AwaitPacked(0), TaskCreationOptions.LongRunning);
        Thread.Sleep(50);
        flow.Fail();
        var e = Assert.Throws<AggregateException>(() => waiter.Wait(TimeSpan.FromSeconds(10)));
        Assert.IsType<OperationCanceledException>(e.InnerException);
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {BitConverter.SingleToInt32Bits(actual[i]):X8}, expected {BitConverter.SingleToInt32Bits(expected[i]):X8}");
    }
}
