using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>Sizes a machine cannot hold are refused before anything is allocated, naming the flag and the limit — not as a
/// .NET "buffer length", overflow or out-of-memory exception (issue 19 item 7).</summary>
public sealed class SizeLimitTests
{
    public static TheoryData<string[], string> HugeSizes() => new()
    {
        // the flags, and what the refusal must say: the flag with its value and the limit it exceeds
        { new[] { "--n-layers", "1000000000" }, "--n-layers 1000000000 is more blocks than a model here may have (at most 1,024)" },
        { new[] { "--use-moe", "--n-experts", "1000000000" }, "--n-experts 1000000000 is more experts than a layer here may have (at most 1,024)" },
        { new[] { "--hidden-dim", "1000000000" }, "--hidden-dim 1000000000 gives an FFN weight of 1,000,000,000 x 64 elements, more than one tensor can hold (2,147,483,647); lower --hidden-dim" },
        { new[] { "--dim", "1e9" }, "--dim 1000000000 gives an FFN weight of 2,666,666,688 x 1,000,000,000 elements, more than one tensor can hold (2,147,483,647); lower --dim" },
        { new[] { "--dim", "100000" }, "more than one tensor can hold (2,147,483,647); lower --dim" },
        { new[] { "--batch-size", "100000" }, "more than one cpu buffer holds (2,147,483,591); lower --batch-size" },
        { new[] { "--batch-size", "1e9" }, "a micro-batch of 1,000,000,000 rows x 127 tokens is more tokens than one pass can index; lower --batch-size" },
    };

    [Theory]
    [MemberData(nameof(HugeSizes))]
    public void AHugeSize_IsRefusedNamingTheFlagAndTheLimit(string[] flags, string expected)
    {
        using var d = new TempDir();
        var (code, o) = CliProcess.Run(new[] { "train", "--device", "cpu", "--out-dir", d.Path }.Concat(flags).ToArray());
        Assert.True(code is 1 or 2, o);
        Assert.Contains(expected, o);
        Assert.DoesNotContain("Exception", o);
        Assert.DoesNotContain("Parameter '", o);
        Assert.Empty(Directory.GetFiles(d.Path, "*.pth", SearchOption.AllDirectories));
    }
}
