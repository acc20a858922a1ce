namespace Minimind.Checkpoint.Tests;

/// <summary>A small GGUF file written by <see cref="GgufWriter"/>: llama metadata, a token list, an f16 and an f32 tensor.</summary>
internal static class GgufSamples
{
    /// <summary>Writes the sample as <c>t.gguf</c> in <paramref name="dir"/> and returns its path.</summary>
    public static string Small(string dir)
    {
        var path = Path.Combine(dir, "t.gguf");
        new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("llama.block_count", GgufValue.U32(2))
            .Add("llama.rope.freq_base", GgufValue.F32(1e6))
            .Add("tokenizer.ggml.tokens", GgufValue.Strings(new[] { "a", "b", "c" }))
            .AddTensor("token_embd.weight", Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray(), new[] { 3, 4 }, GgmlType.F16)
            .AddTensor("output_norm.weight", new[] { 1f, 2f, 3f, 4f }, new[] { 4 }, GgmlType.F32)
            .Write(path);
        return path;
    }
}
