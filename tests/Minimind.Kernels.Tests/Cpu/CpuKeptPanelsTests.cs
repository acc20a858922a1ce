using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The packed weight panels a CPU buffer keeps between matmuls (<see cref="IBackend.KeepWeights"/>, <see cref="PackedWeights"/>):
/// the products read from kept panels have the bits of a backend that packs on every call, on every path, precision, loop
/// order (skinny and tiled) and layout (forward and backward-input); and every way of writing the buffer (each write op,
/// an upload, a host view, the rank transport's view) makes the next matmul use the new values, compared with a backend
/// that never kept anything and was given the values afresh.
/// </summary>
public class CpuKeptPanelsTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;
    private const int N = 70, K = 300;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var isa in Paths)
            foreach (var p in new[] { Precision.Fp32, Precision.Bf16, Precision.Fp16 })
                foreach (int m in new[] { 1, 5, 48, 49, 130 })
                    yield return new object[] { isa, p, m };
    }

    private static float[] Seeded(int seed, int n) => TestData.ToFloat(TestData.Uniform(seed, n));

    // y = x·wᵀ and dx = dy·w with w at an offset inside a larger buffer (the model's flat parameter buffer).
    private static (float[] Y, float[] Dx) Products(CpuBackend be, Tensor w, int m, Precision p)
    {
        var x = be.Alloc((long)m * K); be.Upload(x, Seeded(2, m * K));
        var dy = be.Alloc((long)m * N); be.Upload(dy, Seeded(3, m * N));
        var y = be.Alloc((long)m * N); var dx = be.Alloc((long)m * K);
        be.MatMul(y, x, w, new GemmShape(m, N, K, p));
        be.MatMulBackwardInput(dx, dy, w, new GemmShape(m, N, K, p), WriteMode.Overwrite);
        var (yh, dxh) = (new float[m * N], new float[m * K]);
        be.Download(y, yh); be.Download(dx, dxh);
        return (yh, dxh);
    }

    private static Tensor Weights(CpuBackend be, float[] values)
    {
        var buf = be.Alloc(values.Length + 11);
        be.KeepWeights(buf);
        var w = buf.Slice(5, values.Length);
        be.Upload(w, values);
        return w;
    }

    private static void SameBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} from kept panels, {expected[i]:R} packed afresh");
    }

    // What a backend that packs on every call computes for weights w (the reference of every test here).
    private static (float[] Y, float[] Dx) Fresh(CpuIsa isa, float[] w, int m, Precision p)
    {
        using var be = CpuTestPaths.Backend(2, isa, keepPackedWeights: false);
        var t = Weights(be, w);
        Assert.Equal(0, CpuBackend.PackedBytes(t));
        return Products(be, t, m, p);
    }

    [Theory, MemberData(nameof(Cases))]
    public void KeptPanels_GiveTheBitsOfPackingEveryCall(CpuIsa isa, Precision p, int m)
    {
        var wv = Seeded(1, N * K);
        var expected = Fresh(isa, wv, m, p);
        foreach (int threads in new[] { 1, 2 })
        {
            using var be = CpuTestPaths.Backend(threads, isa);
            var w = Weights(be, wv);
            // The forward layout is packed into the buffer's store on the first call, the backward-input one on the second;
            // the third reads both from the store.
            for (int call = 0; call < 3; call++)
            {
                var got = Products(be, w, m, p);
                SameBits(expected.Y, got.Y, $"{isa.Name()} {p.Name()} M={m} {threads} threads call {call} y");
                SameBits(expected.Dx, got.Dx, $"{isa.Name()} {p.Name()} M={m} {threads} threads call {call} dx");
            }
            // Both layouts are kept: float32 size, or half of it in 16-bit panels at bf16.
            long padded = (N + 31) / 32 * 32 * K + (K + 31) / 32 * 32 * N;
            Assert.InRange(CpuBackend.PackedBytes(w), (p == Precision.Bf16 ? 2L : 4L) * N * K * 2, (p == Precision.Bf16 ? 2L : 4L) * padded);
        }
    }

    /// <summary>Every way of writing a CPU buffer, each applied to the weights' buffer (some to a part of it only).</summary>
    public static IEnumerable<object[]> Writers() =>
        new[] { "Upload", "Upload part", "Fill", "Copy", "Scale", "AddInPlace", "Add", "AdamW", "MatMul into it", "EmbeddingBackward",
            "host view", "rank transport view" }.Select(n => new object[] { n });

    private static void Write(string how, CpuBackend be, Tensor w)
    {
        var other = be.Alloc(w.Length); be.Upload(other, Seeded(9, (int)w.Length));
        switch (how)
        {
            case "Upload": be.Upload(w, Seeded(8, (int)w.Length)); break;
            case "Upload part": be.Upload(w.Slice(K + 3, 5), new[] { 1f, -2f, 3f, 0.5f, 7f }); break;
            case "Fill": be.Fill(w.Slice(2 * K, K), 0.25f); break;
            case "Copy": be.Copy(w, other); break;
            case "Scale": be.Scale(w, 0.5f); break;
            case "AddInPlace": be.AddInPlace(w, other); break;
            case "Add": be.Add(w, w, other); break;
            case "AdamW":
                var m = be.Alloc(w.Length); var v = be.Alloc(w.Length);
                be.AdamW(w, other, m, v, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, 1, 1f);
                break;
            case "MatMul into it":
                // A product written into the weights (N·K = 21000 = 70 × 300 as [70, 300] = [70, 4]·[300, 4]ᵀ).
                var a = be.Alloc(N * 4); be.Upload(a, Seeded(10, N * 4));
                var b = be.Alloc(K * 4); be.Upload(b, Seeded(11, K * 4));
                be.MatMul(w, a, b, new GemmShape(N, K, 4), WriteMode.Accumulate);
                break;
            case "EmbeddingBackward":
                var ids = be.AllocInt(2); be.Upload(ids, new[] { 3, 3 });
                be.EmbeddingBackward(w, other.Slice(0, 2 * K), ids, new RowShape(2, K));
                break;
            case "host view": CpuBackend.Span(w)[7 * K + 1] = -4f; break;
            case "rank transport view":
                Assert.True(be.Transport.TryHostView(w, out var view));
                view[5] = 9f;
                break;
            default: throw new ArgumentOutOfRangeException(nameof(how), how, null);
        }
    }

    [Theory, MemberData(nameof(Writers))]
    public void EveryWrite_IsSeenByTheNextMatMul(string how)
    {
        foreach (var isa in Paths)
            foreach (var (p, m) in new[] { (Precision.Fp32, 3), (Precision.Bf16, 60) })
            {
                using var be = CpuTestPaths.Backend(2, isa);
                var w = Weights(be, Seeded(1, N * K));
                Products(be, w, m, p);
                Products(be, w, m, p);
                Assert.True(CpuBackend.PackedBytes(w) > 0, "the panels were kept before the write");
                Write(how, be, w);
                var now = new float[N * K];
                be.Download(w, now);
                var expected = Fresh(isa, now, m, p);
                for (int call = 0; call < 3; call++)
                {
                    var got = Products(be, w, m, p);
                    SameBits(expected.Y, got.Y, $"{how} {isa.Name()} {p.Name()} call {call} y");
                    SameBits(expected.Dx, got.Dx, $"{how} {isa.Name()} {p.Name()} call {call} dx");
                }
            }
    }

    [Fact]
    public void ReadingTheBuffer_KeepsThePanels()
    {
        // The ops that read weights (RMSNorm's, the embedding table, a download) are not writes: the panels stay.
        using var be = new CpuBackend(2);
        var w = Weights(be, Seeded(1, N * K));
        Products(be, w, 60, Precision.Fp32);
        Products(be, w, 60, Precision.Fp32);
        long kept = CpuBackend.PackedBytes(w);
        Assert.True(kept > 0);
        long version = ((CpuBuffer<float>)w.Buffer).Version;
        var y = be.Alloc(2 * K); var rstd = be.Alloc(2); var ids = be.AllocInt(2); be.Upload(ids, new[] { 1, 4 });
        be.RmsNorm(y, rstd, w.Slice(0, 2 * K), w.Slice(2 * K, K), new RowShape(2, K), 1e-5f);
        be.Embedding(y, ids, w, new RowShape(2, K));
        be.Download(w, new float[N * K]);
        _ = CpuBackend.ReadSpan(w)[0];
        Assert.Equal(version, ((CpuBuffer<float>)w.Buffer).Version);
        Products(be, w, 60, Precision.Fp32);
        Assert.Equal(kept, CpuBackend.PackedBytes(w));
    }

    [Fact]
    public void WithoutKeepWeights_NothingIsKept()
    {
        using var be = new CpuBackend(2);
        var buf = be.Alloc(N * K);
        be.Upload(buf, Seeded(1, N * K));
        for (int i = 0; i < 3; i++) Products(be, buf, 60, Precision.Fp32);
        Assert.Equal(0, CpuBackend.PackedBytes(buf));
    }
}
