namespace Minimind.Kernels.Cpu;

/// <summary>
/// Keeps a few pinned scratch arrays for SGEMM packing, so repeated matmuls neither allocate large-object-heap
/// arrays nor fault fresh pages on every call. Thread-safe; arrays are handed out exclusively.
/// </summary>
internal static class PackPool
{
    private const int Keep = 8;
    private static readonly List<float[]> Free = new();

    /// <summary>An array of at least <paramref name="length"/> elements (contents undefined).</summary>
    public static float[] Rent(int length)
    {
        lock (Free)
        {
            int best = -1;
            for (int i = 0; i < Free.Count; i++)
                if (Free[i].Length >= length && (best < 0 || Free[i].Length < Free[best].Length)) best = i;
            if (best >= 0) { var a = Free[best]; Free.RemoveAt(best); return a; }
        }
        return GC.AllocateUninitializedArray<float>(length, pinned: true);
    }

    /// <summary>Gives an array back; the smallest is dropped when more than a few are kept.</summary>
    public static void Return(float[] array)
    {
        lock (Free)
        {
            Free.Add(array);
            if (Free.Count > Keep)
            {
                int smallest = 0;
                for (int i = 1; i < Free.Count; i++) if (Free[i].Length < Free[smallest].Length) smallest = i;
                Free.RemoveAt(smallest);
            }
        }
    }
}
