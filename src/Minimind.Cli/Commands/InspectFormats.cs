using System.Text.Json;
using Minimind.Checkpoint;

namespace Minimind.Cli.Commands;

/// <summary><c>minimind inspect</c> for the non-.pth formats: .safetensors files, HuggingFace folders and GGUF files.</summary>
internal static class InspectFormats
{
    /// <summary>Prints <paramref name="path"/> when it is one of these formats (told by <see cref="CheckpointFormats.Detect"/>,
    /// the same reader every loading command uses, so a broken file gets the same message here); false for a .pth or a
    /// folder without weights.</summary>
    public static bool TryRun(string path, bool json, TextWriter o)
    {
        if (Directory.Exists(path) && !HfFolderReader.IsHfFolder(path)) return false;
        switch (CheckpointFormats.Detect(path))
        {
            case CheckpointFormat.HfFolder:
                var files = HfFolderReader.WeightFiles(path);
                if (!json) o.WriteLine($"{path}: HuggingFace folder ({string.Join(", ", new[] { "config.json" }.Where(f => File.Exists(Path.Combine(path, f))).Concat(files.Select(Path.GetFileName))!)})");
                var sts = files.Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal)).Select(SafetensorsFile.Read).ToList();
                if (json) WriteSafetensorsJson(o, sts, path);
                else foreach (var st in sts) WriteSafetensorsText(o, st);
                return true;
            case CheckpointFormat.Gguf:
                var g = GgufFile.Read(path);
                if (json) WriteGgufJson(o, g); else WriteGgufText(o, g);
                return true;
            case CheckpointFormat.Safetensors:
                var one = SafetensorsFile.Read(path);
                if (json) WriteSafetensorsJson(o, new[] { one }, path); else WriteSafetensorsText(o, one);
                return true;
            default:
                return false;
        }
    }

    private static string Shape(IEnumerable<long> s) => "[" + string.Join(", ", s) + "]";

    private static void WriteSafetensorsText(TextWriter o, SafetensorsFile st)
    {
        o.WriteLine($"{st.Path}: safetensors, header {st.HeaderBytes:N0} bytes, {st.Entries.Count} tensors");
        foreach (var (k, v) in st.Metadata) o.WriteLine($"  metadata {k} = {v}");
        int w = st.Entries.Count == 0 ? 4 : st.Entries.Max(e => e.Name.Length);
        foreach (var e in st.Entries)
            o.WriteLine($"  {e.Name.PadRight(w)}  {SafetensorsDType.Name(e.DType),-4}  {Shape(e.Shape.Select(x => (long)x)),-16}  {e.End - e.Begin,12:N0} bytes  at {e.Begin}");
        long total = st.Entries.Sum(e => e.End - e.Begin), numel = st.Entries.Sum(e => e.Shape.Aggregate(1L, (a, x) => a * x));
        o.WriteLine($"  total: {numel:N0} elements, {total:N0} bytes");
    }

    private static void WriteSafetensorsJson(TextWriter o, IEnumerable<SafetensorsFile> sts, string path)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("path", path);
            j.WriteString("format", "safetensors");
            j.WriteStartArray("files");
            foreach (var st in sts)
            {
                j.WriteStartObject();
                j.WriteString("path", st.Path);
                j.WriteNumber("header_bytes", st.HeaderBytes);
                j.WriteStartObject("metadata");
                foreach (var (k, v) in st.Metadata) j.WriteString(k, v);
                j.WriteEndObject();
                j.WriteStartArray("tensors");
                foreach (var e in st.Entries)
                {
                    j.WriteStartObject();
                    j.WriteString("name", e.Name);
                    j.WriteString("dtype", SafetensorsDType.Name(e.DType));
                    j.WriteStartArray("shape"); foreach (var d in e.Shape) j.WriteNumberValue(d); j.WriteEndArray();
                    j.WriteStartArray("data_offsets"); j.WriteNumberValue(e.Begin); j.WriteNumberValue(e.End); j.WriteEndArray();
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        o.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    private static long Bytes(GgufTensorInfo t) => t.Dims.Aggregate(1L, (a, d) => a * d) * t.Type switch { 0 => 4, 1 or 30 => 2, _ => 0 };

    private static void WriteGgufText(TextWriter o, GgufFile g)
    {
        o.WriteLine($"{g.Path}: GGUF v{g.Version}, {g.Metadata.Count} metadata entries, {g.Tensors.Count} tensors, data at {g.DataStart:N0}");
        int kw = g.Metadata.Count == 0 ? 4 : g.Metadata.Max(m => m.Key.Length);
        foreach (var (k, v) in g.Metadata) o.WriteLine($"  {k.PadRight(kw)}  {v}");
        int w = g.Tensors.Count == 0 ? 4 : g.Tensors.Max(t => t.Name.Length);
        foreach (var t in g.Tensors)
            o.WriteLine($"  {t.Name.PadRight(w)}  {t.TypeName,-5}  ggml {Shape(t.Dims),-16}  torch {Shape(t.Dims.Reverse()),-16}  at {t.Offset}");
        o.WriteLine($"  total: {g.Tensors.Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d)):N0} elements, {g.Length:N0} bytes in the file");
    }

    private static void WriteGgufJson(TextWriter o, GgufFile g)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("path", g.Path);
            j.WriteString("format", "gguf");
            j.WriteNumber("version", g.Version);
            j.WriteStartObject("metadata");
            foreach (var (k, v) in g.Metadata)
            {
                if (v.Value is object[] a) { j.WriteStartObject(k); j.WriteString("type", "array"); j.WriteString("element_type", v.ElementType.ToString().ToLowerInvariant()); j.WriteNumber("length", a.Length); j.WriteEndObject(); }
                else
                    switch (v.Value)
                    {
                        case string s: j.WriteString(k, s); break;
                        case bool b: j.WriteBoolean(k, b); break;
                        case double d: j.WriteNumber(k, d); break;
                        case ulong u: j.WriteNumber(k, u); break;
                        default: j.WriteNumber(k, Convert.ToInt64(v.Value)); break;
                    }
            }
            j.WriteEndObject();
            j.WriteStartArray("tensors");
            foreach (var t in g.Tensors)
            {
                j.WriteStartObject();
                j.WriteString("name", t.Name);
                j.WriteString("type", t.TypeName);
                j.WriteStartArray("shape"); foreach (var d in t.Dims.Reverse()) j.WriteNumberValue(d); j.WriteEndArray();
                j.WriteNumber("offset", t.Offset);
                j.WriteNumber("bytes", Bytes(t));
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        o.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }
}
