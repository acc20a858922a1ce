namespace Minimind.Kernels.Cpu;

/// <summary>
/// The SGEMM B panels of the weights in one <see cref="CpuBuffer{T}"/>, kept between matmuls so a weight read many
/// times between writes (generation, evaluation, the rollouts between two optimizer steps, micro-batches of one step) is
/// transposed into panels once per version instead of on every call. An entry is used only while the buffer's
/// <see cref="CpuBuffer{T}.Version"/> is the one it was packed at: any write access to the buffer (an optimizer step,
/// an upload, a copy, a host view) makes every entry stale, and a stale entry is packed again at its next use, in the same
/// memory. Panels are packed whole and kept from the second use of a layout at a version: a weight read once per
/// version (a training step's forward and backward with one micro-batch) is packed as it goes and costs no memory, while
/// generation without a warm-up keeps them from its first decode step on (the prefill before it packs as it goes). Weights said to be
/// frozen (<see cref="FromFirstUse"/>: inference) are packed whole and kept at their first use, so a prefill does not
/// pack them as it goes only for the first decode step to pack them again. Memory: at most one packed copy per weight
/// and layout (float32 size, half at bf16), freed with the buffer.
/// </summary>
internal sealed class PackedWeights
{
    /// <summary>Which matmul operand a set of panels is: the view and layout of B, its precision and the kernel's panel width.</summary>
    internal readonly record struct Key(long Offset, int N, int K, int RowStride, int ColStride, Precision Precision, CpuIsa Isa);

    // Panels valid at Version, or none yet (a first use seen); Spare is the memory of stale panels, packed again in place.
    private sealed record Entry(long Version, PackedPanels? Panels, float[]? Spare);

    private readonly Dictionary<Key, Entry> _entries = new();

    /// <summary>Pack and keep at a layout's first use at a version instead of its second (weights the caller will not
    /// write again: inference). A write still makes the panels stale.</summary>
    public bool FromFirstUse { get; set; }

    /// <summary>Bytes of panel memory held now (valid or awaiting a repack).</summary>
    public long Bytes
    {
        get { lock (_entries) return _entries.Values.Sum(e => (e.Panels?.Data ?? e.Spare)?.LongLength * sizeof(float) ?? 0); }
    }

    /// <summary>The panels for <paramref name="key"/> packed from <paramref name="buffer"/>'s current values, or null when
    /// they are not packed now (the first use at this version: the caller packs as it goes).
    /// <paramref name="pack"/> packs the whole operand, into the given array when it fits.</summary>
    public PackedPanels? Get(CpuBuffer<float> buffer, Key key, Func<float[]?, PackedPanels> pack)
    {
        lock (_entries)
        {
            long version = buffer.Version;
            _entries.TryGetValue(key, out var e);
            if (e is { Panels: not null } && e.Version == version) return e.Panels;
            float[]? spare = e?.Panels?.Data ?? e?.Spare;
            if (!FromFirstUse && (e is null || e.Version != version))
            {
                _entries[key] = new Entry(version, null, spare);
                return null;
            }
            var panels = pack(spare);
            // Kept only if nothing wrote the buffer while it was packed (ops on one buffer are not concurrent; this makes sure).
            _entries[key] = buffer.Version == version ? new Entry(version, panels, null) : new Entry(long.MinValue, null, panels.Data);
            return panels;
        }
    }
}

/// <summary>A whole B operand packed as <see cref="Sgemm"/> packs it slice by slice: K slice s (columns from
/// s·<see cref="Sgemm.KC"/>) starts at byte nPad·s·KC·<c>bytes</c>, its NR-column panel j0 at + j0·kc·<c>bytes</c>, where
/// bytes is 2 for <see cref="Bf16Panels"/> and 4 for <see cref="F32Panels"/>.</summary>
/// <param name="Data">The panels (pinned).</param>
/// <param name="Bf16">True when the panels are <see cref="Bf16Panels"/>.</param>
internal sealed record PackedPanels(float[] Data, bool Bf16)
{
    /// <summary>Bytes held.</summary>
    public long Bytes => Data.LongLength * sizeof(float);
}
