using Minimind.Kernels;

namespace Minimind.Training;

/// <summary>
/// The step's gradient as the pairwise (binary-tree) sum of its micro-batch gradients in micro-batch
/// order: P(lo, n) = P(lo, ⌈n/2⌉) + P(lo + ⌈n/2⌉, ⌊n/2⌋), lower subtree + higher subtree.
/// For n = 2^k·m the top k levels are perfect halvings, so W ranks (W a power of two dividing n) that
/// each evaluate their contiguous block and then combine blocks with <see cref="Minimind.Kernels.Distributed.TreeAllReduce"/>
/// produce exactly the bits one process does. Leaves past <c>present</c> (the ragged end of an epoch)
/// are absent: a node with one present child is that child, unchanged.
/// <para>
/// Evaluated depth-first in leaf order with a small stack of partial-sum buffers (at most ⌈log₂ n⌉ are
/// live); a single leaf needs none, so one micro-batch per step is exactly the plain backward.
/// </para>
/// </summary>
public sealed class GradientTree : IDisposable
{
    private readonly IBackend _b;
    private readonly long _length;
    private readonly Stack<Tensor> _free = new();
    private readonly List<Tensor> _owned = new();
    private Tensor _target;
    private Action<int> _leaf = _ => { };
    private int _present;

    /// <summary>A tree over vectors of <paramref name="length"/> floats on <paramref name="backend"/>.</summary>
    public GradientTree(IBackend backend, long length) { _b = backend; _length = length; }

    /// <summary>Partial-sum buffers allocated so far (each <c>length</c> floats).</summary>
    public int BuffersAllocated => _owned.Count;

    /// <summary>
    /// Leaves 0..<paramref name="count"/>−1, of which the first <paramref name="present"/> exist, summed into
    /// <paramref name="target"/>. <paramref name="leaf"/>(i) must add leaf i into <paramref name="target"/>,
    /// which is zero-filled before each call. Returns false (target all zeros) when no leaf is present.
    /// </summary>
    public bool Evaluate(int count, int present, Tensor target, Action<int> leaf)
    {
        if (count < 1 || present < 0 || present > count) throw new ArgumentOutOfRangeException(nameof(present), $"{present} present leaves of {count}");
        if (target.Length != _length) throw new ArgumentException($"target has {target.Length} elements, the tree {_length}", nameof(target));
        if (present == 0) { _b.Fill(target, 0f); return false; }
        _target = target; _leaf = leaf; _present = present;
        var r = Eval(0, count);
        if (!IsTarget(r)) { _b.Copy(target, r); _free.Push(r); }
        return true;
    }

    private Tensor Eval(int lo, int n)
    {
        if (n == 1)
        {
            _b.Fill(_target, 0f);
            _leaf(lo);
            return _target;
        }
        int s = (n + 1) / 2;
        var left = Eval(lo, s);
        if (lo + s >= _present) return left;
        if (IsTarget(left)) { var buf = Rent(); _b.Copy(buf, left); left = buf; }
        var right = Eval(lo + s, n - s);
        _b.Add(left, left, right);
        if (!IsTarget(right)) _free.Push(right);
        return left;
    }

    private bool IsTarget(Tensor t) => ReferenceEquals(t.Buffer, _target.Buffer) && t.Offset == _target.Offset;

    private Tensor Rent()
    {
        if (_free.Count > 0) return _free.Pop();
        var t = _b.Alloc(_length);
        _owned.Add(t);
        return t;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in _owned) t.Buffer.Dispose();
        _owned.Clear(); _free.Clear();
    }
}
