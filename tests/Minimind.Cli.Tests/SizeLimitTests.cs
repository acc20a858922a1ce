using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>Sizes a machine cannot hold are refused before anything is allocated, naming the flag — not as a .NET
/// "buffer length" or out-of-memory exception.</summary>
public sealed class SizeLimitTests
{
    [Fact]
    public void AHugeBatchNamesBatchSize_AndAHugeDimNamesDim()
    {
        using var d = new TempDir();
        var (code, o) = CliProcess.Run("train", "--device", "cpu", "--batch-size", "100000", "--out-dir", d.Path);
        Assert.Equal(1, code);
        Assert.Contains("lower --batch-size", o);
        Assert.DoesNotContain("Parameter '", o);
        (code, o) = CliProcess.Run("train", "--device", "cpu", "--dim", "1e9", "--out-dir", d.Path);
        Assert.NotEqual(0, code);
        Assert.Contains("--dim 1000000000", o);
        Assert.DoesNotContain("Parameter '", o);
        Assert.Empty(Directory.GetFiles(d.Path, "*.pth", SearchOption.AllDirectories));
    }
}
