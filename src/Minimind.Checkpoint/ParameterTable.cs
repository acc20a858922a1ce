namespace Minimind.Checkpoint;

/// <summary>One named parameter inside a flat float32 buffer (a PyTorch state-dict key).</summary>
/// <param name="Name">The state-dict key, e.g. <c>layers.0.attention.wq.weight</c>.</param>
/// <param name="Offset">First element in the flat buffer.</param>
/// <param name="Shape">PyTorch shape.</param>
/// <param name="TiedTo">For a tied weight, the key that owns the storage; null for an owner.</param>
public sealed record ParameterEntry(string Name, long Offset, int[] Shape, string? TiedTo)
{
    /// <summary>Number of elements (product of the shape; 1 for a 0-d tensor).</summary>
    public long Numel
    {
        get { long n = 1; foreach (var d in Shape) n *= d; return n; }
    }

    /// <summary>Shape as PyTorch prints it, e.g. <c>[6400, 512]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Name → (offset, shape) layout of a model's parameters in one flat buffer, in state-dict order.
/// Owners are laid out contiguously in insertion order, which is <c>model.parameters()</c> order
/// (a tied name points at its owner's storage and is skipped there, as PyTorch dedups it):
/// loading, saving, AdamW state indices and grad-norm all walk this one table.
/// </summary>
public sealed class ParameterTable
{
    private readonly List<ParameterEntry> _entries = new();
    private readonly Dictionary<string, ParameterEntry> _byName = new(StringComparer.Ordinal);

    /// <summary>All keys in state-dict order, tied names included.</summary>
    public IReadOnlyList<ParameterEntry> Entries => _entries;

    /// <summary>Owners only, in <c>model.parameters()</c> order (the AdamW param indices).</summary>
    public IEnumerable<ParameterEntry> Owners => _entries.Where(e => e.TiedTo is null);

    /// <summary>Total elements of the flat buffer.</summary>
    public long TotalElements { get; private set; }

    /// <summary>Adds a parameter with its own storage at the end of the buffer.</summary>
    public ParameterEntry Add(string name, params int[] shape)
    {
        if (_byName.ContainsKey(name)) throw new ArgumentException($"duplicate parameter name '{name}'", nameof(name));
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"parameter '{name}' has a negative dimension", nameof(shape));
        var e = new ParameterEntry(name, TotalElements, (int[])shape.Clone(), null);
        TotalElements += e.Numel;
        _entries.Add(e); _byName[name] = e;
        return e;
    }

    /// <summary>Adds a key that shares the storage of <paramref name="owner"/> (tied embeddings).</summary>
    public ParameterEntry AddTied(string name, string owner)
    {
        if (_byName.ContainsKey(name)) throw new ArgumentException($"duplicate parameter name '{name}'", nameof(name));
        if (!_byName.TryGetValue(owner, out var o)) throw new ArgumentException($"tied parameter '{name}' names unknown owner '{owner}'", nameof(owner));
        var e = new ParameterEntry(name, o.Offset, o.Shape, o.TiedTo ?? o.Name);
        _entries.Add(e); _byName[name] = e;
        return e;
    }

    /// <summary>Looks a key up.</summary>
    public bool TryGet(string name, out ParameterEntry entry) => _byName.TryGetValue(name, out entry!);

    /// <summary>Looks a key up; throws a KeyNotFoundException naming the key.</summary>
    public ParameterEntry this[string name] =>
        _byName.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"no parameter named '{name}'");
}
