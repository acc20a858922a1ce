using Minimind.Kernels;

namespace Minimind.Model.Layers;

/// <summary>
/// Hands out views of one preallocated float buffer and one int buffer. Built in two passes: a
/// counting pass (no backend) sizes the buffers, then the same requests are replayed over real memory,
/// so every activation of a model lives in exactly two allocations.
/// </summary>
public sealed class ActivationArena : IDisposable
{
    private readonly Tensor _floats;
    private readonly IntTensor _ints;
    private readonly bool _counting;
    private long _fUsed, _iUsed;

    /// <summary>A counting arena: requests return empty views and only add up sizes.</summary>
    public ActivationArena() { _counting = true; }

    /// <summary>A real arena over <paramref name="floats"/> + <paramref name="ints"/> elements.</summary>
    public ActivationArena(IBackend backend, long floats, long ints)
    {
        _floats = backend.Alloc(Math.Max(1, floats));
        _ints = backend.AllocInt(Math.Max(1, ints));
    }

    /// <summary>Float elements requested so far.</summary>
    public long FloatsUsed => _fUsed;
    /// <summary>Int elements requested so far.</summary>
    public long IntsUsed => _iUsed;

    /// <summary>The next <paramref name="n"/> floats.</summary>
    public Tensor Float(long n)
    {
        long o = _fUsed; _fUsed += n;
        return _counting ? default : _floats.Slice(o, n);
    }

    /// <summary>The next <paramref name="n"/> ints.</summary>
    public IntTensor Int(long n)
    {
        long o = _iUsed; _iUsed += n;
        return _counting ? default : _ints.Slice(o, n);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_counting) return;
        _floats.Buffer.Dispose();
        _ints.Buffer.Dispose();
    }
}
