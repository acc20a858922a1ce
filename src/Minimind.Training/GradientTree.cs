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
/// live); a single leaf needs none, so one micro-batch per step is exactly the plain backward. A leaf may add into
/// several vectors at once (PPO's actor and critic gradients): each node is then one partial sum per vector, and
/// every vector is summed in the same tree order.
/// </para>
/// </summary>
public sealed class GradientTree : IDisposable
{
    private readonly IBackend _b;
    private readonly long[] _lengths;
    private readonly Stack<Tensor[]> _free = new();
    private readonly List<Tensor[]> _owned = new();
    private Tensor[] _targets = Array.Empty<Tensor>();
    private Action<int> _leaf = _ => { };
    private int _present;

    /// <summary>A tree over vectors of <paramref name="length"/> floats on <paramref name="backend"/>.</summary>
    public GradientTree(IBackend backend, long length) : this(backend, new[] { length }) { }

    /// <summary>A tree over sets of vectors of <paramref name="lengths"/> floats on <paramref name="backend"/>, summed together.</summary>
    public GradientTree(IBackend backend, IReadOnlyList<long> lengths)
    {
        if (lengths.Count < 1) throw new ArgumentException("a gradient tree sums at least one vector", nameof(lengths));
        _b = backend; _lengths = lengths.ToArray();
    }

    /// <summary>Partial-sum buffer sets allocated so far (each one vector per length).</summary>
    public int BuffersAllocated => _owned.Count;

    /// <summary>
    /// Leaves 0..<paramref name="count"/>−1, of which the first <paramref name="present"/> exist, summed into
    /// <paramref name="target"/>. <paramref name="leaf"/>(i) must add leaf i into <paramref name="target"/>,
    /// which is zero-filled before each call. Returns false (target all zeros) when no leaf is present.
    /// </summary>
    public bool Evaluate(int count, int present, Tensor target, Action<int> leaf) => Evaluate(count, present, new[] { target }, leaf);

    /// <summary>
    /// <see cref="Evaluate(int, int, Tensor, Action{int})"/> over several vectors: <paramref name="leaf"/>(i) adds leaf i
    /// into every one of <paramref name="targets"/> (one per length of the tree), each zero-filled before each call.
    /// </summary>
    public bool Evaluate(int count, int present, IReadOnlyList<Tensor> targets, Action<int> leaf)
    {
        if (count < 1 || present < 0 || present > count) throw new ArgumentOutOfRangeException(nameof(present), $"{present} present leaves of {count}");
        if (targets.Count != _lengths.Length) throw new ArgumentException($"{targets.Count} targets for a tree over {_lengths.Length} vectors", nameof(targets));
        for (int k = 0; k < targets.Count; k++)
            if (targets[k].Length != _lengths[k]) throw new ArgumentException($"target {k} has {targets[k].Length} elements, the tree {_lengths[k]}", nameof(targets));
        _targets = targets.ToArray();
        if (present == 0) { foreach (var t in _targets) _b.Fill(t, 0f); return false; }
        _leaf = leaf; _present = present;
        var r = Eval(0, count);
        if (!IsTarget(r)) { for (int k = 0; k < r.Length; k++) _b.Copy(_targets[k], r[k]); _free.Push(r); }
        return true;
    }

    private Tensor[] Eval(int lo, int n)
    {
        if (n == 1)
        {
            foreach (var t in _targets) _b.Fill(t, 0f);
            _leaf(lo);
            return _targets;
        }
        int s = (n + 1) / 2;
        var left = Eval(lo, s);
        if (lo + s >= _present) return left;
        if (IsTarget(left)) { var buf = Rent(); for (int k = 0; k < buf.Length; k++) _b.Copy(buf[k], left[k]); left = buf; }
        var right = Eval(lo + s, n - s);
        for (int k = 0; k < left.Length; k++) _b.Add(left[k], left[k], right[k]);
        if (!IsTarget(right)) _free.Push(right);
        return left;
    }

    private bool IsTarget(Tensor[] t) => ReferenceEquals(t, _targets);

    private Tensor[] Rent()
    {
        if (_free.Count > 0) return _free.Pop();
        var t = _lengths.Select(l => _b.Alloc(l)).ToArray();
        _owned.Add(t);
        return t;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var set in _owned) foreach (var t in set) t.Buffer.Dispose();
        _owned.Clear(); _free.Clear();
    }
}
