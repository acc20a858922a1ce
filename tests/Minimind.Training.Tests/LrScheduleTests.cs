using Minimind.Training;

namespace Minimind.Training.Tests;

public class LrScheduleTests
{
    // Hand-derived from lr·(0.1 + 0.45·(1 + cos(π·s/T))) with T = 100, lr = 5e-4.
    [Theory]
    [InlineData(0, 5e-4)]                       // cos 0 = 1: 0.1 + 0.9
    [InlineData(50, 2.75e-4)]                   // cos π/2 = 0: 0.55
    [InlineData(100, 5e-5)]                     // cos π = −1: 0.1
    [InlineData(25, 4.340990257669732e-4)]     // cos π/4 = √2/2: 0.1 + 0.45·1.7071067811865475
    [InlineData(75, 1.1590097423302682e-4)]     // cos 3π/4 = −√2/2: 0.1 + 0.45·0.2928932188134524
    public void MatchesHandDerivedValues(long step, double expected)
    {
        Assert.Equal(expected, LrSchedule.At(step, 100, 5e-4), 1e-15);
    }

    [Fact]
    public void IsMonotoneDecreasingBetweenPeakAndFloor()
    {
        double prev = double.MaxValue;
        for (int s = 0; s <= 37; s++)
        {
            double lr = LrSchedule.At(s, 37, 1.0);
            Assert.True(lr <= prev, $"step {s}");
            Assert.InRange(lr, 0.1 - 1e-12, 1.0 + 1e-12);
            prev = lr;
        }
    }

    [Fact]
    public void RejectsEmptySchedule() => Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.At(1, 0, 1e-3));
}

public class GradClipTests
{
    [Fact]
    public void LargeNormIsScaledToMaxNorm()
    {
        // ‖g‖ = sqrt(9 + 16) = 5; torch: clip_coef = 1 / (5 + 1e-6) = 0.19999996000000800.
        float c = GradClip.Coefficient(25.0, 1.0);
        Assert.Equal(0.199999960000008, c, 1e-7);
        Assert.True(c < 0.2f);
    }

    [Fact]
    public void SmallNormIsLeftAlone()
    {
        // ‖g‖ = 0.5 < 1: the clamped coefficient is exactly 1 (torch clamps max=1.0).
        Assert.Equal(1f, GradClip.Coefficient(0.25, 1.0));
        // Right at the threshold, 1/(1+1e-6) < 1, so torch still scales very slightly.
        Assert.Equal(1.0 / (1.0 + 1e-6), GradClip.Coefficient(1.0, 1.0), 1e-7);
    }

    [Fact]
    public void ZeroMaxNormDisablesClipping() => Assert.Equal(1f, GradClip.Coefficient(1e6, 0));

    [Fact]
    public void CoefficientTimesNormIsMaxNorm()
    {
        // For any norm above the limit the clipped norm is maxNorm·norm/(norm+1e-6).
        foreach (var (ss, max) in new[] { (4.0, 0.5), (1e4, 1.0), (2.25, 1.2) })
        {
            double norm = Math.Sqrt(ss);
            Assert.Equal(max * norm / (norm + 1e-6), GradClip.Coefficient(ss, max) * norm, 1e-5);
        }
    }
}
