namespace Minimind.Kernels.Ilgpu;

/// <summary>Block sizes of the tiled GEMM, as a generic struct parameter: shared-memory sizes must be
/// compile-time constants for the PTX backend, and <c>SpecializedValue</c> sizes do not compile offline.
/// Each thread computes a 4×4 register block, so a group has (BM/4)·(BN/4) threads.</summary>
public interface IGemmTile
{
    /// <summary>Rows of C per group.</summary>
    int BM { get; }
    /// <summary>Columns of C per group.</summary>
    int BN { get; }
    /// <summary>Inner-dimension slice held in shared memory.</summary>
    int BK { get; }
    /// <summary>BM·BK (a literal, so the shared allocation is constant).</summary>
    int ASize { get; }
    /// <summary>BK·BN.</summary>
    int BSize { get; }
}

/// <summary>CUDA tile: 64×64 outputs, 16-deep slices, 256 threads.</summary>
public struct GemmTile64 : IGemmTile
{
    /// <inheritdoc/>
    public int BM => 64;
    /// <inheritdoc/>
    public int BN => 64;
    /// <inheritdoc/>
    public int BK => 16;
    /// <inheritdoc/>
    public int ASize => 1024;
    /// <inheritdoc/>
    public int BSize => 1024;
}

/// <summary>Tiny tile for the CPU simulator: 8×8 outputs, 4-deep slices, 4 threads.</summary>
public struct GemmTile8 : IGemmTile
{
    /// <inheritdoc/>
    public int BM => 8;
    /// <inheritdoc/>
    public int BN => 8;
    /// <inheritdoc/>
    public int BK => 4;
    /// <inheritdoc/>
    public int ASize => 32;
    /// <inheritdoc/>
    public int BSize => 32;
}

/// <summary>Attention block sizes: a group handles <see cref="Rows"/> consecutive queries of one head and
/// streams keys through shared memory in blocks of the same size; head dims up to <see cref="MaxHd"/>.</summary>
public interface IAttnTile
{
    /// <summary>Queries per group = keys per block = threads per group.</summary>
    int Rows { get; }
    /// <summary>Largest supported head dim.</summary>
    int MaxHd { get; }
    /// <summary>Rows·MaxHd (shared K and V blocks).</summary>
    int KvSize { get; }
    /// <summary>Rows·Rows (each thread's scores for one key block).</summary>
    int PSize { get; }
}

/// <summary>CUDA attention tile: 32 queries × 32 keys, head dim ≤ 128 (36 KiB of shared memory).</summary>
public struct AttnTile32 : IAttnTile
{
    /// <inheritdoc/>
    public int Rows => 32;
    /// <inheritdoc/>
    public int MaxHd => 128;
    /// <inheritdoc/>
    public int KvSize => 4096;
    /// <inheritdoc/>
    public int PSize => 1024;
}

/// <summary>CPU-simulator attention tile: 4 queries × 4 keys, head dim ≤ 128.</summary>
public struct AttnTile4 : IAttnTile
{
    /// <inheritdoc/>
    public int Rows => 4;
    /// <inheritdoc/>
    public int MaxHd => 128;
    /// <inheritdoc/>
    public int KvSize => 512;
    /// <inheritdoc/>
    public int PSize => 16;
}
