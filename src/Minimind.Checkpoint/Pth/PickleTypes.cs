namespace Minimind.Checkpoint;

/// <summary>
/// A Python dict or <c>collections.OrderedDict</c> read from a pickle. Keys keep insertion order
/// (the unpickler never removes entries, and <see cref="Dictionary{TKey,TValue}"/> enumerates
/// insertion order when nothing was removed); ints are <c>long</c>, strings <c>string</c>.
/// </summary>
public sealed class PickleDict : Dictionary<object, object?>
{
    /// <summary>True for <c>collections.OrderedDict</c> (what <c>state_dict()</c> returns), false for a plain dict.</summary>
    public bool IsOrderedDict { get; init; }
}

/// <summary>An allow-listed global that stayed a value in the tree (e.g. <c>torch.Tensor</c> as a type argument).</summary>
/// <param name="Module">The module, e.g. <c>torch</c>.</param>
/// <param name="Name">The attribute, e.g. <c>Tensor</c>.</param>
public sealed record PickleGlobal(string Module, string Name)
{
    /// <summary><c>module.name</c>.</summary>
    public override string ToString() => Module + "." + Name;
}

/// <summary>A storage class global (<c>torch.FloatStorage</c>, <c>torch.UntypedStorage</c>) as it appears in a persistent id.</summary>
internal sealed record StorageClassRef(TorchDType DType, bool Untyped, string Name);

/// <summary>What a persistent id resolves to: a storage, the dtype the pid declared, and (legacy views) an element offset.</summary>
internal sealed record StorageRef(TorchStorage Storage, TorchDType DType, long ElementOffset);
