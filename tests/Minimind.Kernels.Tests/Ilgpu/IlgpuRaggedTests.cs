using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>The per-sequence forms on the ILGPU simulator: paged decode and append, per-sequence RoPE starts (vs float64 and
/// vs each sequence alone), and the same results as the CPU backend.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuRaggedTests(IlgpuFixture f)
{
    [Theory]
    [InlineData(3, 1, 4, 9, 4, 2, 8, 401)]
    [InlineData(2, 3, 8, 13, 2, 2, 8, 402)]
    [InlineData(3, 1, 16, 20, 8, 2, 6, 403)]
    public void PagedDecode_MatchesFloat64_AndEachSequenceAlone(int batch, int newTokens, int page, int maxLen, int H, int Hkv, int hd, int seed) =>
        // The simulator's kernel takes one key per step, so any page size gives the contiguous bits.
        RaggedChecks.PagedDecode(f.B, RaggedChecks.MakePaged(batch, newTokens, page, maxLen, H, Hkv, hd, seed), IlgpuHarness.Tol, sameBitsPageMultiple: 1);

    [Theory]
    [InlineData(3, 1, 4, 9, 2, 8, 411)]
    [InlineData(2, 5, 16, 30, 1, 6, 412)]
    public void PagedAppend_WritesEachSequencesNextRows(int batch, int newTokens, int page, int maxLen, int Hkv, int hd, int seed) =>
        RaggedChecks.PagedAppend(f.B, RaggedChecks.MakePaged(batch, newTokens, page, maxLen, 2 * Hkv, Hkv, hd, seed), seed + 7);

    [Theory]
    [InlineData(RopeLayout.Interleaved, 3, 5, 2, 8, 0, 421)]
    [InlineData(RopeLayout.RotateHalf, 4, 3, 3, 16, 2, 422)]
    public void RowStarts_MatchFloat64_AndEachSequenceAlone(RopeLayout layout, int batch, int T, int heads, int hd, int posOffset, int seed) =>
        RaggedChecks.RowStarts(f.B, layout, batch, T, heads, hd, posOffset, seed, IlgpuHarness.Tol);
}
