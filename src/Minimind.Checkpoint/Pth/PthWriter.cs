using System.Buffers;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// Writes .pth files that <c>torch.load(path, weights_only=True)</c> (torch 1.13 and 2.x) accepts:
/// torch's zip layout with 64-byte aligned stored records and a protocol-2 pickle of
/// <c>_rebuild_tensor_v2</c> tensors; shared storages are written once. File writes are atomic.
/// </summary>
public static class PthWriter
{
    /// <summary>
    /// Writes <paramref name="root"/> (nested <see cref="PickleDict"/>/IDictionary, lists, <c>object?[]</c>
    /// tuples, ints, floats, strings, bools, null, <see cref="TorchTensor"/>, <see cref="StateDict"/>)
    /// to <paramref name="path"/> atomically. The zip's top folder is the file's stem, as torch names it.
    /// </summary>
    public static void Write(string path, object root) => Write(path, root, null);

    /// <summary>As <see cref="Write(string, object)"/>, adding <paramref name="extras"/> as records of the zip's
    /// <c>extra/</c> folder (torch.load ignores them; <see cref="PthFile.Extras"/> reads them back).</summary>
    public static void Write(string path, object root, IEnumerable<KeyValuePair<string, byte[]>>? extras)
    {
        // Pickle first: an unsupported object fails before any file is touched.
        var top = Path.GetFileNameWithoutExtension(path);
        if (string.IsNullOrWhiteSpace(top)) top = "archive";
        var (pkl, storages) = Pickle(root);
        long payload = pkl.Length + storages.Sum(x => x.storage.ByteLength); // a lower bound of the file size
        var ex = CheckExtras(extras);
        AtomicFile.Write(path, s => WriteArchive(s, top, pkl, storages, ex), payload);
    }

    /// <summary>Writes a state dict as torch's <c>OrderedDict</c> (atomic), with its <see cref="StateDict.Extras"/>.</summary>
    public static void WriteStateDict(string path, StateDict sd) => Write(path, sd.ToRoot(), sd.Extras);

    private static List<KeyValuePair<string, byte[]>> CheckExtras(IEnumerable<KeyValuePair<string, byte[]>>? extras)
    {
        var list = extras?.ToList() ?? new();
        foreach (var (name, bytes) in list)
            if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || bytes.Length > PthFile.MaxExtraBytes)
                throw new ArgumentException($"extra record '{name}' must be a plain name of at most {PthFile.MaxExtraBytes} bytes", nameof(extras));
        return list;
    }

    /// <summary>Writes the archive to any stream (not atomic), with top folder <paramref name="topFolder"/>.</summary>
    public static void Write(Stream stream, object root, string topFolder = "archive") => Write(stream, root, topFolder, 0xFFFFFFFF);

    /// <summary>As above; records and offsets at or above <paramref name="zip64Threshold"/> get zip64 fields (tests use 0).</summary>
    internal static void Write(Stream stream, object root, string topFolder, long zip64Threshold)
    {
        var (pkl, storages) = Pickle(root);
        WriteArchive(stream, topFolder, pkl, storages, new(), zip64Threshold);
    }

    private static (byte[], List<(TorchStorage storage, string key, TorchDType dtype)>) Pickle(object root)
    {
        var p = new Pickler();
        var bytes = p.Dump(root);
        return (bytes, p.Storages);
    }

    private static void WriteArchive(Stream s, string top, byte[] pkl, List<(TorchStorage storage, string key, TorchDType dtype)> storages,
        List<KeyValuePair<string, byte[]>> extras, long zip64Threshold = 0xFFFFFFFF)
    {
        var z = new TorchZipWriter(s, zip64Threshold);
        z.AddEntry(top + "/data.pkl", pkl);
        z.AddEntry(top + "/byteorder", Encoding.ASCII.GetBytes("little"));
        byte[]? buf = null;
        try
        {
            foreach (var (st, key, dtype) in storages)
            {
                z.BeginEntry($"{top}/data/{key}");
                if (!st.BigEndian && st.TryGetSpan(0, st.ByteLength, out var span)) z.Write(span);
                else
                {
                    // File-backed or byte-swapped storages stream through one bounded buffer.
                    buf ??= ArrayPool<byte>.Shared.Rent(1 << 22);
                    int chunk = buf.Length - buf.Length % 8;
                    for (long off = 0; off < st.ByteLength; off += chunk)
                    {
                        int n = (int)Math.Min(chunk, st.ByteLength - off);
                        st.ReadLittleEndian(off, buf.AsSpan(0, n), dtype.ElementSize());
                        z.Write(buf.AsSpan(0, n));
                    }
                }
                z.EndEntry();
            }
        }
        finally { if (buf is not null) ArrayPool<byte>.Shared.Return(buf); }
        foreach (var (name, bytes) in extras) z.AddEntry($"{top}/{PthFile.ExtraFolder}/{name}", bytes);
        z.AddEntry(top + "/version", Encoding.ASCII.GetBytes("3\n"));
        z.Finish();
    }
}
