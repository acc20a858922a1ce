using Minimind.Kernels;

namespace Minimind.Cli;

/// <summary>Options several commands take with the same meaning; each command's table gets its own instance with its own default.</summary>
public static class CommonOptions
{
    /// <summary><c>--device</c>: where the model runs.</summary>
    public static CliOption<string> Device(string def, string? help = null) => Opt.Choice("device", def,
        help ?? "compute device: cuda (ILGPU, NVIDIA GPU), cpu (SIMD CPU backend), ilgpu-cpu (ILGPU's slow CPU simulator), auto (cuda when a GPU is found, else cpu)",
        BackendFactory.Devices);

    /// <summary><c>--tokenizer</c>: a tokenizer.json, a folder holding one, or 'byte'.</summary>
    public static CliOption<string?> Tokenizer(string defaultText) => Tokenizer().DefaultIs(defaultText);

    /// <summary><c>--tokenizer</c> without a default.</summary>
    public static CliOption<string?> Tokenizer() =>
        Opt.String("tokenizer", "SPEC", null, "tokenizer.json, a folder holding one, or 'byte' (UTF-8 bytes); bos/eos/pad from tokenizer_config.json beside it")
           .Sample("model/");

    /// <summary><c>--dtype</c>: autocast precision of matmuls and attention (MiniMind's flag; its spellings bfloat16/float16 work too).</summary>
    public static CliOption<string> Dtype(string def) => Opt.Choice("dtype", def,
        "autocast precision: matmul and attention inputs rounded to bf16/fp16 with float32 accumulation; weights, optimizer, norms, softmax and loss stay float32 (fp32 = none)",
        new[] { "fp32", "bf16", "fp16", "float32", "bfloat16", "float16" });

    /// <summary><c>--threads</c>: CPU worker threads.</summary>
    public static CliOption<int> Threads(string what) => Opt.Int("threads", "N", 0, what + " (0 = all cores)").AtLeast(0);

    /// <summary><c>--weights</c>: the checkpoint a command loads.</summary>
    public static CliOption<string?> Weights() =>
        Opt.String("weights", "FILE", null, "checkpoint: .pth or .safetensors (a config.json and tokenizer.json beside it are read), or a HuggingFace folder").Required();
}
