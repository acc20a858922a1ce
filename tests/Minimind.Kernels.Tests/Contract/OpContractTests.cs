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
        ("AddRmsNorm", "rows must be >= 0, got -2",
            b => b.AddRmsNorm(b.Alloc(8), b.Alloc(8), b.Alloc(2), b.Alloc(8), b.Alloc(8), b.Alloc(4), new(-2, 4), 1e-5f)),
        ("AddRmsNorm", "branch holds 7 elements, needs 8",
            b => b.AddRmsNorm(b.Alloc(8), b.Alloc(8), b.Alloc(2), b.Alloc(8), b.Alloc(7), b.Alloc(4), new(2, 4), 1e-5f)),
        ("Rope", "headDim must be even and > 0, got 3", b => b.Rope(b.Alloc(12), b.Alloc(4), b.Alloc(4), new(1, 2, 2, 3, 0, RopeLayout.Interleaved))),
        ("Rope", "posOffset must be >= 0, got -1", b => b.Rope(b.Alloc(16), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 4, -1, RopeLayout.Interleaved))),
        ("Rope", "cos holds 5 elements, needs 6", b => b.Rope(b.Alloc(16), b.Alloc(5), b.Alloc(8), new(1, 2, 2, 4, 1, RopeLayout.RotateHalf))),
        ("Rope", "layout 9 is not a RopeLayout", b => b.Rope(b.Alloc(16), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 4, 0, (RopeLayout)9))),
        ("RopeBackward", "headDim must be even and > 0, got 0", b => b.RopeBackward(b.Alloc(16), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 0, 0, RopeLayout.Interleaved))),
        ("RopeBackward", "dx holds 15 elements, needs 16", b => b.RopeBackward(b.Alloc(15), b.Alloc(8), b.Alloc(8), new(1, 2, 2, 4, 0, RopeLayout.Interleaved))),
        ("RmsNormRope", "headDim must be even and > 0, got 3",
            b => b.RmsNormRope(b.Alloc(12), b.Alloc(4), b.Alloc(12), b.Alloc(3), b.Alloc(4), b.Alloc(4), new(1, 2, 2, 3, 0, RopeLayout.RotateHalf), 1e-6f)),
        ("RmsNormRope", "sin holds 5 elements, needs 6",
            b => b.RmsNormRope(b.Alloc(16), b.Alloc(4), b.Alloc(16), b.Alloc(4), b.Alloc(8), b.Alloc(5), new(1, 2, 2, 4, 1, RopeLayout.Interleaved), 1e-6f)),
        ("RopeRmsNormBackward", "mode 7 is not a WriteMode",
            b => b.RopeRmsNormBackward(new(b.Alloc(16), b.Alloc(4)), b.Alloc(16), new(b.Alloc(16), b.Alloc(4), b.Alloc(4)), b.Alloc(4), b.Alloc(4),
                new(1, 2, 2, 4, 0, RopeLayout.RotateHalf), BadMode)),
        ("RopeRmsNormBackward", "dWeight holds 3 elements, needs 4",
            b => b.RopeRmsNormBackward(new(b.Alloc(16), b.Alloc(3)), b.Alloc(16), new(b.Alloc(16), b.Alloc(4), b.Alloc(4)), b.Alloc(4), b.Alloc(4),
                new(1, 2, 2, 4, 0, RopeLayout.RotateHalf), O)),
        ("Attention", "heads (3) must be a positive multiple of kvHeads (2)",
            b => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(1, 2, 3, 2, 8))),
        ("Attention", "headDim must be > 0, got 0", b => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(1, 2, 2, 1, 0))),
        ("Attention", "batch must be >= 0, got -1", b => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(-1, 2, 2, 1, 8))),
        ("Attention", "lse holds 3 elements, needs 4", b => b.Attention(b.Alloc(32), b.Alloc(3), b.Alloc(32), b.Alloc(16), b.Alloc(16), new(1, 2, 2, 1, 8))),
        ("Attention", "v holds 15 elements, needs 16", b => b.Attention(b.Alloc(32), b.Alloc(4), b.Alloc(32), b.Alloc(16), b.Alloc(15), new(1, 2, 2, 1, 8))),
        ("AttentionBackward", "dk holds 15 elements, needs 16",
            b => b.AttentionBackward(new(b.Alloc(32), b.Alloc(15), b.Alloc(16)), b.Alloc(32), new(b.Alloc(32), b.Alloc(16), b.Alloc(16), b.Alloc(32), b.Alloc(4)),
                new(1, 2, 2, 1, 8), O)),
        ("AttentionBackward", "mode 7 is not a WriteMode",
            b => b.AttentionBackward(new(b.Alloc(32), b.Alloc(16), b.Alloc(16)), b.Alloc(32), new(b.Alloc(32), b.Alloc(16), b.Alloc(16), b.Alloc(32), b.Alloc(4)),
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
        // A paged cache (KvPages): one length per sequence, capacity = pagesPerSeq x pageSize, the table and lengths sized by the batch.
        ("AttentionDecode", "pastLen must be 0 with a paged cache (KvPages.PastLens gives each sequence's), got 1",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(32), b.Alloc(32), new(2, 1, 1, 4, 2, 1, 8), new(b.AllocInt(4), b.AllocInt(2), 2, 2))),
        ("AttentionDecode", "capacity 6 must equal pagesPerSeq 2 x pageSize 2 with a paged cache",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(32), b.Alloc(32), new(2, 1, 0, 6, 2, 1, 8), new(b.AllocInt(4), b.AllocInt(2), 2, 2))),
        ("AttentionDecode", "pageSize must be > 0, got 0",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(32), b.Alloc(32), new(2, 1, 0, 4, 2, 1, 8), new(b.AllocInt(4), b.AllocInt(2), 0, 2))),
        ("AttentionDecode", "pages.Table holds 3 elements, needs 4",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(32), b.Alloc(32), new(2, 1, 0, 4, 2, 1, 8), new(b.AllocInt(3), b.AllocInt(2), 2, 2))),
        ("AttentionDecode", "kCache holds 15 elements, needs 16",
            b => b.AttentionDecode(b.Alloc(32), b.Alloc(32), b.Alloc(15), b.Alloc(32), new(2, 1, 0, 4, 2, 1, 8), new(b.AllocInt(4), b.AllocInt(2), 2, 2))),
        ("KvCacheAppend", "pages.PastLens holds 1 elements, needs 2",
            b => b.KvCacheAppend(b.Alloc(32), b.Alloc(32), b.Alloc(16), b.Alloc(16), new(2, 1, 0, 4, 1, 1, 8), new(b.AllocInt(4), b.AllocInt(1), 2, 2))),
        ("KvCacheAppend", "pagesPerSeq must be > 0, got 0",
            b => b.KvCacheAppend(b.Alloc(32), b.Alloc(32), b.Alloc(16), b.Alloc(16), new(2, 1, 0, 4, 1, 1, 8), new(b.AllocInt(4), b.AllocInt(2), 2, 0))),
        // Per-sequence start positions: one per sequence.
        ("Rope", "rowStart holds 1 elements, needs 2",
            b => b.Rope(b.Alloc(32), b.Alloc(8), b.Alloc(8), new(2, 2, 2, 4, 0, RopeLayout.Interleaved), b.AllocInt(1))),
        ("RopeBackward", "rowStart holds 2 elements, needs 3",
            b => b.RopeBackward(b.Alloc(48), b.Alloc(8), b.Alloc(8), new(3, 2, 2, 4, 0, RopeLayout.RotateHalf), b.AllocInt(2))),
        ("RmsNormRope", "rowStart holds 1 elements, needs 2",
            b => b.RmsNormRope(b.Alloc(32), b.Alloc(8), b.Alloc(32), b.Alloc(4), b.Alloc(8), b.Alloc(8), new(2, 2, 2, 4, 0, RopeLayout.RotateHalf), 1e-6f,
                b.AllocInt(1))),
        ("RopeRmsNormBackward", "rowStart holds 1 elements, needs 2",
            b => b.RopeRmsNormBackward(new(b.Alloc(32), b.Alloc(4)), b.Alloc(32), new(b.Alloc(32), b.Alloc(4), b.Alloc(8)), b.Alloc(8), b.Alloc(8),
                new(2, 2, 2, 4, 0, RopeLayout.Interleaved), O, b.AllocInt(1))),
        ("SwiGlu", "up holds 3 elements, needs 4", b => b.SwiGlu(b.Alloc(4), b.Alloc(4), b.Alloc(3))),
        ("SwiGluBackward", "dUp holds 3 elements, needs 4", b => b.SwiGluBackward(b.Alloc(4), b.Alloc(3), b.Alloc(4), b.Alloc(4), b.Alloc(4), O)),
        ("SwiGluBackward", "mode 7 is not a WriteMode", b => b.SwiGluBackward(b.Alloc(4), b.Alloc(4), b.Alloc(4), b.Alloc(4), b.Alloc(4), BadMode)),
        ("CrossEntropy", "vocab must be > 0, got 0", b => b.CrossEntropy(b.Alloc(2), b.Alloc(8), b.AllocInt(2), new(2, 0), -100)),
        ("CrossEntropy", "targets holds 1 elements, needs 2", b => b.CrossEntropy(b.Alloc(2), b.Alloc(8), b.AllocInt(1), new(2, 4), -100)),
        ("CrossEntropyBackward", "rowScale holds 1 elements, needs 2",
            b => b.CrossEntropyBackward(b.Alloc(8), b.Alloc(8), b.AllocInt(2), b.Alloc(1), new(2, 4), -100)),
        ("CrossEntropyForwardBackward", "vocab must be > 0, got 0",
            b => b.CrossEntropyForwardBackward(b.Alloc(2), b.Alloc(8), b.Alloc(8), b.AllocInt(2), b.Alloc(2), new(2, 0), -100)),
        ("CrossEntropyForwardBackward", "losses holds 1 elements, needs 2",
            b => b.CrossEntropyForwardBackward(b.Alloc(1), b.Alloc(8), b.Alloc(8), b.AllocInt(2), b.Alloc(2), new(2, 4), -100)),
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

    // Allocates an op's tensors by argument name; the one named `shorten` gets one element too few.
    internal sealed class Args(IBackend b, string? shorten)
    {
        public readonly List<(string Name, long N)> Checked = new();
        public Tensor F(string name, long n, bool sizeChecked = true)
        {
            if (sizeChecked) Checked.Add((name, n));
            return b.Alloc(name == shorten ? n - 1 : n);
        }
        public IntTensor I(string name, long n)
        {
            Checked.Add((name, n));
            return b.AllocInt(name == shorten ? n - 1 : n);   // zeros: valid ids, targets, experts and permutation entries
        }
    }

    // A valid call of every op with sized views (the sizes are exactly what the shape needs).
    internal static readonly (string Op, Action<IBackend, Args> Call)[] ValidCalls =
    {
        ("Add", (b, a) => b.Add(a.F("y", 4, false), a.F("a", 4), a.F("b", 4))),
        ("AddInPlace", (b, a) => b.AddInPlace(a.F("y", 4, false), a.F("x", 4))),
        ("MatMul", (b, a) => b.MatMul(a.F("y", 6), a.F("x", 6), a.F("w", 9), new(2, 3, 3))),
        ("MatMulBackwardInput", (b, a) => b.MatMulBackwardInput(a.F("dx", 6), a.F("dy", 6), a.F("w", 9), new(2, 3, 3), O)),
        ("MatMulBackwardWeight", (b, a) => b.MatMulBackwardWeight(a.F("dw", 9), a.F("dy", 6), a.F("x", 6), new(2, 3, 3), O)),
        ("Embedding", (b, a) => b.Embedding(a.F("y", 8), a.I("ids", 2), a.F("table", 16, false), new(2, 4))),
        ("EmbeddingBackward", (b, a) => b.EmbeddingBackward(a.F("dTable", 16, false), a.F("dy", 8), a.I("ids", 2), new(2, 4))),
        ("RmsNorm", (b, a) => b.RmsNorm(a.F("y", 8), a.F("rstd", 2), a.F("x", 8), a.F("weight", 4), new(2, 4), 1e-5f)),
        ("RmsNormBackward", (b, a) => b.RmsNormBackward(a.F("dx", 8), a.F("dWeight", 4), a.F("dy", 8), a.F("x", 8), a.F("weight", 4), a.F("rstd", 2),
            new(2, 4), O)),
        ("AddRmsNorm", (b, a) => b.AddRmsNorm(a.F("h", 8), a.F("y", 8), a.F("rstd", 2), a.F("x", 8), a.F("branch", 8), a.F("weight", 4),
            new(2, 4), 1e-5f)),
        ("Rope", (b, a) => b.Rope(a.F("x", 16), a.F("cos", 6), a.F("sin", 6), new(1, 2, 2, 4, 1, RopeLayout.Interleaved))),
        ("RopeBackward", (b, a) => b.RopeBackward(a.F("dx", 16), a.F("cos", 4), a.F("sin", 4), new(1, 2, 2, 4, 0, RopeLayout.RotateHalf))),
        ("RmsNormRope", (b, a) => b.RmsNormRope(a.F("y", 16), a.F("rstd", 4), a.F("x", 16), a.F("weight", 4), a.F("cos", 6), a.F("sin", 6),
            new(1, 2, 2, 4, 1, RopeLayout.RotateHalf), 1e-6f)),
        ("RopeRmsNormBackward", (b, a) => b.RopeRmsNormBackward(new(a.F("dx", 16), a.F("dWeight", 4)), a.F("dy", 16),
            new(a.F("x", 16), a.F("weight", 4), a.F("rstd", 4)), a.F("cos", 6), a.F("sin", 6), new(1, 2, 2, 4, 1, RopeLayout.Interleaved), O)),
        ("Attention", (b, a) => b.Attention(a.F("output", 32), a.F("lse", 4), a.F("q", 32), a.F("k", 16), a.F("v", 16), new(1, 2, 2, 1, 8))),
        ("AttentionBackward", (b, a) => b.AttentionBackward(new(a.F("dq", 32), a.F("dk", 16), a.F("dv", 16)), a.F("dOutput", 32),
            new(a.F("q", 32), a.F("k", 16), a.F("v", 16), a.F("output", 32), a.F("lse", 4)), new(1, 2, 2, 1, 8), O)),
        ("AttentionDecode", (b, a) => b.AttentionDecode(a.F("output", 32), a.F("q", 32), a.F("kCache", 32), a.F("vCache", 32), new(1, 2, 1, 4, 2, 1, 8))),
        ("KvCacheAppend", (b, a) => b.KvCacheAppend(a.F("kCache", 32), a.F("vCache", 32), a.F("k", 16), a.F("v", 16), new(1, 2, 2, 4, 2, 1, 8))),
        ("SwiGlu", (b, a) => b.SwiGlu(a.F("h", 4, false), a.F("gate", 4), a.F("up", 4))),
        ("SwiGluBackward", (b, a) => b.SwiGluBackward(a.F("dGate", 4), a.F("dUp", 4), a.F("dh", 4, false), a.F("gate", 4), a.F("up", 4), O)),
        ("CrossEntropy", (b, a) => b.CrossEntropy(a.F("losses", 2), a.F("logits", 8), a.I("targets", 2), new(2, 4), -100)),
        ("CrossEntropyBackward", (b, a) => b.CrossEntropyBackward(a.F("dLogits", 8), a.F("logits", 8), a.I("targets", 2), a.F("rowScale", 2), new(2, 4), -100)),
        ("CrossEntropyForwardBackward", (b, a) => b.CrossEntropyForwardBackward(a.F("losses", 2), a.F("dLogits", 8), a.F("logits", 8), a.I("targets", 2),
            a.F("rowScale", 2), new(2, 4), -100)),
        ("Softmax", (b, a) => b.Softmax(a.F("y", 8), a.F("x", 8), new(2, 4))),
        ("SoftmaxBackward", (b, a) => b.SoftmaxBackward(a.F("dx", 8), a.F("dy", 8), a.F("y", 8), new(2, 4), O)),
        ("TopK", (b, a) => b.TopK(a.F("weights", 4), a.I("indices", 4), a.F("probs", 8), new(2, 4, 2), true)),
        ("TopKBackward", (b, a) => b.TopKBackward(a.F("dProbs", 8), a.F("dWeights", 4), a.F("probs", 8), a.I("indices", 4), new(2, 4, 2), true, O)),
        ("MoeRoute", (b, a) => b.MoeRoute(a.I("perm", 4), a.I("invPerm", 4), a.I("indices", 4), new(4, 2))),
        ("MoeGather", (b, a) => b.MoeGather(a.F("xs", 16), a.F("x", 8), a.I("perm", 4), new(2, 2, 4))),
        ("MoeGatherBackward", (b, a) => b.MoeGatherBackward(a.F("dx", 8), a.F("dxs", 16), a.I("invPerm", 4), new(2, 2, 4), O)),
        ("MoeCombine", (b, a) => b.MoeCombine(a.F("y", 8), a.F("expertOut", 16), a.F("weights", 4), a.I("invPerm", 4), new(2, 2, 4), O)),
        ("MoeCombineBackward", (b, a) => b.MoeCombineBackward(a.F("dExpertOut", 16), a.F("dWeights", 4), a.F("dy", 8), a.F("expertOut", 16),
            a.F("weights", 4), a.I("invPerm", 4), new(2, 2, 4), O)),
        ("MoeAuxLoss", (b, a) => b.MoeAuxLoss(a.F("dProbs", 8), a.F("probs", 8), a.I("indices", 4), new(1, 2, 4, 2), 0.1f, AuxLossKind.SequenceLevel, 1f)),
        ("AdamW", (b, a) => b.AdamW(a.F("param", 4, false), a.F("grad", 4), a.F("m", 4), a.F("v", 4), 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1, 1f)),
    };

    public static IEnumerable<object[]> Ops() => ValidCalls.Select(c => new object[] { c.Op });

    [Theory]
    [MemberData(nameof(Ops))]
    public void EveryViewOfEveryOp_ShortByOne_SameTextOnBothBackends(string op)
    {
        var call = ValidCalls.Single(c => c.Op == op).Call;
        using var cpu = new CpuBackend(2);
        var names = new Args(cpu, null);
        call(cpu, names);                      // the exact sizes are accepted on both backends
        call(f.B, new Args(f.B, null));
        f.B.Synchronize();
        Assert.NotEmpty(names.Checked);
        foreach (var (name, n) in names.Checked)
        {
            var onCpu = Assert.ThrowsAny<ArgumentException>(() => call(cpu, new Args(cpu, name)));
            var onIlgpu = Assert.ThrowsAny<ArgumentException>(() => call(f.B, new Args(f.B, name)));
            Assert.Equal($"{op}: {name} holds {n - 1} elements, needs {n}", onCpu.Message);
            Assert.Equal(onCpu.Message, onIlgpu.Message);
        }
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
