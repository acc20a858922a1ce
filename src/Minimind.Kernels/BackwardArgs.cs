namespace Minimind.Kernels;

/// <summary>The gradients <see cref="IBackend.AttentionBackward"/> writes.</summary>
/// <param name="Dq">dq [B, T, H, hd].</param>
/// <param name="Dk">dk [B, T, Hkv, hd].</param>
/// <param name="Dv">dv [B, T, Hkv, hd].</param>
public readonly record struct AttentionGradients(Tensor Dq, Tensor Dk, Tensor Dv);

/// <summary>What <see cref="IBackend.Attention"/> read and wrote, kept for its backward.</summary>
/// <param name="Q">q [B, T, H, hd].</param>
/// <param name="K">k [B, T, Hkv, hd].</param>
/// <param name="V">v [B, T, Hkv, hd].</param>
/// <param name="Output">The attention output [B, T, H, hd].</param>
/// <param name="Lse">Each row's log-sum-exp [B, H, T].</param>
public readonly record struct AttentionSaved(Tensor Q, Tensor K, Tensor V, Tensor Output, Tensor Lse);

/// <summary>The gradients an RMSNorm backward writes.</summary>
/// <param name="Dx">dx, the input gradient (per the op's <see cref="WriteMode"/>).</param>
/// <param name="DWeight">dWeight [dim] (always accumulates).</param>
public readonly record struct NormGradients(Tensor Dx, Tensor DWeight);

/// <summary>What an RMSNorm forward read and wrote, kept for its backward.</summary>
/// <param name="X">The normalised input.</param>
/// <param name="Weight">The norm's weight [dim].</param>
/// <param name="Rstd">1/rms of each row.</param>
public readonly record struct NormSaved(Tensor X, Tensor Weight, Tensor Rstd);
