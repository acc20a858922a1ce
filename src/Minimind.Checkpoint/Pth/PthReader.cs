using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// Reads PyTorch checkpoints (<c>torch.save</c> output) of either layout without Python:
/// the zip archive (torch &gt;= 1.6) and the legacy stream (torch &lt; 1.6). Only the pickle subset
/// that <c>torch.load(weights_only=True)</c> accepts is executed. Any malformed, truncated or unsafe
/// input raises <see cref="PthFormatException"/> naming the file.
/// </summary>
public static class PthReader
{
    /// <summary>Largest <c>data.pkl</c> accepted (state dicts of huge models pickle to a few MB).</summary>
    public const long MaxPickleBytes = 1L << 30;

    private static readonly BigInteger LegacyMagic = BigInteger.Parse("01950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);

    /// <summary>Reads a checkpoint file. Storage bytes are read later, when tensors are materialised.</summary>
    public static PthFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        return Read(ByteSource.FromFile(path), path);
    }

    /// <summary>Reads a checkpoint held in memory; <paramref name="name"/> is used in messages.</summary>
    public static PthFile ReadBytes(byte[] content, string name) => Read(ByteSource.FromArray(content, name), name);

    private static PthFile Read(ByteSource src, string path)
    {
        var head = new byte[(int)Math.Min(src.Length, 512)];
        src.Read(0, head);
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return ReadZip(src, path);
        if (head.Length >= 262 && Encoding.ASCII.GetString(head, 257, 5) == "ustar")
            throw new PthFormatException($"{path}: this is the tar layout of torch < 0.4, which is not supported; load and re-save it with a newer torch");
        if (head.Length >= 4 && head[0] == 0x80 && head[1] == 2 && head[2] == 0x8a) return ReadLegacy(src, path);
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K') throw new PthFormatException($"{path}: zip archive does not start with a local file header");
        throw new PthFormatException($"{path}: not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream; first bytes {Convert.ToHexString(head.AsSpan(0, Math.Min(8, head.Length)))})");
    }

    private static PthFile ReadZip(ByteSource src, string path)
    {
        var zip = ZipDirectory.Open(src, path);
        var first = zip.Entries[0].Name;
        int slash = first.IndexOf('/');
        if (slash <= 0) throw new PthFormatException($"{path}: zip entry '{first}' is not inside a top folder, so this is not a torch archive");
        string top = first[..slash];
        var pkl = zip.Find(top + "/data.pkl") ?? throw new PthFormatException($"{path}: archive has no '{top}/data.pkl' record");
        bool big = false;
        if (zip.Find(top + "/byteorder") is { } bo)
        {
            var order = Encoding.ASCII.GetString(zip.ReadAll(bo, 16)).Trim();
            big = order switch
            {
                "little" => false,
                "big" => true,
                _ => throw new PthFormatException($"{path}: byteorder record says '{order}'"),
            };
        }
        string? version = zip.Find(top + "/version") is { } ve ? Encoding.ASCII.GetString(zip.ReadAll(ve, 64)).Trim() : null;
        var storages = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var order2 = new List<TorchStorage>();
        StorageRef Resolve(object?[] pid)
        {
            var (cls, key, numel) = ParsePid(pid, 5, path);
            long bytes = ByteCount(numel, cls.DType, key, path);
            if (!storages.TryGetValue(key, out var st))
            {
                var entry = zip.Find($"{top}/data/{key}") ?? throw new PthFormatException($"{path}: storage '{key}' has no record '{top}/data/{key}'");
                if (entry.Size != bytes)
                    throw new PthFormatException($"{path}: record '{entry.Name}' holds {entry.Size} bytes but the pickle declares {numel} × {cls.DType.TorchName()} = {bytes} bytes");
                st = new TorchStorage(key, cls.DType, bytes, zip.Open(entry), big);
                storages[key] = st; order2.Add(st);
            }
            else if (st.ByteLength != bytes)
                throw new PthFormatException($"{path}: storage '{key}' is declared with {bytes} bytes here and {st.ByteLength} elsewhere");
            return new StorageRef(st, cls.DType, 0);
        }
        var buf = zip.ReadAll(pkl, MaxPickleBytes);
        var up = new Unpickler(buf, 0, buf.Length, false, path, Resolve);
        var root = up.Load();
        // Small records under <top>/extra/ (torch ignores them): e.g. the architecture record this project writes.
        var extras = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string extraPrefix = top + "/" + PthFile.ExtraFolder + "/";
        foreach (var e in zip.Entries)
            if (e.Name.StartsWith(extraPrefix, StringComparison.Ordinal) && e.Name.Length > extraPrefix.Length && e.Size <= PthFile.MaxExtraBytes)
                extras[e.Name[extraPrefix.Length..]] = zip.ReadAll(e, PthFile.MaxExtraBytes);
        return new PthFile { Format = PthFormat.Zip, Root = root, Path = path, TopFolder = top, Storages = order2, BigEndian = big, Version = version, Extras = extras };
    }

