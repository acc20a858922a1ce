namespace Minimind.Kernels.Cpu;

/// <summary>
/// The work sequence of one tiled SGEMM call (<see cref="Sgemm"/>) and the completion flags its items wait on, so the whole
/// call runs in one parallel region without a barrier per K slice. The sequence is the <see cref="Packs"/> B-pack items of
/// slice 0, then for each slice s ≥ 1 the tile items of slice s − 1 with the pack items of slice s (if any) amid them; a
/// participant claims items in that order and waits only for items earlier in it: a tile for its slice's B panels and for
/// its own previous slice (the ascending slice order of every C element), a pack of slice s for the tiles of slice s − 2,
/// which read the buffer it overwrites (two B buffers alternate). The lowest unfinished claimed item therefore never waits,
/// so a late or descheduled participant delays the others but cannot block them, and one participant alone runs it all.
/// </summary>
internal sealed class SliceFlow
{
    private readonly int _slices, _tiles, _total;
    private int _next, _failed;
    private readonly int[] _packDone, _refused, _ready, _tilesDone, _tileSlices;

    /// <summary>The sequence for <paramref name="slices"/> K slices of <paramref name="tiles"/> tile items each, and
    /// <paramref name="packs"/> pack items per slice (0 when B comes packed: tiles then wait only for their previous slice).</summary>
    public SliceFlow(int slices, int tiles, int packs)
    {
        _slices = slices; _tiles = tiles; Packs = packs;
        _total = slices * (tiles + packs);
        _packDone = new int[slices]; _refused = new int[slices]; _ready = new int[slices]; _tilesDone = new int[slices];
        _tileSlices = new int[tiles];
    }

    /// <summary>Pack items per slice.</summary>
    public int Packs { get; }

    /// <summary>The next unclaimed item of the sequence, or −1 when all are claimed.</summary>
    public int Claim()
    {
        int item = Interlocked.Increment(ref _next) - 1;
        return item < _total ? item : -1;
    }

    /// <summary>Item <paramref name="item"/>'s K slice, its index among that slice's packs or tiles, and which of the two it is.</summary>
    public (int Slice, int Index, bool Pack) Item(int item)
    {
        if (item < Packs) return (0, item, true);
        int rest = item - Packs, phase = Packs + _tiles, middle = (_slices - 1) * phase;
        if (rest >= middle) return (_slices - 1, rest - middle, false);
        // Phase s: the first half of slice s − 1's tiles, slice s's packs, the other half. The packs then find slice
        // s − 2's tiles long finished (they were claimed half a phase or more before) and slice s's tiles find their
        // panels packed, so neither waits for an item in flight unless a participant lost its core.
        int s = 1 + rest / phase, r = rest % phase, half = _tiles / 2;
        if (r < half) return (s - 1, r, false);
        return r < half + Packs ? (s, r - half, true) : (s - 1, r - Packs, false);
    }

    /// <summary>Marks the call failed (a participant threw): the others stop waiting for items that will never finish.</summary>
    public void Fail() => Volatile.Write(ref _failed, 1);

    /// <summary>Waits until the buffer of <paramref name="slice"/>'s B panels may be written: every tile of slice − 2 done.</summary>
    public void AwaitBuffer(int slice)
    {
        if (slice >= 2) Await(ref _tilesDone[slice - 2], _tiles);
    }

    /// <summary>Records one pack item of <paramref name="slice"/> done (<paramref name="refused"/>: its 16-bit panels
    /// refused a value); true for the last one, which then repacks if needed and calls <see cref="Publish"/>.</summary>
    public bool Packed(int slice, bool refused)
    {
        if (refused) Volatile.Write(ref _refused[slice], 1);
        return Interlocked.Increment(ref _packDone[slice]) == Packs;
    }

    /// <summary>Whether any pack item of <paramref name="slice"/> refused its 16-bit panels.</summary>
    public bool Refused(int slice) => Volatile.Read(ref _refused[slice]) != 0;

    /// <summary>Makes <paramref name="slice"/>'s B panels (16-bit when <paramref name="bf16"/>) available to its tiles.</summary>
    public void Publish(int slice, bool bf16) => Volatile.Write(ref _ready[slice], bf16 ? 1 : 2);

    /// <summary>Waits for <paramref name="slice"/>'s B panels; true when they are 16-bit.</summary>
    public bool AwaitPacked(int slice)
    {
        var spin = new SpinWait();
        int ready;
        while ((ready = Volatile.Read(ref _ready[slice])) == 0) Spin(ref spin);
        return ready == 1;
    }

    /// <summary>Waits until tile <paramref name="tile"/> has added every slice before <paramref name="slice"/> into C.</summary>
    public void AwaitTile(int tile, int slice) => Await(ref _tileSlices[tile], slice);

    /// <summary>Records tile <paramref name="tile"/>'s <paramref name="slice"/> added into C.</summary>
    public void Tiled(int tile, int slice)
    {
        Volatile.Write(ref _tileSlices[tile], slice + 1);
        Interlocked.Increment(ref _tilesDone[slice]);
    }

    // Spins, then yields the core, never sleeps a whole millisecond: the item waited for is normally microseconds from done.
    private void Await(ref int counter, int value)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref counter) < value) Spin(ref spin);
    }

    private void Spin(ref SpinWait spin)
    {
        if (Volatile.Read(ref _failed) != 0) throw new OperationCanceledException("SGEMM: another participant of this call failed");
        spin.SpinOnce(sleep1Threshold: -1);
    }
}
