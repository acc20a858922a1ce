using Minimind.Model;

namespace Minimind.Cli.Commands;

/// <summary>The model the <c>bench eval|rollout|serve</c> subcommands time: seeded random weights, so no file is needed.</summary>
internal static class BenchModel
{
    /// <summary>
    /// The architecture options of <c>minimind train</c> over the minimind3 preset, with at least
    /// <paramref name="positions"/> positions (a benchmark's prompt plus its new tokens) whatever the flags say.
    /// </summary>
    public static ModelConfig Resolve(ArgParser args, int positions)
    {
        var preset = ModelConfig.Preset("minimind3");
        var config = ModelOptions.Resolve(args, null, preset with { MaxSeqLen = Math.Max(preset.MaxSeqLen, positions) });
        return config with { MaxSeqLen = Math.Max(config.MaxSeqLen, positions) };
    }
}
