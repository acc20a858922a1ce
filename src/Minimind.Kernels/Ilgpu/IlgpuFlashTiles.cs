namespace Minimind.Kernels.Ilgpu;

/// <summary>Tensor-core flash attention tiles: a group of <see cref="Warps"/> warps of 32 owns 16 queries per warp of one
/// head; keys stream through shared memory 16 at a time (one m16n8k16 k-step of P·V). Head dims are padded to a
/// multiple of 16 (zeros), up to 128. Sizes are literals so the shared allocations are compile-time constants.</summary>
public interface IFlashTile
{
    /// <summary>Warps per group (16 queries each).</summary>
    int Warps { get; }
    /// <summary>Warps·16·64: the group's queries as bf16/fp16 pairs along the head dim (.b32 registers of A).</summary>
    int QSize { get; }
    /// <summary>16·64: one key block as pairs along the head dim (B of S = Q·Kᵀ).</summary>
    int KSize { get; }
    /// <summary>8·128: one value block as pairs along the keys (B of O += P·V).</summary>
    int VSize { get; }
    /// <summary>Warps·16·128: each warp's float32 output accumulator.</summary>
    int OSize { get; }
}

/// <summary>CUDA: 2 warps, 32 queries, 32 KiB of shared memory.</summary>
public struct FlashTile2 : IFlashTile
{
    /// <inheritdoc/>
    public int Warps => 2;
    /// <inheritdoc/>
    public int QSize => 2048;
    /// <inheritdoc/>
    public int KSize => 1024;
    /// <inheritdoc/>
    public int VSize => 1024;
    /// <inheritdoc/>
    public int OSize => 4096;
}

/// <summary>Simulator: 1 warp of 32 lanes (every barrier and shuffle costs ~1 ms there).</summary>
public struct FlashTile1 : IFlashTile
{
    /// <inheritdoc/>
    public int Warps => 1;
    /// <inheritdoc/>
    public int QSize => 1024;
    /// <inheritdoc/>
    public int KSize => 1024;
    /// <inheritdoc/>
    public int VSize => 1024;
    /// <inheritdoc/>
    public int OSize => 2048;
}
