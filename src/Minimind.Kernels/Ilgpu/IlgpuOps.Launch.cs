using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

// Kernel launching from the kernel method alone: Launch(IlgpuKernels.X, config, args...) infers the parameter types
// from the arguments, loads the kernel on first use and caches the launcher by method. No per-kernel field or type
// list exists, and a kernel without [Kernel] (so outside the PTX gate) cannot be launched. One overload per arity.
// Every overload passes through Cached once per launch, which is where launches are counted.
internal sealed partial class IlgpuOps : ILaunchCounter
{
    private readonly Dictionary<MethodInfo, Delegate> _launchers = new();
    private long _launches;

    /// <inheritdoc/>
    public long KernelLaunches => _launches;

    private TLauncher? Cached<TLauncher>(MethodInfo kernel) where TLauncher : Delegate
    {
        _launches++;
        if (_launchers.TryGetValue(kernel, out var d)) return (TLauncher)d;
        if (!IlgpuKernels.IsListed(kernel))
            throw new InvalidOperationException($"kernel {kernel.Name} is not marked [Kernel], so the PTX gate never compiles it; mark it in IlgpuKernels");
        return null;
    }

    private TLauncher Keep<TLauncher>(MethodInfo kernel, TLauncher launcher) where TLauncher : Delegate
    {
        _launchers[kernel] = launcher;
        return launcher;
    }

    private void Launch<T1>(Action<T1> k, KernelConfig c, T1 a1) where T1 : struct =>
        (Cached<Action<KernelConfig, T1>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1);

    private void Launch<T1, T2>(Action<T1, T2> k, KernelConfig c, T1 a1, T2 a2) where T1 : struct where T2 : struct =>
        (Cached<Action<KernelConfig, T1, T2>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2);

    private void Launch<T1, T2, T3>(Action<T1, T2, T3> k, KernelConfig c, T1 a1, T2 a2, T3 a3) where T1 : struct where T2 : struct where T3 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3);

    private void Launch<T1, T2, T3, T4>(Action<T1, T2, T3, T4> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4) where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4);

    private void Launch<T1, T2, T3, T4, T5>(Action<T1, T2, T3, T4, T5> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4, T5>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4, a5);

    private void Launch<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4, T5, T6>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4, a5, a6);

    private void Launch<T1, T2, T3, T4, T5, T6, T7>(Action<T1, T2, T3, T4, T5, T6, T7> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4, a5, a6, a7);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8>(Action<T1, T2, T3, T4, T5, T6, T7, T8> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4, a5, a6, a7, a8);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4, a5, a6, a7, a8, a9);

    private void Launch<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> k, KernelConfig c, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9, T10 a10) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct =>
        (Cached<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>>(k.Method) ?? Keep(k.Method, _acc.LoadStreamKernel(k)))(c, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);

}
