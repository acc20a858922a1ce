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

    /// <summary>Runs a conversion to a HuggingFace folder or GGUF (<paramref name="source"/>: IN, opened by the binding).</summary>
    public static int Run(ConvertCommand.Settings s, CheckpointSource source)
    {
        var (input, output, to, dtype) = (s.Input, s.Output, s.To, s.DType);
        var sw = Stopwatch.StartNew();
        var config = s.Config!.Value;
        string? why = to == "hf" ? HfFolderWriter.Unsupported(config) : GgufExport.Unsupported(config);
        if (why is not null) throw new NotSupportedException($"cannot convert {input} to {(to == "hf" ? "a HuggingFace folder" : "GGUF")}: {why}");
        var weights = new ExportWeights(config, source.Weights);
        CheckpointLoader.Note(config, source, Console.Error);
        // the tokenizer: --tokenizer, else the tokenizer.json beside IN, else the one IN records (e.g. 'byte')
        var tokSpec = ModelOptions.TokenizerFor(s.Tokenizer, source);
        var tokenizer = tokSpec is null ? null : ExportTokenizer.From(tokSpec, s.Tokenizer is null ? $"the tokenizer recorded in {input}" : "--tokenizer");
        if (tokenizer is not null)
            ModelOptions.CheckTokenizerFits(tokenizer.Load().VocabSize, s.Tokenizer, tokSpec!, source, config);
        if (to == "hf")
        {
            var d = dtype ?? TorchDType.F16; // convert_model.py's default
            var copied = HfFolderWriter.Write(weights, output, d, tokenizer);
            Console.Out.WriteLine($"converted {input} ({config.Arch}) -> {output}/ ({HfFolderWriter.ModelType(config)}, {d.ShortName()}; config.json, model.safetensors{(copied.Count > 0 ? ", " + string.Join(", ", copied) : "")}) in {sw.Elapsed.TotalSeconds:F2} s");
            if (copied.Count == 0) Console.Error.WriteLine($"warning: no tokenizer files written (pass --tokenizer DIR or 'byte'; none beside {input} or recorded in it)");
            return 0;
        }
        if (tokenizer is null) throw new UsageException($"GGUF needs the tokenizer in its metadata: pass --tokenizer DIR (a folder with MiniMind's tokenizer.json) or 'byte'; none is beside {input} or recorded in it");
        var type = (dtype ?? TorchDType.F16) switch
        {
            TorchDType.F32 => GgmlType.F32,
            TorchDType.F16 => GgmlType.F16,
            TorchDType.BF16 => GgmlType.BF16,
            var other => throw new UsageException($"--dtype {other.ShortName()} cannot be written to GGUF (f32, f16 or bf16)"),
        };
        GgufExport.Write(weights, output, type, tokenizer, Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(input)));
        Console.Out.WriteLine($"converted {input} ({config.Arch}) -> {output} (GGUF, {GgufExport.Architecture(config)}, {type.ToString().ToLowerInvariant()}, {new FileInfo(output).Length:N0} bytes) in {sw.Elapsed.TotalSeconds:F2} s");
        return 0;
    }

    /// <summary>The tokenizer.json beside IN (or inside an HF folder) as a full path, or null: what a record written by
    /// <c>convert</c> names when neither --tokenizer nor IN's own record says.</summary>
    public static string? TokenizerBeside(string input)
    {
        var beside = Path.Combine(Directory.Exists(input) ? input : Path.GetDirectoryName(Path.GetFullPath(input))!, "tokenizer.json");
        return File.Exists(beside) ? Path.GetFullPath(beside) : null;
    }
}
