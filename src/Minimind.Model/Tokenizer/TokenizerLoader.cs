namespace Minimind.Model.Tokenizer;

/// <summary>Opens a tokenizer from a command-line style specification.</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// <c>byte</c> gives the <see cref="ByteTokenizer"/>; a <c>tokenizer.json</c> path, or a folder holding one,
    /// gives a <see cref="BpeTokenizer"/>.
    /// </summary>
    public static ITokenizer Load(string spec)
    {
        if (spec == "byte") return new ByteTokenizer();
        string path = Directory.Exists(spec) ? Path.Combine(spec, "tokenizer.json") : spec;
        if (!File.Exists(path))
            throw new FileNotFoundException($"tokenizer '{spec}' not found: expected 'byte', a tokenizer.json file or a folder containing one", path);
        return BpeTokenizer.FromFile(path);
    }
}
