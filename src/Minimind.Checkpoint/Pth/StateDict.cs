using System.Collections;

namespace Minimind.Checkpoint;

/// <summary>An ordered name → tensor map: a PyTorch <c>state_dict()</c>.</summary>
public sealed class StateDict : IEnumerable<KeyValuePair<string, TorchTensor>>
{
    private readonly List<string> _keys = new();
    private readonly Dictionary<string, TorchTensor> _map = new(StringComparer.Ordinal);

    /// <summary>The file it was read from, for messages; null for one built in memory.</summary>
    public string? SourcePath { get; init; }

    /// <summary>Extra records of the file (name → bytes, e.g. the architecture record), written back by
    /// <see cref="PthWriter.WriteStateDict"/>; empty for files without them.</summary>
    public IDictionary<string, byte[]> Extras { get; init; } = new Dictionary<string, byte[]>(StringComparer.Ordinal);

    /// <summary>Keys in order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>Number of keys.</summary>
    public int Count => _keys.Count;

    /// <summary>The tensor of <paramref name="key"/>; throws a KeyNotFoundException naming the key and file.</summary>
    public TorchTensor this[string key] => _map.TryGetValue(key, out var t) ? t
        : throw new KeyNotFoundException($"state dict{(SourcePath is null ? "" : " of " + SourcePath)} has no key '{key}'");

    /// <summary>Appends a key (or replaces a key's tensor in place, keeping its position).</summary>
    public void Add(string key, TorchTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_map.ContainsKey(key)) _keys.Add(key);
        _map[key] = tensor;
    }

    /// <summary>Looks a key up.</summary>
    public bool TryGetValue(string key, out TorchTensor tensor) => _map.TryGetValue(key, out tensor!);

    /// <summary>True when the key is present.</summary>
    public bool ContainsKey(string key) => _map.ContainsKey(key);

    /// <summary>Total bytes of the distinct storages (a tied weight counts once).</summary>
    public long StorageBytes => _map.Values.Select(t => t.Storage).Distinct().Sum(s => s.ByteLength);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, TorchTensor>> GetEnumerator()
    {
        foreach (var k in _keys) yield return new(k, _map[k]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The state dict as an <c>OrderedDict</c> object tree for <see cref="PthWriter.Write(string, object)"/>.</summary>
    public PickleDict ToRoot()
    {
        var d = new PickleDict { IsOrderedDict = true };
        foreach (var k in _keys) d[k] = _map[k];
        return d;
    }

    /// <summary>Reads <paramref name="path"/> and finds its state dict (see <see cref="FromRoot"/>): a .pth (with its
    /// extra records), a <c>.safetensors</c> file (its <c>__metadata__</c> records as extras), or a HuggingFace folder
    /// (<see cref="HfFolderReader"/>). The format is told by content (<see cref="CheckpointFormats.Detect"/>); a GGUF
    /// file is refused saying what it is.</summary>
    public static StateDict Read(string path) => Read(path, CheckpointFormats.Detect(path));

    /// <summary>As <see cref="Read(string)"/> for a file whose format is known.</summary>
    public static StateDict Read(string path, CheckpointFormat format)
    {
        switch (format)
        {
            case CheckpointFormat.HfFolder: return HfFolderReader.Read(path);
            case CheckpointFormat.Safetensors: return SafetensorsFile.Read(path).ToStateDict();
            case CheckpointFormat.Gguf: throw new InvalidDataException(CheckpointFormats.GgufIsNotACheckpoint(path));
        }
        return FromPth(PthReader.Read(path));
    }

    /// <summary>The state dict of a read .pth (<see cref="FromRoot"/>) with the file's extra records.</summary>
    public static StateDict FromPth(PthFile f)
    {
        var sd = FromRoot(f.Root, f.Path);
        foreach (var kv in f.Extras) sd.Extras[kv.Key] = kv.Value;
        return sd;
    }

    /// <summary>True when the keys have been normalised (<see cref="WithNormalizedKeys"/>).</summary>
    public bool KeysNormalized { get; private init; }

    /// <summary>For a normalised dict: each key whose name changed, as (key in the file, normalised key).</summary>
    public IReadOnlyList<(string From, string To)> Renamed { get; private init; } = Array.Empty<(string, string)>();

    private IReadOnlyDictionary<string, string>? _fileKeys;

    /// <summary>The key as the file spells it (differs from <paramref name="key"/> only in a normalised dict).</summary>
    public string FileKey(string key) => _fileKeys is not null && _fileKeys.TryGetValue(key, out var k) ? k : key;

    /// <summary>
    /// The same tensors under normalised keys (<see cref="StateDictLoader.NormalizeKey"/>: torch.compile/DDP prefixes
    /// stripped), in the same order, with the same extras; this dict itself when already normalised. Throws a
    /// <see cref="PthFormatException"/> when two keys become one.
    /// </summary>
    public StateDict WithNormalizedKeys()
    {
        if (KeysNormalized) return this;
        var renamed = new List<(string, string)>();
        var fileKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        var n = new StateDict { SourcePath = SourcePath, Extras = Extras, KeysNormalized = true, Renamed = renamed, _fileKeys = fileKeys };
        foreach (var key in _keys)
        {
            var k = StateDictLoader.NormalizeKey(key);
            if (fileKeys.TryGetValue(k, out var other))
                throw new PthFormatException($"{SourcePath ?? "state dict"}: keys '{other}' and '{key}' both name parameter '{k}'");
            fileKeys[k] = key;
            if (k != key) renamed.Add((key, k));
            n.Add(k, _map[key]);
        }
        return n;
    }

    /// <summary>
    /// Finds the tensor dict in an unpickled tree: the root itself when it maps strings to tensors,
    /// otherwise the root's <c>'model'</c> (a resume dict), <c>'state_dict'</c> or <c>'model_state_dict'</c> entry.
    /// Throws a <see cref="PthFormatException"/> listing what the root holds when there is none.
    /// </summary>
    public static StateDict FromRoot(object? root, string? path = null)
    {
        if (TryConvert(root, path, out var sd)) return sd;
        if (root is PickleDict d)
            foreach (var name in new[] { "model", "state_dict", "model_state_dict", "module" })
                if (d.TryGetValue(name, out var inner) && TryConvert(inner, path, out sd)) return sd;
        string what = root is PickleDict rd
            ? "a dict with keys [" + string.Join(", ", rd.Keys.Take(12).Select(k => k is string s ? $"'{s}'" : k.ToString())) + (rd.Count > 12 ? ", ..." : "") + "]"
            : root?.GetType().Name ?? "None";
        throw new PthFormatException($"{path ?? "checkpoint"}: no state dict found (the root is {what}; expected a dict of tensors or a resume dict with a 'model' entry)");
    }

    private static bool TryConvert(object? o, string? path, out StateDict sd)
    {
        sd = null!;
        if (o is not PickleDict d || d.Count == 0) return false;
        foreach (var kv in d) if (kv.Key is not string || kv.Value is not TorchTensor) return false;
        sd = new StateDict { SourcePath = path };
        foreach (var kv in d) sd.Add((string)kv.Key, (TorchTensor)kv.Value!);
        return true;
    }
}
