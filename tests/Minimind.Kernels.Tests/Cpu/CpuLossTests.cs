using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>Cross-entropy forward/backward against float64, including ignored rows and aliasing.</summary>
public class CpuLossTests
{
    [Theory]
    [InlineData(1, 2, 131, false)]
    [InlineData(9, 50, 132, false)]
    [InlineData(9, 50, 133, true)]
    [InlineData(33, 6400, 134, true)]
    public void CrossEntropy_ForwardAndBackward(int rows, int vocab, int seed, bool alias)
    {
        using var h = new CpuHarness();
        var logits = TestData.Uniform(seed, rows * vocab, -8, 8);
        var targets = TestData.Ints(seed + 1, rows, 0, vocab);
        if (rows > 2) { targets[1] = -100; targets[rows - 1] = -100; }
        var scale = TestData.Uniform(seed + 2, rows, 0.1, 2);
        var loss = h.Poisoned(rows);
        var lt = h.Up(logits); var tt = h.Up(targets);
        h.B.CrossEntropy(loss, lt, tt, new(rows, vocab), -100);
        var lr = new double[rows];
        Reference64.CrossEntropy(lr, logits, targets, rows, vocab, -100);
        CpuHarness.Close(loss, lr, "losses");

        var d = alias ? lt : h.Poisoned(rows * vocab);
        h.B.CrossEntropyBackward(d, lt, tt, h.Up(scale), new(rows, vocab), -100);
        var dr = new double[rows * vocab];
        Reference64.CrossEntropyBackward(dr, logits, targets, scale, rows, vocab, -100);
        CpuHarness.Close(d, dr, alias ? "dLogits (aliasing logits)" : "dLogits");
    }

    [Fact]
    public void CrossEntropy_UniformLogits_IsLogVocab()
    {
        // Hand-derived: equal logits give loss ln(V) and gradient 1/V − onehot.
        using var h = new CpuHarness();
        var loss = h.Poisoned(1);
        h.B.CrossEntropy(loss, h.Up(new double[8]), h.Up(new[] { 3 }), new(1, 8), -100);
        Assert.Equal(Math.Log(8), CpuHarness.Get(loss)[0], 6);
    }

    [Fact]
    public void CrossEntropy_BadTarget_Throws()
    {
        using var h = new CpuHarness();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => h.B.CrossEntropy(h.B.Alloc(2), h.B.Alloc(8), h.Up(new[] { 1, 4 }), new(2, 4), -100));
        Assert.Contains("targets[1] = 4", ex.Message);
    }
}
