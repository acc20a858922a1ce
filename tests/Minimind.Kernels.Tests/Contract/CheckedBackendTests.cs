using Minimind.Kernels.Cpu;
using Minimind.Kernels.Distributed;
using Minimind.Kernels.Tests.Ilgpu;

namespace Minimind.Kernels.Tests.Contract;

/// <summary>
/// <see cref="CheckedBackend"/> around a backend that only records which ops reach it: a bad argument is refused before
/// the backend sees the call, an op with no output elements never reaches it, and an op with work always does. Plus the
/// ops the per-backend checks used to miss (SumOfSquares, Fill, Scale), and no kernel launched for empty work on ILGPU.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class CheckedBackendTests(IlgpuFixture f)
{
    private static readonly WriteMode O = WriteMode.Overwrite;
    private static readonly RopeLayout I = RopeLayout.Interleaved;

    // One call per op whose shape leaves no output element to write (the views are as long as the shape needs).
    private static readonly (string Op, Action<IBackend> Call)[] EmptyCalls =
    {
        ("Upload", b => b.Upload(b.Alloc(2), Array.Empty<float>())),
        ("Upload(int)", b => b.Upload(b.AllocInt(2), Array.Empty<int>())),
        ("Fill", b => b.Fill(b.Alloc(0), 1f)),
        ("Copy", b => b.Copy(b.Alloc(0), b.Alloc(0))),
        ("Add", b => b.Add(b.Alloc(0), b.Alloc(0), b.Alloc(0))),
        ("AddInPlace", b => b.AddInPlace(b.Alloc(0), b.Alloc(0))),
        ("Scale", b => b.Scale(b.Alloc(0), 2f)),
        ("MatMul", b => b.MatMul(b.Alloc(0), b.Alloc(0), b.Alloc(9), new(0, 3, 3))),
        ("MatMulBackwardInput", b => b.MatMulBackwardInput(b.Alloc(0), b.Alloc(6), b.Alloc(0), new(2, 3, 0), O)),
        ("MatMulBackwardWeight", b => b.MatMulBackwardWeight(b.Alloc(0), b.Alloc(0), b.Alloc(6), new(2, 0, 3), O)),
        ("Embedding", b => b.Embedding(b.Alloc(0), b.AllocInt(0), b.Alloc(16), new(0, 4))),
        ("EmbeddingBackward", b => b.EmbeddingBackward(b.Alloc(16), b.Alloc(0), b.AllocInt(0), new(0, 4))),
        ("RmsNorm", b => b.RmsNorm(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(4), new(0, 4), 1e-5f)),
        ("RmsNormBackward", b => b.RmsNormBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(2), new(2, 0), O)),
        ("AddRmsNorm", b => b.AddRmsNorm(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(4), new(0, 4), 1e-5f)),
        ("Rope", b => b.Rope(b.Alloc(0), b.Alloc(4), b.Alloc(4), new(0, 2, 2, 4, 0, I))),
        ("RopeBackward", b => b.RopeBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), new(1, 0, 2, 4, 0, I))),
        ("RmsNormRope", b => b.RmsNormRope(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(4), b.Alloc(4), b.Alloc(4), new(1, 2, 0, 4, 0, I), 1e-6f)),
        ("RopeRmsNormBackward", b => b.RopeRmsNormBackward(new(b.Alloc(0), b.Alloc(4)), b.Alloc(0), new(b.Alloc(0), b.Alloc(4), b.Alloc(0)), b.Alloc(4),
            b.Alloc(4), new(0, 2, 2, 4, 0, I), O)),
        ("Attention", b => b.Attention(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), new(0, 2, 2, 1, 8))),
        ("AttentionBackward", b => b.AttentionBackward(new(b.Alloc(0), b.Alloc(0), b.Alloc(0)), b.Alloc(0),
            new(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0)), new(1, 0, 2, 1, 8), O)),
        ("AttentionDecode", b => b.AttentionDecode(b.Alloc(0), b.Alloc(0), b.Alloc(32), b.Alloc(32), new(1, 0, 1, 4, 2, 1, 8))),
        ("KvCacheAppend", b => b.KvCacheAppend(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), new(0, 2, 0, 4, 2, 1, 8))),
        ("SwiGlu", b => b.SwiGlu(b.Alloc(0), b.Alloc(0), b.Alloc(0))),
        ("SwiGluBackward", b => b.SwiGluBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), O)),
        ("CrossEntropy", b => b.CrossEntropy(b.Alloc(0), b.Alloc(0), b.AllocInt(0), new(0, 4), -100)),
        ("CrossEntropyBackward", b => b.CrossEntropyBackward(b.Alloc(0), b.Alloc(0), b.AllocInt(0), b.Alloc(0), new(0, 4), -100)),
        ("CrossEntropyForwardBackward", b => b.CrossEntropyForwardBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.AllocInt(0), b.Alloc(0), new(0, 4), -100)),
        ("Softmax", b => b.Softmax(b.Alloc(0), b.Alloc(0), new(2, 0))),
        ("SoftmaxBackward", b => b.SoftmaxBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), new(0, 4), O)),
        ("TopK", b => b.TopK(b.Alloc(0), b.AllocInt(0), b.Alloc(0), new(0, 4, 2), true)),
        ("TopKBackward", b => b.TopKBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.AllocInt(0), new(0, 4, 2), true, O)),
        ("MoeRoute", b => Assert.Equal(new int[3], b.MoeRoute(b.AllocInt(0), b.AllocInt(0), b.AllocInt(0), new(0, 3)))),
        ("MoeGather", b => b.MoeGather(b.Alloc(0), b.Alloc(0), b.AllocInt(0), new(0, 2, 4))),
        ("MoeGatherBackward", b => b.MoeGatherBackward(b.Alloc(0), b.Alloc(0), b.AllocInt(4), new(2, 2, 0), O)),
        ("MoeCombine", b => b.MoeCombine(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.AllocInt(0), new(0, 2, 4), O)),
        ("MoeCombineBackward", b => b.MoeCombineBackward(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), b.AllocInt(0), new(0, 2, 4), O)),
        ("MoeAuxLoss", b => Assert.Equal(0f, b.MoeAuxLoss(b.Alloc(0), b.Alloc(0), b.AllocInt(0), new(0, 2, 4, 2), 0.1f, AuxLossKind.SequenceLevel, 1f))),
        ("SumOfSquares", b => Assert.Equal(0.0, b.SumOfSquares(b.Alloc(0)))),
        ("AdamW", b => b.AdamW(b.Alloc(0), b.Alloc(0), b.Alloc(0), b.Alloc(0), 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1, 1f)),
    };

    public static IEnumerable<object[]> EmptyOps() => EmptyCalls.Select(c => new object[] { c.Op });

    [Theory]
    [MemberData(nameof(EmptyOps))]
    public void NoOutputElements_NeverReachTheBackend(string op)
    {
        using var recorder = new OpRecorder();
        using var checkedBackend = new CheckedBackend(recorder);
        EmptyCalls.Single(c => c.Op == op).Call(checkedBackend);
        Assert.Empty(recorder.Reached);
    }

    [Fact]
    public void EmptyDownload_OnlySynchronises()
    {
        using var recorder = new OpRecorder();
        using var checkedBackend = new CheckedBackend(recorder);
        checkedBackend.Download(checkedBackend.Alloc(2), Span<float>.Empty);
        checkedBackend.Download(checkedBackend.AllocInt(2), Span<int>.Empty);
        Assert.Equal(new[] { "Synchronize", "Synchronize" }, recorder.Reached);
    }

    // An empty input is not empty work: a matmul over K = 0 still writes its zeros, an RMSNorm over rows of width 0 its rstd.
    [Fact]
    public void OutputsToWrite_ReachTheBackend_EvenWhenAnInputIsEmpty()
    {
        using var recorder = new OpRecorder();
        using var b = new CheckedBackend(recorder);
        b.MatMul(b.Alloc(6), b.Alloc(0), b.Alloc(0), new(2, 3, 0));
        b.RmsNorm(b.Alloc(0), b.Alloc(2), b.Alloc(0), b.Alloc(0), new(2, 0), 1e-5f);
        b.MatMulBackwardWeight(b.Alloc(9), b.Alloc(0), b.Alloc(0), new(0, 3, 3), WriteMode.Overwrite);
        Assert.Equal(new[] { "MatMul", "RmsNorm", "MatMulBackwardWeight" }, recorder.Reached);
    }

    public static IEnumerable<object[]> Ops() => OpContractTests.ValidCalls.Select(c => new object[] { c.Op });

    [Theory]
    [MemberData(nameof(Ops))]
    public void ValidCall_ReachesTheBackendOnce_AShortViewNever(string op)
    {
        var call = OpContractTests.ValidCalls.Single(c => c.Op == op).Call;
        using var recorder = new OpRecorder();
        using var b = new CheckedBackend(recorder);
        var names = new OpContractTests.Args(b, null);
        call(b, names);
        Assert.Equal(new[] { op }, recorder.Reached);
        foreach (var (name, _) in names.Checked)
        {
            recorder.Reached.Clear();
            var e = Assert.ThrowsAny<ArgumentException>(() => call(b, new OpContractTests.Args(b, name)));
            Assert.StartsWith($"{op}: {name} holds ", e.Message);
            Assert.Empty(recorder.Reached);
        }
    }

    // These three had no check on either backend (a default view: the CPU threw from its array lookup, ILGPU did nothing).
    [Fact]
    public void SumOfSquaresFillScale_DefaultView_SameTextOnBothBackends()
    {
        using var cpu = new CpuBackend(1);
        foreach (var (says, call) in new (string, Action<IBackend>)[]
                 {
                     ("SumOfSquares: g is an empty tensor, needs 0 elements", b => b.SumOfSquares(default)),
                     ("Fill: t is an empty tensor, needs 0 elements", b => b.Fill(default, 1f)),
                     ("Scale: y is an empty tensor, needs 0 elements", b => b.Scale(default, 2f)),
                 })
        {
            Assert.Equal(says, Assert.Throws<ArgumentException>(() => call(cpu)).Message);
            Assert.Equal(says, Assert.Throws<ArgumentException>(() => call(f.B)).Message);
        }
    }

    [Fact]
    public void Ilgpu_EmptyWork_LaunchesNoKernel()
    {
        long before = f.B.KernelLaunches;
        foreach (var (_, call) in EmptyCalls) call(f.B);
        Assert.Equal(before, f.B.KernelLaunches);
        f.B.Fill(f.B.Alloc(4), 1f);
        Assert.Equal(before + 1, f.B.KernelLaunches);
    }

    /// <summary>A backend that runs nothing: it allocates CPU buffers and records the name of every other call that reaches it.</summary>
    private sealed class OpRecorder : IBackend
    {
        private readonly CpuBackend _memory = new(1);
        public readonly List<string> Reached = new();
        private void Hit(string op) => Reached.Add(op);

        public string Name => "recorder";
        public string DeviceName => "records op calls";
        public BackendLimits Limits => BackendLimits.None;
        public IRankTransport Transport => _memory.Transport;
        public void Dispose() => _memory.Dispose();
        public BufferTally Memory => _memory.Memory;
        public Tensor Alloc(long length) => _memory.Alloc(length);
        public IntTensor AllocInt(long length) => _memory.AllocInt(length);
        public void Upload(Tensor dst, ReadOnlySpan<float> src) => Hit(nameof(Upload));
        public void Upload(IntTensor dst, ReadOnlySpan<int> src) => Hit(nameof(Upload));
        public void Download(Tensor src, Span<float> dst) => Hit(nameof(Download));
        public void Download(IntTensor src, Span<int> dst) => Hit(nameof(Download));
        public void Fill(Tensor t, float value) => Hit(nameof(Fill));
        public void Copy(Tensor dst, Tensor src) => Hit(nameof(Copy));
        public void Synchronize() => Hit(nameof(Synchronize));
        public void KeepWeights(Tensor weights, bool frozen = false) => Hit(nameof(KeepWeights));
        public void Add(Tensor y, Tensor a, Tensor b) => Hit(nameof(Add));
        public void AddInPlace(Tensor y, Tensor x) => Hit(nameof(AddInPlace));
        public void Scale(Tensor y, float s) => Hit(nameof(Scale));
        public void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite) => Hit(nameof(MatMul));
        public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode) => Hit(nameof(MatMulBackwardInput));
        public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode) => Hit(nameof(MatMulBackwardWeight));
        public void Embedding(Tensor y, IntTensor ids, Tensor table, RowShape s) => Hit(nameof(Embedding));
        public void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, RowShape s) => Hit(nameof(EmbeddingBackward));
        public void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, RowShape s, float eps) => Hit(nameof(RmsNorm));
        public void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape s, WriteMode mode) =>
            Hit(nameof(RmsNormBackward));
        public void AddRmsNorm(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor branch, Tensor weight, RowShape s, float eps) => Hit(nameof(AddRmsNorm));
        public void Rope(Tensor x, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default) => Hit(nameof(Rope));
        public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default) => Hit(nameof(RopeBackward));
        public void RmsNormRope(Tensor y, Tensor rstd, Tensor x, Tensor weight, Tensor cos, Tensor sin, RopeShape s, float eps,
            IntTensor rowStart = default) => Hit(nameof(RmsNormRope));
        public void RopeRmsNormBackward(NormGradients grads, Tensor dy, NormSaved saved, Tensor cos, Tensor sin, RopeShape s, WriteMode mode,
            IntTensor rowStart = default) => Hit(nameof(RopeRmsNormBackward));
        public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape s) => Hit(nameof(Attention));
        public void AttentionBackward(AttentionGradients grads, Tensor dOutput, AttentionSaved saved, AttnShape s, WriteMode mode) =>
            Hit(nameof(AttentionBackward));
        public void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape s, KvPages pages = default) =>
            Hit(nameof(AttentionDecode));
        public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape s, KvPages pages = default) => Hit(nameof(KvCacheAppend));
        public void SwiGlu(Tensor h, Tensor gate, Tensor up) => Hit(nameof(SwiGlu));
        public void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up, WriteMode mode) => Hit(nameof(SwiGluBackward));
        public void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, RowShape s, int ignoreIndex) => Hit(nameof(CrossEntropy));
        public void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex) =>
            Hit(nameof(CrossEntropyBackward));
        public void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s,
            int ignoreIndex) => Hit(nameof(CrossEntropyForwardBackward));
        public void Softmax(Tensor y, Tensor x, RowShape s) => Hit(nameof(Softmax));
        public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, RowShape s, WriteMode mode) => Hit(nameof(SoftmaxBackward));
        public void TopK(Tensor weights, IntTensor indices, Tensor probs, TopKShape s, bool normalize) => Hit(nameof(TopK));
        public void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, TopKShape s, bool normalize, WriteMode mode) =>
            Hit(nameof(TopKBackward));
        public int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, RouteShape s) { Hit(nameof(MoeRoute)); return new int[s.Experts]; }
        public void MoeGather(Tensor xs, Tensor x, IntTensor perm, MoeShape s) => Hit(nameof(MoeGather));
        public void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, MoeShape s, WriteMode mode) => Hit(nameof(MoeGatherBackward));
        public void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, MoeShape s, WriteMode mode) => Hit(nameof(MoeCombine));
        public void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
            MoeShape s, WriteMode mode) => Hit(nameof(MoeCombineBackward));
        public float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, AuxLossShape s, float alpha, AuxLossKind kind, float gradScale)
        { Hit(nameof(MoeAuxLoss)); return 0f; }
        public double SumOfSquares(Tensor g) { Hit(nameof(SumOfSquares)); return 0; }
        public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay,
            long step, float gradScale) => Hit(nameof(AdamW));
    }
}
