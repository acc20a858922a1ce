namespace Minimind.Checkpoint;

/// <summary>The container layout of a .pth file.</summary>
public enum PthFormat
{
    /// <summary>The zip archive torch &gt;= 1.6 writes by default.</summary>
    Zip,
    /// <summary>Pickles followed by raw storages (torch &lt; 1.6, or <c>_use_new_zipfile_serialization=False</c>).</summary>
    Legacy,
}

/// <summary>
/// A checkpoint as read by <see cref="PthReader"/>: the unpickled object tree and its storages.
/// Storage bytes stay in the file until a tensor is materialised; the object holds no file handle.
/// </summary>
public sealed class PthFile
{
    /// <summary>Zip or legacy.</summary>
    public required PthFormat Format { get; init; }
    /// <summary>
    /// The unpickled object: <see cref="PickleDict"/> (a <c>Dictionary&lt;object, object?&gt;</c> in insertion order),
    /// <c>List&lt;object?&gt;</c>, <c>object?[]</c> (tuples, torch.Size), <see cref="TorchTensor"/>, <c>long</c>
    /// (or <see cref="System.Numerics.BigInteger"/> beyond 64 bits), <c>double</c>, <c>string</c>, <c>bool</c>, <c>byte[]</c>, null.
    /// </summary>
    public required object? Root { get; init; }
    /// <summary>The file read (or the name given for in-memory bytes).</summary>
    public required string Path { get; init; }
    /// <summary>The zip's top folder (e.g. <c>pretrain_512</c> or <c>archive</c>); null for legacy files.</summary>
    public string? TopFolder { get; init; }
    /// <summary>Every storage the pickle referenced, in order of first reference.</summary>
    public required IReadOnlyList<TorchStorage> Storages { get; init; }
    /// <summary>True when the file's storages are big-endian.</summary>
    public bool BigEndian { get; init; }
    /// <summary>Records of the zip's <c>extra/</c> folder by name (at most <see cref="MaxExtraBytes"/> each; torch.load ignores them).</summary>
    public IReadOnlyDictionary<string, byte[]> Extras { get; init; } = new Dictionary<string, byte[]>();
    /// <summary>The folder inside the top folder that holds extra records.</summary>
    public const string ExtraFolder = "extra";
    /// <summary>Largest extra record read.</summary>
    public const int MaxExtraBytes = 1 << 20;
    /// <summary>The zip's <c>version</c> record (e.g. <c>3</c>), or the legacy protocol version (1001).</summary>
    public string? Version { get; init; }
}
