using ILGPU;

namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// The ILGPU kernels of <see cref="IlgpuBackend"/>. Every kernel is explicitly grouped and walks its work
/// with a grid-stride loop, so the launch shape (chosen per accelerator) never changes which thread computes
/// an element's value in a way that depends on timing: each output is reduced in a fixed order.
/// </summary>
public static partial class IlgpuKernels
{
    /// <summary>Largest group size a row kernel may be launched with (size of its shared reduction buffer).</summary>
    public const int MaxRowGroup = 256;

    // First element of this thread and the grid-stride step.
    private static int Gid => Grid.IdxX * Group.DimX + Group.IdxX;
    private static int GStride => Grid.DimX * Group.DimX;

    /// <summary>Σ of every thread's value, by a fixed tree over a power-of-two group (same bits every run).</summary>
    private static float GroupSum(ArrayView<float> sh, float v)
    {
        int tid = Group.IdxX;
        sh[tid] = v;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s) sh[tid] += sh[tid + s];
            Group.Barrier();
        }
        float r = sh[0];
        Group.Barrier();
        return r;
    }

    /// <summary>Max of every thread's value over a power-of-two group.</summary>
    private static float GroupMax(ArrayView<float> sh, float v)
    {
        int tid = Group.IdxX;
        sh[tid] = v;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s) { float o = sh[tid + s]; if (o > sh[tid]) sh[tid] = o; }
            Group.Barrier();
        }
        float r = sh[0];
        Group.Barrier();
        return r;
    }

    private static float Max(float a, float b) => a > b ? a : b;
    private static int Min(int a, int b) => a < b ? a : b;

    /// <summary>One kernel entry point: its name and the closed (non-generic) method ILGPU compiles.</summary>
    public readonly record struct Entry(string Name, System.Reflection.MethodInfo Method);

    /// <summary>Every kernel the backend launches, generic tile parameters closed with each tile used
    /// (the PTX gate compiles all of them).</summary>
    public static IReadOnlyList<Entry> All { get; } = BuildAll();

    private static IReadOnlyList<Entry> BuildAll()
    {
        var list = new List<Entry>();
        void Add(Delegate d, string? name = null) => list.Add(new Entry(name ?? d.Method.Name, d.Method));
        Add((Action<ArrayView<float>, float>)Fill);
        Add((Action<ArrayView<float>, ArrayView<float>>)Copy);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>>)AddKernel);
        Add((Action<ArrayView<float>, ArrayView<float>>)AddInPlace);
        Add((Action<ArrayView<float>, float>)Scale);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>)GemmSimple);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>)GemmTiled<GemmTile64>, "GemmTiled<GemmTile64>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>)GemmTiled<GemmTile8>, "GemmTiled<GemmTile8>");
        Add((Action<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>)Embedding);
        Add((Action<ArrayView<int>, ArrayView<int>, int>)EmbeddingLinks);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>)EmbeddingBackward);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>)RmsNorm);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>)RmsNormBackwardInput);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>)RmsNormWeightPartials);
        Add((Action<ArrayView<float>, ArrayView<float>, int, int>)ReduceChunksInto);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, RopeShape>)Rope);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>>)SwiGlu);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>)SwiGluBackward);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionForward<AttnTile32>, "AttentionForward<AttnTile32>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionForward<AttnTile4>, "AttentionForward<AttnTile4>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionRowDot);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionBackwardQuery<AttnTile32>, "AttentionBackwardQuery<AttnTile32>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionBackwardKeyValue<AttnTile32>, "AttentionBackwardKeyValue<AttnTile32>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionBackwardQuery<AttnTile4>, "AttentionBackwardQuery<AttnTile4>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>)AttentionBackwardKeyValue<AttnTile4>, "AttentionBackwardKeyValue<AttnTile4>");
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeShape>)AttentionDecode);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeShape>)KvCacheAppend);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>)CrossEntropy);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>)CrossEntropyBackward);
        Add((Action<ArrayView<float>, ArrayView<float>, int, int>)Softmax);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>)SoftmaxBackward);
        Add((Action<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>)TopK);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, int>)TopKBackward);
        Add((Action<ArrayView<int>, ArrayView<int>, int, int, int>)MoeCountChunks);
        Add((Action<ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>)MoeScatterChunks);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>)MoeGather);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>)MoeGatherBackward);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>)MoeCombine);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>)MoeCombineBackwardOut);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>)MoeCombineBackwardWeights);
        Add((Action<ArrayView<float>, ArrayView<float>, int, int, int>)MoeAuxGrad);
        Add((Action<ArrayView<double>, ArrayView<float>, int>)SumOfSquaresPartials);
        Add((Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars>)AdamW);
        return list;
    }
}