    private static (StorageClassRef cls, string key, long numel) ParsePid(object?[] pid, int minLength, string path)
    {
        if (pid.Length < minLength || pid.Length > 6) throw new PthFormatException($"persistent id has {pid.Length} fields");
        if (pid[1] is not StorageClassRef cls) throw new PthFormatException("persistent id does not name a storage class");
        if (pid[2] is not string key || key.Length == 0 || key.Length > 256 || key.Contains('/')) throw new PthFormatException("persistent id storage key is not a plain string");
        if (pid[3] is not string) throw new PthFormatException("persistent id location is not a string");
        if (pid[4] is not long numel || numel < 0) throw new PthFormatException($"persistent id of storage '{key}' has a bad element count");
        return (cls, key, numel);
    }

    private static long ByteCount(long numel, TorchDType dt, string key, string path)
    {
        int es = dt.ElementSize();
        if (numel > long.MaxValue / es) throw new PthFormatException($"{path}: storage '{key}' declares {numel} elements");
        return numel * es;
    }

    private static PthFile ReadLegacy(ByteSource src, string path)
    {
        long size = Math.Min(src.Length, 1 << 20);
        while (true)
        {
            var buf = new byte[size];
            src.Read(0, buf);
            try { return ParseLegacy(src, path, buf, size < src.Length); }
            catch (Unpickler.NeedMoreDataException)
            {
                if (size >= src.Length) throw new PthFormatException($"{path}: legacy pickle is truncated");
                if (size >= MaxPickleBytes) throw new PthFormatException($"{path}: legacy pickles exceed {MaxPickleBytes} bytes");
                size = Math.Min(src.Length, size * 4);
            }
        }
    }

    private static PthFile ParseLegacy(ByteSource src, string path, byte[] buf, bool isPrefix)
    {
        int pos = 0;
        object? Next(Unpickler.PersistentLoader? loader = null)
        {
            var up = new Unpickler(buf, pos, buf.Length, isPrefix, path, loader ?? (_ => throw new PthFormatException("unexpected persistent id in a legacy header pickle")));
            var v = up.Load();
            pos = up.Position;
            return v;
        }
        if (Next() is not BigInteger magic || magic != LegacyMagic) throw new PthFormatException($"{path}: legacy magic number is wrong (not a torch file)");
        if (Next() is not long proto || proto != 1001) throw new PthFormatException($"{path}: legacy protocol version is not 1001");
        if (Next() is not PickleDict sysInfo) throw new PthFormatException($"{path}: legacy sys_info is not a dict");
        bool big = sysInfo.TryGetValue("little_endian", out var le) && le is false;
        var storages = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var order = new List<TorchStorage>();
        StorageRef Resolve(object?[] pid)
        {
            var (cls, key, numel) = ParsePid(pid, 6, path);
            if (cls.Untyped) throw new PthFormatException($"{path}: untyped storage in a legacy file");
            long bytes = ByteCount(numel, cls.DType, key, path);
            if (bytes > src.Length) throw new PthFormatException($"{path}: storage '{key}' declares {bytes} bytes, more than the file holds");
            if (!storages.TryGetValue(key, out var st))
            {
                st = new TorchStorage(key, cls.DType, bytes, null, big);
                storages[key] = st; order.Add(st);
            }
            else if (st.ByteLength != bytes || st.DType != cls.DType)
                throw new PthFormatException($"{path}: storage '{key}' is declared twice with different sizes or types");
            long viewOffset = 0;
            if (pid[5] is object?[] view)
            {
                // Old storage views: (view_key, offset, size) into the root storage; fold the offset into the tensor.
                if (view.Length != 3 || view[1] is not long off || view[2] is not long vsize || off < 0 || vsize < 0 || off > numel - vsize)
                    throw new PthFormatException($"{path}: storage view metadata of '{key}' is malformed");
                viewOffset = off;
            }
            else if (pid[5] is not null) throw new PthFormatException($"{path}: storage view metadata of '{key}' is malformed");
            return new StorageRef(st, cls.DType, viewOffset);
        }
        var root = Next(Resolve);
        if (Next() is not List<object?> keys) throw new PthFormatException($"{path}: legacy storage key list is missing");
        long p = pos;
        var hdr = new byte[8];
        foreach (var k in keys)
        {
            if (k is not string key || !storages.TryGetValue(key, out var st))
                throw new PthFormatException($"{path}: legacy data section names storage '{k}' that no tensor uses");
            if (st.Source is not null) throw new PthFormatException($"{path}: legacy data section lists storage '{key}' twice");
            if (p > src.Length - 8) throw new PthFormatException($"{path}: file ends before the data of storage '{key}'");
            src.Read(p, hdr);
            long n = big ? BinaryPrimitives.ReadInt64BigEndian(hdr) : BinaryPrimitives.ReadInt64LittleEndian(hdr);
            if (n != st.ElementCount) throw new PthFormatException($"{path}: storage '{key}' has {n} elements in the data section but {st.ElementCount} in the pickle");
            st.Source = src.Slice(p + 8, st.ByteLength);
            p += 8 + st.ByteLength;
        }
        foreach (var st in order)
            if (st.Source is null) throw new PthFormatException($"{path}: storage '{st.Key}' is missing from the legacy data section");
        return new PthFile { Format = PthFormat.Legacy, Root = root, Path = path, Storages = order, BigEndian = big, Version = "1001" };
    }
}
