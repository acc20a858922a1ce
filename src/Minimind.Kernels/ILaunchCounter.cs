namespace Minimind.Kernels;

/// <summary>
/// A backend that runs its ops as device kernels and counts them: <see cref="KernelLaunches"/> is the number of
/// kernels queued since the backend was created (every launch, whatever the op; host copies are not kernels).
/// The difference across a training step is its launches per step, which dominate the time of small models on a GPU.
/// Only backends that launch kernels implement it (the CPU backend runs plain loops and has nothing to count).
/// </summary>
public interface ILaunchCounter
{
    /// <summary>Kernels launched so far (ops are issued from one thread, as the backend contract assumes).</summary>
    long KernelLaunches { get; }
}
