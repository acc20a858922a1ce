using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Minimind.Checkpoint;

namespace Minimind.Cli.Commands;

/// <summary><c>minimind inspect FILE [--json]</c>: lists what a .pth holds without loading any tensor data.</summary>
public sealed class InspectCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "inspect";

    /// <inheritdoc/>
    public string Summary => "List the keys, dtypes, shapes and storages of a .pth, .safetensors, GGUF file or HF folder";

    /// <summary><c>--json</c>.</summary>
    public static readonly CliOption<bool> Json = Opt.Flag("json", "print one JSON object instead of text (for scripts)");

    /// <summary>Everything <c>minimind inspect</c> accepts.</summary>
    public static readonly OptionTable Table = new("inspect",
        new[] { "inspect FILE [--json]", "inspect FOLDER" },
        """
        Reads a PyTorch checkpoint (zip format of torch >= 1.6, or the legacy format) without Python and
        prints: the container format and top folder, every tensor with its path, dtype, shape, storage key
        and bytes, the totals, and the nested structure of resume files (model / optimizer / epoch ...).
        Only the subset of pickle that torch.load(weights_only=True) accepts is executed; anything else is
        refused with the offending global or opcode and its byte offset. Tensor data is not read.
        A .safetensors file (header, __metadata__, every tensor's dtype, shape and byte range), a GGUF file
        (version, every metadata key with its value, tensors with ggml and PyTorch shapes) and a HuggingFace
        folder (its model.safetensors shards) are recognised by their content and listed the same way.
        For a weight file this project wrote, the architecture record (extra/minimind.json) is printed too.
        On a training folder (a run's checkpoint folder, one step folder, or an --out-dir) it lists every
        step_NNNNNN checkpoint: whether its manifest and checksums verify, its step, epoch, tokens and losses,
        and the one 'train --resume' would take (the newest that verifies).
        """,
        new[] { new OptionGroup("Options", Json) },
        new[] { "inspect out/pretrain_512.pth", "inspect model.gguf", "inspect minimind-3/", "inspect checkpoints/pretrain_512_resume.pth --json > layout.json", "inspect out/checkpoints/pretrain_512" });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind inspect</c> command line asks for.</summary>
    public sealed record Settings(string Path, bool Json);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        var s = new Settings(args.Positional("FILE"), args.Get(Json));
        args.EnsureAllUsed();
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var (path, json) = Bind(args);
        if (Directory.Exists(path) && CheckpointFolderReport.Handles(path)) return CheckpointFolderReport.Run(path, Console.Out);
        if (InspectFormats.TryRun(path, json, Console.Out)) return 0; // .safetensors, GGUF, HF folders (by content)
        var pth = PthReader.Read(path);
        var tensors = new List<(string path, TorchTensor t)>();
        Collect(pth.Root, "", tensors);
        if (json) WriteJson(Console.Out, pth, tensors);
        else WriteText(Console.Out, pth, tensors);
        return 0;
    }

    private static string Seg(object k) => k switch { string s => s, _ => Convert.ToString(k, CultureInfo.InvariantCulture) ?? "?" };
    private static string Join(string p, string s) => p.Length == 0 ? s : p + "/" + s;

    private static void Collect(object? o, string path, List<(string, TorchTensor)> acc)
    {
        switch (o)
        {
            case TorchTensor t: acc.Add((path, t)); break;
            case PickleDict d: foreach (var kv in d) Collect(kv.Value, Join(path, Seg(kv.Key)), acc); break;
            case List<object?> l: for (int i = 0; i < l.Count; i++) Collect(l[i], Join(path, i.ToString(CultureInfo.InvariantCulture)), acc); break;
            case object?[] a: for (int i = 0; i < a.Length; i++) Collect(a[i], Join(path, i.ToString(CultureInfo.InvariantCulture)), acc); break;
        }
    }

    private static string Bytes(long b) => b switch
    {
        < 1024 => $"{b} B",
        < 1 << 20 => $"{b / 1024.0:F1} KiB",
        < 1 << 30 => $"{b / 1048576.0:F1} MiB",
        _ => $"{b / 1073741824.0:F2} GiB",
    };

    private static string Scalar(object? o) => o switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long v => v.ToString(CultureInfo.InvariantCulture),
        BigInteger v => v.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => "'" + s + "'",
        byte[] b => $"bytes[{b.Length}]",
        TorchDType t => t.TorchName(),
        PickleGlobal g => g.ToString(),
        _ => o.GetType().Name,
    };

    private static void WriteText(TextWriter w, PthFile pth, List<(string path, TorchTensor t)> tensors)
    {
        w.WriteLine($"file:      {pth.Path} ({Bytes(new FileInfo(pth.Path).Length)})");
        w.WriteLine(pth.Format == PthFormat.Zip
            ? $"format:    zip (torch >= 1.6), top folder '{pth.TopFolder}', version {pth.Version ?? "?"}, {(pth.BigEndian ? "big" : "little")}-endian"
            : $"format:    legacy (torch < 1.6), protocol {pth.Version}, {(pth.BigEndian ? "big" : "little")}-endian");
        long tensorBytes = tensors.Sum(x => x.t.ByteLength);
        long storageBytes = pth.Storages.Sum(s => s.ByteLength);
        long elements = tensors.Sum(x => x.t.Numel);
        var byType = tensors.GroupBy(x => x.t.DType).Select(g => $"{g.Key.ShortName()} x{g.Count()}");
        w.WriteLine($"tensors:   {tensors.Count} ({string.Join(", ", byType)}), {elements:N0} elements, {Bytes(tensorBytes)}");
        w.WriteLine($"storages:  {pth.Storages.Count}, {Bytes(storageBytes)}{(tensors.Count > pth.Storages.Count ? " (some tensors share a storage: tied weights or views)" : "")}");
        foreach (var (name, bytes) in pth.Extras)
            w.WriteLine($"extra:     {name} ({bytes.Length} bytes){(name == Minimind.Model.ArchitectureRecord.RecordName ? ": " + System.Text.Encoding.UTF8.GetString(bytes).ReplaceLineEndings(" ") : "")}");
        w.WriteLine();
        w.WriteLine("structure:");
        Tree(w, pth.Root, "  ", null);
        w.WriteLine();
        if (tensors.Count == 0) return;
        int kw = Math.Min(60, Math.Max(4, tensors.Max(x => x.path.Length)));
        w.WriteLine($"  {"key".PadRight(kw)}  {"dtype",-5}  {"shape",-16}  {"storage",-7}  bytes");
        var seen = new Dictionary<TorchStorage, string>(ReferenceEqualityComparer.Instance);
        foreach (var (p, t) in tensors)
        {
            string note = "";
            if (seen.TryGetValue(t.Storage, out var first)) note = $"  (shares storage with {first})";
            else seen[t.Storage] = p;
            if (!t.IsContiguous || t.StorageOffset != 0) note += $"  (view: offset {t.StorageOffset}, stride [{string.Join(", ", t.Stride)}])";
            w.WriteLine($"  {p.PadRight(kw)}  {t.DType.ShortName(),-5}  {t.ShapeText,-16}  {t.StorageKey,-7}  {t.ByteLength:N0}{note}");
        }
        w.WriteLine($"  total: {tensors.Count} tensors, {elements:N0} elements, {tensorBytes:N0} bytes in tensors, {storageBytes:N0} bytes in {pth.Storages.Count} storages");
    }

    // The nested structure: containers expand, runs of tensors inside a dict are summarised.
    private static void Tree(TextWriter w, object? o, string indent, string? label)
    {
        string head = label is null ? indent : $"{indent}{label}: ";
        switch (o)
        {
            case PickleDict d:
                {
                    int nt = d.Values.Count(v => v is TorchTensor);
                    string kind = d.IsOrderedDict ? "OrderedDict" : "dict";
                    if (nt == d.Count && nt > 0)
                    {
                        long bytes = d.Values.Cast<TorchTensor>().Sum(t => t.ByteLength);
                        w.WriteLine($"{head}{kind} of {nt} tensors ({Bytes(bytes)})");
                        return;
                    }
                    w.WriteLine($"{head}{kind} ({d.Count} entries)");
                    foreach (var kv in d) Tree(w, kv.Value, indent + "  ", kv.Key is string s ? s : Scalar(kv.Key));
                    return;
                }
            case List<object?> l:
                if (l.All(x => x is not (PickleDict or List<object?> or object?[] or TorchTensor)))
                    w.WriteLine($"{head}[{string.Join(", ", l.Take(12).Select(Scalar))}{(l.Count > 12 ? $", ... ({l.Count} items)" : "")}]");
                else
                {
                    w.WriteLine($"{head}list ({l.Count} items)");
                    for (int i = 0; i < l.Count; i++) Tree(w, l[i], indent + "  ", $"[{i}]");
                }
                return;
            case object?[] a:
                if (a.All(x => x is not (PickleDict or List<object?> or object?[] or TorchTensor)))
                    w.WriteLine($"{head}({string.Join(", ", a.Select(Scalar))}{(a.Length == 1 ? "," : "")})");
                else
                {
                    w.WriteLine($"{head}tuple ({a.Length} items)");
                    for (int i = 0; i < a.Length; i++) Tree(w, a[i], indent + "  ", $"[{i}]");
                }
                return;
            case TorchTensor t:
                w.WriteLine($"{head}tensor {t.DType.ShortName()} {t.ShapeText}");
                return;
            default:
                w.WriteLine($"{head}{Scalar(o)}");
                return;
        }
    }

    private static void WriteJson(TextWriter tw, PthFile pth, List<(string path, TorchTensor t)> tensors)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("file", pth.Path);
            w.WriteNumber("file_bytes", new FileInfo(pth.Path).Length);
            w.WriteString("format", pth.Format == PthFormat.Zip ? "zip" : "legacy");
            if (pth.TopFolder is null) w.WriteNull("top_folder"); else w.WriteString("top_folder", pth.TopFolder);
            w.WriteString("version", pth.Version);
            w.WriteString("byte_order", pth.BigEndian ? "big" : "little");
            w.WriteStartArray("tensors");
            foreach (var (p, t) in tensors)
            {
                w.WriteStartObject();
                w.WriteString("key", p);
                w.WriteString("dtype", t.DType.ShortName());
                w.WriteStartArray("shape"); foreach (var d in t.Shape) w.WriteNumberValue(d); w.WriteEndArray();
                w.WriteStartArray("stride"); foreach (var d in t.Stride) w.WriteNumberValue(d); w.WriteEndArray();
                w.WriteNumber("storage_offset", t.StorageOffset);
                w.WriteString("storage_key", t.StorageKey);
                w.WriteNumber("numel", t.Numel);
                w.WriteNumber("bytes", t.ByteLength);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("storages");
            foreach (var s in pth.Storages)
            {
                w.WriteStartObject();
                w.WriteString("key", s.Key); w.WriteString("dtype", s.DType.ShortName()); w.WriteNumber("bytes", s.ByteLength);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("tensor_count", tensors.Count);
            w.WriteNumber("total_elements", tensors.Sum(x => x.t.Numel));
            w.WriteNumber("total_tensor_bytes", tensors.Sum(x => x.t.ByteLength));
            w.WriteNumber("total_storage_bytes", pth.Storages.Sum(s => s.ByteLength));
            w.WritePropertyName("structure");
            JsonTree(w, pth.Root, "");
            w.WriteEndObject();
        }
        tw.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    private static void JsonTree(Utf8JsonWriter w, object? o, string path)
    {
        switch (o)
        {
            case PickleDict d:
                w.WriteStartObject();
                w.WriteString("$type", d.IsOrderedDict ? "OrderedDict" : "dict");
                foreach (var kv in d) { w.WritePropertyName(Seg(kv.Key)); JsonTree(w, kv.Value, Join(path, Seg(kv.Key))); }
                w.WriteEndObject();
                break;
            case List<object?> l:
                w.WriteStartArray();
                for (int i = 0; i < l.Count; i++) JsonTree(w, l[i], Join(path, i.ToString(CultureInfo.InvariantCulture)));
                w.WriteEndArray();
                break;
            case object?[] a:
                w.WriteStartObject();
                w.WriteString("$type", "tuple");
                w.WriteStartArray("items");
                for (int i = 0; i < a.Length; i++) JsonTree(w, a[i], Join(path, i.ToString(CultureInfo.InvariantCulture)));
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case TorchTensor t: w.WriteStringValue($"tensor {t.DType.ShortName()} {t.ShapeText} -> {path}"); break;
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long v: w.WriteNumberValue(v); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case string s: w.WriteStringValue(s); break;
            default: w.WriteStringValue(Scalar(o)); break;
        }
    }
}
