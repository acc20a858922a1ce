using System.Buffers;
using System.Security.Cryptography;
using MessagePack;

namespace Minimind.Checkpoint.Resume;

/// <summary>One file of a resume-state folder: its name, byte length and SHA-256.</summary>
public sealed record ResumeFileEntry(string Name, long Length, byte[] Sha256)
{
    /// <summary>The hash as lower-case hex (for messages).</summary>
    public string HashHex => Convert.ToHexStringLower(Sha256);
}

/// <summary>
/// The commit mark of a resume-state folder, written last: format version, optimizer step, and the
/// length and SHA-256 of every other file. Encoded as a MessagePack map followed by the SHA-256 of
/// that map, so a truncated or altered manifest is detected like any other damaged file.
/// </summary>
public sealed class ResumeManifest
{
    /// <summary>Version of this layout; readers refuse newer ones.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Layout version the folder was written with.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;
    /// <summary>Optimizer steps completed when the state was taken.</summary>
    public long Step { get; init; }
    /// <summary>UTC time of the write, ISO 8601 (informational).</summary>
    public string CreatedUtc { get; init; } = "";
    /// <summary>Every file of the folder except the manifest itself.</summary>
    public IReadOnlyList<ResumeFileEntry> Files { get; init; } = Array.Empty<ResumeFileEntry>();

    /// <summary>Encodes the manifest: MessagePack map, then 32 bytes of SHA-256 over the map.</summary>
    public byte[] Serialize()
    {
        var buf = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buf);
        w.WriteMapHeader(4);
        w.Write("format_version"); w.Write(FormatVersion);
        w.Write("step"); w.Write(Step);
        w.Write("created_utc"); w.Write(CreatedUtc);
        w.Write("files"); w.WriteArrayHeader(Files.Count);
        foreach (var f in Files)
        {
            w.WriteMapHeader(3);
            w.Write("name"); w.Write(f.Name);
            w.Write("length"); w.Write(f.Length);
            w.Write("sha256"); w.Write(f.Sha256);
        }
        w.Flush();
        var body = buf.WrittenSpan;
        var r = new byte[body.Length + 32];
        body.CopyTo(r);
        SHA256.HashData(body, r.AsSpan(body.Length));
        return r;
    }

    /// <summary>Decodes and checks a manifest; throws InvalidDataException naming <paramref name="source"/> when damaged.</summary>
    public static ResumeManifest Deserialize(byte[] data, string source)
    {
        if (data.Length < 33) throw new InvalidDataException($"{source}: manifest is truncated ({data.Length} bytes)");
        var body = data.AsMemory(0, data.Length - 32);
        Span<byte> h = stackalloc byte[32];
        SHA256.HashData(body.Span, h);
        if (!h.SequenceEqual(data.AsSpan(data.Length - 32))) throw new InvalidDataException($"{source}: manifest checksum does not match (damaged or truncated)");
        try
        {
            var r = new MessagePackReader(body);
            int n = r.ReadMapHeader();
            int version = 0; long step = -1; string created = ""; var files = new List<ResumeFileEntry>();
            for (int i = 0; i < n; i++)
            {
                switch (r.ReadString())
                {
                    case "format_version": version = r.ReadInt32(); break;
                    case "step": step = r.ReadInt64(); break;
                    case "created_utc": created = r.ReadString() ?? ""; break;
                    case "files":
                        int count = r.ReadArrayHeader();
                        for (int j = 0; j < count; j++)
                        {
                            int m = r.ReadMapHeader();
                            string name = ""; long len = -1; byte[] sha = Array.Empty<byte>();
                            for (int k = 0; k < m; k++)
                            {
                                switch (r.ReadString())
                                {
                                    case "name": name = r.ReadString() ?? ""; break;
                                    case "length": len = r.ReadInt64(); break;
                                    case "sha256": sha = r.ReadBytes()?.ToArray() ?? Array.Empty<byte>(); break;
                                    default: r.Skip(); break;
                                }
                            }
                            if (name.Length == 0 || len < 0 || sha.Length != 32) throw new InvalidDataException($"{source}: file entry {j} is incomplete");
                            files.Add(new ResumeFileEntry(name, len, sha));
                        }
                        break;
                    default: r.Skip(); break;
                }
            }
            if (version < 1 || version > CurrentFormatVersion) throw new InvalidDataException($"{source}: manifest format version {version} is not supported (this build reads {CurrentFormatVersion})");
            if (step < 0) throw new InvalidDataException($"{source}: manifest has no step");
            return new ResumeManifest { FormatVersion = version, Step = step, CreatedUtc = created, Files = files };
        }
        catch (MessagePackSerializationException e)
        {
            throw new InvalidDataException($"{source}: manifest is not valid MessagePack: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{source}: manifest is truncated: {e.Message}", e);
        }
    }
}
