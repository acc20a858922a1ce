namespace Minimind.Kernels;

/// <summary>How an op writes an output: replace its contents or add to them.</summary>
public enum WriteMode
{
    /// <summary>out = result: the output's previous contents (even NaN) are never read.</summary>
    Overwrite,
    /// <summary>out += result: for gradients summed over several contributions (residuals, tied or shared weights, micro-batches).</summary>
    Accumulate,
}
