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

/// <summary>Block shape of the tensor-core GEMM (<see cref="IlgpuKernels.GemmMmaBf16{TTile}"/>, <see cref="IlgpuKernels.GemmMmaFp16{TTile}"/>): a grid of
/// <see cref="WarpRows"/>×<see cref="WarpCols"/> warps of 32, each owning 32×16 outputs (2×2 m16n8 fragments), so a block is
/// (32·WarpRows)×(16·WarpCols) with 16-deep k-slices. Shared rows hold 8 packed k-pairs plus 4 words of padding (12 words:
/// the 8 rows × 4 pairs one fragment load touches fall in distinct banks); two buffers of each operand.</summary>
public interface IGemmMmaTile
{
    /// <summary>Warps along M.</summary>
    int WarpRows { get; }
    /// <summary>Warps along N.</summary>
    int WarpCols { get; }
    /// <summary>2 buffers × (32·WarpRows) rows × 12 words.</summary>
    int ASize { get; }
    /// <summary>2 buffers × (16·WarpCols) columns × 12 words.</summary>
    int BSize { get; }
    /// <summary>k-pairs of A each thread stages per slice: (32·WarpRows)·8 / threads (1..4).</summary>
    int PairsA { get; }
    /// <summary>k-pairs of B each thread stages per slice: (16·WarpCols)·8 / threads (1..4).</summary>
    int PairsB { get; }
}

/// <summary>CUDA tensor-core tile: 2×4 warps (256 threads), 64×64 outputs.</summary>
public struct GemmMmaTile64 : IGemmMmaTile
{
    /// <inheritdoc/>
    public int WarpRows => 2;
    /// <inheritdoc/>
    public int WarpCols => 4;
    /// <inheritdoc/>
    public int ASize => 1536;
    /// <inheritdoc/>
    public int BSize => 1536;
    /// <inheritdoc/>
    public int PairsA => 2;
    /// <inheritdoc/>
    public int PairsB => 2;
}

/// <summary>Simulator tensor-core tile: 1×2 warps (64 threads), 32×32 outputs (the fallback's shuffles cost ~1 ms each there).</summary>
public struct GemmMmaTile32 : IGemmMmaTile
{
    /// <inheritdoc/>
    public int WarpRows => 1;
    /// <inheritdoc/>
    public int WarpCols => 2;
    /// <inheritdoc/>
    public int ASize => 768;
    /// <inheritdoc/>
    public int BSize => 768;
    /// <inheritdoc/>
    public int PairsA => 4;
    /// <inheritdoc/>
    public int PairsB => 4;
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
