using System.Diagnostics;
using Minimind.Checkpoint;
using Minimind.Model;
using Minimind.Model.Export;

namespace Minimind.Cli.Commands;

/// <summary>The non-.pth targets of <c>minimind convert</c>: safetensors, a HuggingFace folder, GGUF.</summary>
internal static class ConvertExport
{
    /// <summary>The target formats.</summary>
    public static readonly string[] Targets = { "pth", "safetensors", "hf", "gguf" };

    /// <summary>The target OUT's name implies when --to is not given.</summary>
    public static string FromName(string output) => Path.GetExtension(output).ToLowerInvariant() switch
    {
        ".gguf" => "gguf",
        ".safetensors" => "safetensors",
        _ => "pth",
    };

    /// <summary>Runs a conversion to a target other than pth (<paramref name="stateDict"/>: IN, read by the binding for hf/gguf).</summary>
    public static int Run(ConvertCommand.Settings s, StateDict? stateDict)
    {
        var (input, output, to, dtype, strip, tokSpec) = (s.Input, s.Output, s.To, s.DType, s.Strip, s.Tokenizer);
        var sw = Stopwatch.StartNew();
        if (to == "safetensors")
        {
            var sd = StateDict.Read(input);
            var tensors = new List<KeyValuePair<string, TorchTensor>>();
            foreach (var (k, t) in sd)
            {
                var key = strip ? StateDictLoader.NormalizeKey(k) : k;
                var tt = dtype is { } d && t.DType.IsFloatingPoint() && t.DType != d ? TorchTensor.FromFloat32(t.ToFloat32(), t.Shape, d) : t;
                tensors.Add(new(key, tt));
            }
            SafetensorsWriter.Write(output, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            Console.Out.WriteLine($"converted {input} ({sd.Count} tensors) -> {output} (safetensors{(dtype is { } dd ? ", " + dd.ShortName() : "")}) in {sw.Elapsed.TotalSeconds:F2} s");
            return 0;
        }
        var config = s.Config!.Value;
        string? why = to == "hf" ? HfFolderWriter.Unsupported(config) : GgufExport.Unsupported(config);
        if (why is not null) throw new NotSupportedException($"cannot convert {input} to {(to == "hf" ? "a HuggingFace folder" : "GGUF")}: {why}");
        var weights = new ExportWeights(config, stateDict!);
        string? tokDir = TokenizerDir(tokSpec, input);
        if (to == "hf")
        {
            var d = dtype ?? TorchDType.F16; // convert_model.py's default
            var copied = HfFolderWriter.Write(weights, output, d, tokDir);
            Console.Out.WriteLine($"converted {input} ({config.Arch}) -> {output}/ ({HfFolderWriter.ModelType(config)}, {d.ShortName()}; config.json, model.safetensors{(copied.Count > 0 ? ", " + string.Join(", ", copied) : "")}) in {sw.Elapsed.TotalSeconds:F2} s");
            if (copied.Count == 0) Console.Error.WriteLine($"warning: no tokenizer files copied (pass --tokenizer DIR; none beside {input})");
            return 0;
        }
        if (tokDir is null) throw new UsageException("GGUF needs the tokenizer in its metadata: pass --tokenizer DIR (a folder with MiniMind's tokenizer.json)");
        var type = (dtype ?? TorchDType.F16) switch
        {
            TorchDType.F32 => GgmlType.F32,
            TorchDType.F16 => GgmlType.F16,
            TorchDType.BF16 => GgmlType.BF16,
            var other => throw new UsageException($"--dtype {other.ShortName()} cannot be written to GGUF (f32, f16 or bf16)"),
        };
        GgufExport.Write(weights, output, type, Path.Combine(tokDir, "tokenizer.json"), Path.GetFileNameWithoutExtension(input));
        Console.Out.WriteLine($"converted {input} ({config.Arch}) -> {output} (GGUF, {GgufExport.Architecture(config)}, {type.ToString().ToLowerInvariant()}, {new FileInfo(output).Length:N0} bytes) in {sw.Elapsed.TotalSeconds:F2} s");
        return 0;
    }

    // --tokenizer (a folder, or a tokenizer.json whose folder is used), else the folder of IN when it has one.
    private static string? TokenizerDir(string? spec, string input)
    {
        if (spec is not null)
        {
            var dir = Directory.Exists(spec) ? spec : File.Exists(spec) ? Path.GetDirectoryName(Path.GetFullPath(spec))! : throw new FileNotFoundException($"--tokenizer '{spec}' not found");
            if (!File.Exists(Path.Combine(dir, "tokenizer.json"))) throw new FileNotFoundException($"--tokenizer '{spec}': no tokenizer.json in {dir}");
            return dir;
        }
        var beside = Directory.Exists(input) ? input : Path.GetDirectoryName(Path.GetFullPath(input))!;
        return File.Exists(Path.Combine(beside, "tokenizer.json")) ? beside : null;
    }
}
