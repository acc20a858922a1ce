namespace Minimind.Checkpoint;

/// <summary>The container a weight file (or folder) is in.</summary>
public enum CheckpointFormat
{
    /// <summary>A PyTorch <c>torch.save</c> file (zip or legacy).</summary>
    Pth,
    /// <summary>A <c>.safetensors</c> file.</summary>
    Safetensors,
    /// <summary>A HuggingFace model folder (config.json + model.safetensors, shards or pytorch_model.bin).</summary>
    HfFolder,
    /// <summary>A llama.cpp GGUF file.</summary>
    Gguf,
}

/// <summary>
/// Tells a weight file's format by its content (magic numbers first, the name only for a damaged safetensors
/// header), so every command that reads a file — <c>inspect</c>, <c>generate</c>, <c>convert</c>, <c>train</c> —
/// picks the same reader and so gives the same message for the same broken file.
/// </summary>
public static class CheckpointFormats
{
    /// <summary>The format of <paramref name="path"/>; throws a FileNotFoundException naming it when it does not exist,
    /// and an IOException when it is a folder without HuggingFace weights.</summary>
    public static CheckpointFormat Detect(string path)
    {
        if (Directory.Exists(path))
            return HfFolderReader.IsHfFolder(path) ? CheckpointFormat.HfFolder
                : throw new FileNotFoundException($"{path} is a folder without model weights (a HuggingFace folder holds model.safetensors, model.safetensors.index.json or pytorch_model.bin)", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        var head = new byte[16];
        long length;
        using (var fs = File.OpenRead(path)) { length = fs.Length; fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false); }
        if (GgufFile.LooksLike(head)) return CheckpointFormat.Gguf;
        if (SafetensorsFile.LooksLike(head, length)) return CheckpointFormat.Safetensors;
        bool pthMagic = head[0] == (byte)'P' && head[1] == (byte)'K' || head[0] == 0x80 && head[1] == 2 && head[2] == 0x8a; // zip, or a legacy pickle's magic
        // A .safetensors name with no recognisable magic: the safetensors reader says what is wrong with its header.
        if (!pthMagic && path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return CheckpointFormat.Safetensors;
        return CheckpointFormat.Pth;
    }

    /// <summary>The format's name for messages.</summary>
    public static string Describe(this CheckpointFormat f) => f switch
    {
        CheckpointFormat.Pth => ".pth",
        CheckpointFormat.Safetensors => "safetensors",
        CheckpointFormat.HfFolder => "HuggingFace folder",
        _ => "GGUF",
    };

    /// <summary>The error for a GGUF file given where weights to load are expected: what it is and what to do instead.</summary>
    public static string GgufIsNotACheckpoint(string path) =>
        $"{path} is a GGUF file (llama.cpp's format), which this program writes (convert ... OUT.gguf) but does not load: " +
        "run it with llama.cpp or ollama (e.g. llama-cli -m " + path + "), and give minimind the .pth, .safetensors or HuggingFace folder it was converted from";
}
