using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Ilgpu;

namespace Minimind.Kernels.Tests.Contract;

/// <summary>
/// Every validation of <see cref="OpContract"/>, table-driven over the ops: each bad argument must raise the same
/// exception type with the same text on the CPU backend and on the ILGPU backend, and the text must name the op.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class OpContractTests(IlgpuFixture f)
{
    private const WriteMode BadMode = (WriteMode)7;
    private static readonly WriteMode O = WriteMode.Overwrite;

    // (op named in the message, expected message fragment, the call on a backend)
    private static readonly (string Op, string Says, Action<IBackend> Call)[] Cases =
    {
        ("Upload", "dst holds 2 elements, needs 3", b => b.Upload(b.Alloc(2), new float[3])),
        ("Download", "src holds 2 elements, needs 3", b => b.Download(b.AllocInt(2), new int[3])),
        ("Copy", "dst has 2 elements, src 3", b => b.Copy(b.Alloc(2), b.Alloc(3))),
        ("Add", "b holds 3 elements, needs 4", b => b.Add(b.Alloc(4), b.Alloc(4), b.Alloc(3))),
        ("AddInPlace", "x holds 3 elements, needs 4", b => b.AddInPlace(b.Alloc(4), b.Alloc(3))),
        ("MatMul", "M must be >= 0, got -1", b => b.MatMul(b.Alloc(6), b.Alloc(6), b.Alloc(9), new(-1, 3, 3))),
        ("MatMul", "y holds 5 elements, needs 6", b => b.MatMul(b.Alloc(5), b.Alloc(6), b.Alloc(9), new(2, 3, 3))),
        ("MatMul", "x holds 5 elements, needs 6", b => b.MatMul(b.Alloc(6), b.Alloc(5), b.Alloc(9), new(2, 3, 3))),
        ("MatMul", "w holds 8 elements, needs 9", b => b.MatMul(b.Alloc(6), b.Alloc(6), b.Alloc(8), new(2, 3, 3))),
        ("MatMul", "mode 7 is not a WriteMode", b => b.MatMul(b.Alloc(6), b.Alloc(6), b.Alloc(9), new(2, 3, 3), BadMode)),
        ("MatMul", "y is an empty tensor, needs 6 elements", b => b.MatMul(default, b.Alloc(6), b.Alloc(9), new(2, 3, 3))),
        ("MatMulBackwardInput", "K must be >= 0, got -2", b => b.MatMulBackwardInput(b.Alloc(6), b.Alloc(6), b.Alloc(9), new(2, 3, -2), O)),
        ("MatMulBackwardInput", "dx holds 5 elements, needs 6", b => b.MatMulBackwardInput(b.Alloc(5), b.Alloc(6), b.Alloc(9), new(2, 3, 3), O)),
        ("MatMulBackwardInput", "mode 7 is not a WriteMode", b => b.MatMulBackwardInput(b.Alloc(6), b.Alloc(6), b.Alloc(9), new(2, 3, 3), BadMode)),
        ("MatMulBackwardWeight", "dw holds 8 elements, needs 9", b => b.MatMulBackwardWeight(b.Alloc(8), b.Alloc(6), b.Alloc(6), new(2, 3, 3), O)),
        ("MatMulBackwardWeight", "N must be >= 0, got -3", b => b.MatMulBackwardWeight(b.Alloc(9), b.Alloc(6), b.Alloc(6), new(2, -3, 3), O)),
        ("Embedding", "count must be >= 0, got -1", b => b.Embedding(b.Alloc(8), b.AllocInt(2), b.Alloc(16), new(-1, 4))),
        ("Embedding", "ids holds 1 elements, needs 2", b => b.Embedding(b.Alloc(8), b.AllocInt(1), b.Alloc(16), new(2, 4))),
        ("Embedding", "y holds 7 elements, needs 8", b => b.Embedding(b.Alloc(7), b.AllocInt(2), b.Alloc(16), new(2, 4))),
        ("EmbeddingBackward", "dim must be >= 0, got -4", b => b.EmbeddingBackward(b.Alloc(16), b.Alloc(8), b.AllocInt(2), new(2, -4))),
        ("EmbeddingBackward", "dy holds 7 elements, needs 8", b => b.EmbeddingBackward(b.Alloc(16), b.Alloc(7), b.AllocInt(2), new(2, 4))),
        ("RmsNorm", "rows must be >= 0, got -2", b => b.RmsNorm(b.Alloc(8), b.Alloc(2), b.Alloc(8), b.Alloc(4), new(-2, 4), 1e-5f)),
        ("RmsNorm", "rstd holds 1 elements, needs 2", b => b.RmsNorm(b.Alloc(8), b.Alloc(1), b.Alloc(8), b.Alloc(4), new(2, 4), 1e-5f)),
        ("RmsNorm", "weight holds 3 elements, needs 4", b => b.RmsNorm(b.Alloc(8), b.Alloc(2), b.Alloc(8), b.Alloc(3), new(2, 4), 1e-5f)),
        ("RmsNormBackward", "dWeight holds 3 elements, needs 4",
            b => b.RmsNormBackward(b.Alloc(8), b.Alloc(3), b.Alloc(8), b.Alloc(8), b.Alloc(4), b.Alloc(2), new(2, 4), O)),
        ("RmsNormBackward", "mode 7 is not a WriteMode",
            b => b.RmsNormBackward(b.Alloc(8), b.Alloc(4), b.Alloc(8), b.Alloc(8), b.Alloc(4), b.Alloc(2), new(2, 4), BadMode)),
        ("Rope", "headDim must be even and > 0, got 3", b => b.Rope(b.Alloc(12), b.Alloc(4), b.Alloc(4), new(1, 2, 2, 3, 0, RopeLayout.Interleaved))),
        ("Rope", "posOffset must be >= 0, got -1", b => b.Rope(b.Alloc(16), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 4, -1, RopeLayout.Interleaved))),
        ("Rope", "cos holds 5 elements, needs 6", b => b.Rope(b.Alloc(16), b.Alloc(5), b.Alloc(8), new(1, 2, 2, 4, 1, RopeLayout.RotateHalf))),
        ("Rope", "layout 9 is not a RopeLayout", b => b.Rope(b.Alloc(16), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 4, 0, (RopeLayout)9))),
        ("RopeBackward", "headDim must be even and > 0, got 0", b => b.RopeBackward(b.Alloc(16), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 0, 0, RopeLayout.Interleaved))),
        ("RopeBackward", "x holds 15 elements, needs 16", b => b.RopeBackward(b.Alloc(15), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 4, 0, RopeLayout.Interleaved))),
        ("Attention", "heads (3) must be a positive multiple of kvHeads (2)",
            b => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(1, 2, 3, 2, 8))),
        ("Attention", "headDim must be > 0, got 0", b => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(1, 2, 2, 1, 0))),
        ("Attention", "batch must be >= 0, got -1", b => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(-1, 2, 2, 1, 8))),
        ("Attention", "lse holds 3 elements, needs 4", b => b.Attention(b.Alloc(32), b.Alloc(3), b.Alloc(32), b.Alloc(16), b.Alloc(16), new(1, 2, 2, 1, 8))),
        ("Attention", "v holds 15 elements, needs 16", b => b.Attention(b.Alloc(32), b.Alloc(4), b.Alloc(32), b.Alloc(16), b.Alloc(15), new(1, 2, 2, 1, 8))),
        ("AttentionBackward", "dk holds 15 elements, needs 16",
            b => b.AttentionBackward(b.Alloc(32), b.Alloc(15), b.Alloc(16), b.Alloc(32), b.Alloc(32), b.Alloc(16), b.Alloc(16), b.Alloc(32), b.Alloc(4),
                new(1, 2, 2, 1, 8), O)),
        ("AttentionBackward", "mode 7 is not a WriteMode",
            b => b.AttentionBackward(b.Alloc(32), b.Alloc(16), b.Alloc(16), b.Alloc(32), b.Alloc(32), b.Alloc(16), b.Alloc(16), b.Alloc(32), b.Alloc(4),
                new(1, 2, 2, 1, 8), BadMode)),
        ("AttentionDecode", "pastLen 3 + newTokens 2 exceeds the cache capacity 4",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(32), b.Alloc(32), new(1, 2, 3, 4, 2, 1, 8))),
        ("AttentionDecode", "kCache holds 31 elements, needs 32",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(31), b.Alloc(32), new(1, 2, 0, 4, 2, 1, 8))),
        ("AttentionDecode", "newTokens must be >= 0, got -1",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(32), b.Alloc(32), new(1, -1, 0, 4, 2, 1, 8))),
        ("KvCacheAppend", "pastLen 4 + newTokens 1 exceeds the cache capacity 4",
            b => b.KvCacheAppend(b.Alloc(32), b.Alloc(32), b.Alloc(8), b.Alloc(8), new(1, 1, 4, 4, 1, 1, 8))),
        ("KvCacheAppend", "v holds 7 elements, needs 8", b => b.KvCacheAppend(b.Alloc(32), b.Alloc(32), b.Alloc(8), b.Alloc(7), new(1, 1, 0, 4, 1, 1, 8))),
        ("SwiGlu", "up holds 3 elements, needs 4", b => b.SwiGlu(b.Alloc(4), b.Alloc(4), b.Alloc(3))),
        ("SwiGluBackward", "dUp holds 3 elements, needs 4", b => b.SwiGluBackward(b.Alloc(4), b.Alloc(3), b.Alloc(4), b.Alloc(4), b.Alloc(4), O)),
        ("SwiGluBackward", "mode 7 is not a WriteMode", b => b.SwiGluBackward(b.Alloc(4), b.Alloc(4), b.Alloc(4), b.Alloc(4), b.Alloc(4), BadMode)),
        ("CrossEntropy", "vocab must be > 0, got 0", b => b.CrossEntropy(b.Alloc(2), b.Alloc(8), b.AllocInt(2), new(2, 0), -100)),
        ("CrossEntropy", "targets holds 1 elements, needs 2", b => b.CrossEntropy(b.Alloc(2), b.Alloc(8), b.AllocInt(1), new(2, 4), -100)),
        ("CrossEntropyBackward", "rowScale holds 1 elements, needs 2",
            b => b.CrossEntropyBackward(b.Alloc(8), b.Alloc(8), b.AllocInt(2), b.Alloc(1), new(2, 4), -100)),
        ("Softmax", "cols must be >= 0, got -4", b => b.Softmax(b.Alloc(8), b.Alloc(8), new(2, -4))),
        ("Softmax", "y holds 7 elements, needs 8", b => b.Softmax(b.Alloc(7), b.Alloc(8), new(2, 4))),
        ("SoftmaxBackward", "dx holds 7 elements, needs 8", b => b.SoftmaxBackward(b.Alloc(7), b.Alloc(8), b.Alloc(8), new(2, 4), O)),
        ("TopK", "k must be in [1, cols=4], got 5", b => b.TopK(b.Alloc(10), b.AllocInt(10), b.Alloc(8), new(2, 4, 5), true)),
        ("TopK", "k must be in [1, cols=4], got 0", b => b.TopK(b.Alloc(10), b.AllocInt(10), b.Alloc(8), new(2, 4, 0), true)),
        ("TopK", "indices holds 3 elements, needs 4", b => b.TopK(b.Alloc(4), b.AllocInt(3), b.Alloc(8), new(2, 4, 2), false)),
        ("TopKBackward", "dWeights holds 3 elements, needs 4",
            b => b.TopKBackward(b.Alloc(8), b.Alloc(3), b.Alloc(8), b.AllocInt(4), new(2, 4, 2), true, O)),
        ("MoeRoute", "experts must be > 0, got 0", b => b.MoeRoute(b.AllocInt(4), b.AllocInt(4), b.AllocInt(4), new(4, 0))),
        ("MoeRoute", "perm holds 3 elements, needs 4", b => b.MoeRoute(b.AllocInt(3), b.AllocInt(4), b.AllocInt(4), new(4, 2))),
        ("MoeGather", "k must be > 0, got 0", b => b.MoeGather(b.Alloc(8), b.Alloc(8), b.AllocInt(4), new(2, 0, 4))),
        ("MoeGather", "xs holds 15 elements, needs 16", b => b.MoeGather(b.Alloc(15), b.Alloc(8), b.AllocInt(4), new(2, 2, 4))),
        ("MoeGatherBackward", "invPerm holds 3 elements, needs 4", b => b.MoeGatherBackward(b.Alloc(8), b.Alloc(16), b.AllocInt(3), new(2, 2, 4), O)),
        ("MoeCombine", "weights holds 3 elements, needs 4", b => b.MoeCombine(b.Alloc(8), b.Alloc(16), b.Alloc(3), b.AllocInt(4), new(2, 2, 4), O)),
        ("MoeCombine", "tokens must be >= 0, got -2", b => b.MoeCombine(b.Alloc(8), b.Alloc(16), b.Alloc(4), b.AllocInt(4), new(-2, 2, 4), O)),
        ("MoeCombineBackward", "dExpertOut holds 15 elements, needs 16",
            b => b.MoeCombineBackward(b.Alloc(15), b.Alloc(4), b.Alloc(8), b.Alloc(16), b.Alloc(4), b.AllocInt(4), new(2, 2, 4), O)),
        ("MoeAuxLoss", "k must be in [1, experts=4], got 5",
            b => b.MoeAuxLoss(b.Alloc(8), b.Alloc(8), b.AllocInt(10), new(1, 2, 4, 5), 0.1f, AuxLossKind.SequenceLevel, 1f)),
        ("MoeAuxLoss", "probs holds 7 elements, needs 8",
            b => b.MoeAuxLoss(b.Alloc(8), b.Alloc(7), b.AllocInt(4), new(1, 2, 4, 2), 0.1f, AuxLossKind.TokenLevel, 1f)),
        ("MoeAuxLoss", "seqLen must be >= 0, got -2",
            b => b.MoeAuxLoss(default, b.Alloc(8), b.AllocInt(4), new(1, -2, 4, 2), 0.1f, AuxLossKind.MiniMind3, 1f)),
        ("AdamW", "step is 1-based, got 0", b => b.AdamW(b.Alloc(4), b.Alloc(4), b.Alloc(4), b.Alloc(4), 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0, 1f)),
        ("AdamW", "m holds 3 elements, needs 4", b => b.AdamW(b.Alloc(4), b.Alloc(4), b.Alloc(3), b.Alloc(4), 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1, 1f)),
    };

    public static IEnumerable<object[]> CaseIndices() => Enumerable.Range(0, Cases.Length).Select(i => new object[] { i, Cases[i].Op + ": " + Cases[i].Says });

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void BadArgument_SameExceptionTextOnBothBackends(int index, string what)
    {
        var (op, says, call) = Cases[index];
        using var cpu = new CpuBackend(2);
        var onCpu = Record.Exception(() => call(cpu));
        var onIlgpu = Record.Exception(() => call(f.B));
        Assert.True(onCpu is ArgumentException, $"{what}: CPU threw {onCpu?.GetType().Name ?? "nothing"}");
        Assert.True(onIlgpu is ArgumentException, $"{what}: ILGPU threw {onIlgpu?.GetType().Name ?? "nothing"}");
        Assert.Equal(onCpu!.GetType(), onIlgpu!.GetType());
        Assert.Equal(onCpu.Message, onIlgpu.Message);
        Assert.StartsWith(op + ": ", onCpu.Message);
        Assert.Contains(says, onCpu.Message);
    }

    [Fact]
    public void Limits_AreStated_AndTheContractEnforcesThem()
    {
        using var cpu = new CpuBackend(2);
        Assert.Equal(int.MaxValue, cpu.Limits.MaxHeadDim);
        Assert.Equal(128, f.B.Limits.MaxHeadDim);
        // hd 130 is past the ILGPU tiles' shared-memory rows: refused up front, naming the limit; the CPU runs it.
        int hd = 130, qn = 2 * hd;
        void Run(IBackend b) => b.Attention(b.Alloc(qn), b.Alloc(2), b.Alloc(qn), b.Alloc(qn), b.Alloc(qn), new(1, 1, 2, 2, hd));
        Run(cpu);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Run(f.B));
        Assert.Contains("Attention: headDim 130 exceeds this backend's limit of 128 (BackendLimits.MaxHeadDim)", e.Message);
        var d = Assert.Throws<ArgumentOutOfRangeException>(() =>
            f.B.AttentionDecode(f.B.Alloc(qn), f.B.Alloc(qn), f.B.Alloc(qn), f.B.Alloc(qn), new(1, 1, 0, 1, 2, 2, hd)));
        Assert.Contains("AttentionDecode: headDim 130 exceeds", d.Message);
    }
}
