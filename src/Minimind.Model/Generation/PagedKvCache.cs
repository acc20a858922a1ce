using Minimind.Kernels;

namespace Minimind.Model.Generation;

/// <summary>
/// The keys and values of every running sequence, in one pool of fixed-size pages per layer ([Pages, PageSize, Hkv, hd]
/// for k and for v), allocated once. A sequence owns a list of pages (its page table); a page can be shared by several
/// sequences (a prompt sampled G times is stored once) and is copied before one of them writes into it. Memory is
/// therefore proportional to the tokens actually cached, not to sequences × context. Page ids are handed out lowest
/// first, so the same calls lay pages out the same way.
/// </summary>
public sealed class PagedKvCache : IDisposable
{
    private readonly IBackend _backend;
    private readonly (Tensor K, Tensor V)[] _layers;
    private readonly int[] _refs;
    private readonly SortedSet<int> _free = new();
    private readonly IntTensor _table, _pastLens;
    private readonly long _row;
    private bool _disposed;

    /// <summary>Rows per page.</summary>
    public int PageSize { get; }
    /// <summary>Pages in the pool.</summary>
    public int Pages { get; }
    /// <summary>Most pages one sequence can hold (its context / <see cref="PageSize"/>, rounded up).</summary>
    public int PagesPerSequence { get; }
    /// <summary>Most sequences one decode call covers.</summary>
    public int MaxBatch { get; }
    /// <summary>Pages not held by any sequence.</summary>
    public int FreePages => _free.Count;
    /// <summary>Bytes of the k and v pools on the backend (all layers).</summary>
    public long Bytes { get; }

    /// <summary>Allocates the pools for <paramref name="config"/>'s layers and the page table for <paramref name="maxBatch"/>
    /// sequences of at most <paramref name="context"/> rows each.</summary>
    public PagedKvCache(IBackend backend, ModelConfig config, int pages, int pageSize, int context, int maxBatch)
    {
        if (pageSize <= 0) throw new ArgumentOutOfRangeException(nameof(pageSize), $"KV page size must be positive, got {pageSize}");
        if (pages <= 0) throw new ArgumentOutOfRangeException(nameof(pages), $"KV cache pages must be positive, got {pages}");
        if (context <= 0 || maxBatch <= 0) throw new ArgumentOutOfRangeException(nameof(context), $"context ({context}) and batch ({maxBatch}) must be positive");
        _backend = backend;
        PageSize = pageSize; Pages = pages; MaxBatch = maxBatch;
        PagesPerSequence = (context + pageSize - 1) / pageSize;
        _row = (long)config.NKvHeads * config.HeadDim;
        long perLayer = pages * pageSize * _row;
        _layers = new (Tensor, Tensor)[config.NLayers];
        for (int l = 0; l < _layers.Length; l++) _layers[l] = (backend.Alloc(perLayer), backend.Alloc(perLayer));
        Bytes = 2L * perLayer * sizeof(float) * config.NLayers;
        _refs = new int[pages];
        for (int p = 0; p < pages; p++) _free.Add(p);
        _table = backend.AllocInt((long)maxBatch * PagesPerSequence);
        _pastLens = backend.AllocInt(maxBatch);
    }

    /// <summary>Layer <paramref name="layer"/>'s key and value pools.</summary>
    public (Tensor K, Tensor V) Layer(int layer) => _layers[layer];

    /// <summary>Takes a free page (the lowest id) for one holder; throws when none is left.</summary>
    public int Allocate()
    {
        if (_free.Count == 0) throw new InvalidOperationException($"the KV cache is full ({Pages} pages of {PageSize} tokens)");
        int p = _free.Min;
        _free.Remove(p);
        _refs[p] = 1;
        return p;
    }

    /// <summary>One more holder of <paramref name="page"/> (a sequence sharing another's rows).</summary>
    public void Share(int page)
    {
        if (_refs[page] <= 0) throw new InvalidOperationException($"KV page {page} is not allocated");
        _refs[page]++;
    }

    /// <summary>One holder fewer; the page is free again when none is left.</summary>
    public void Release(int page)
    {
        if (_refs[page] <= 0) throw new InvalidOperationException($"KV page {page} is released more often than it was taken");
        if (--_refs[page] == 0) _free.Add(page);
    }

    /// <summary>True when more than one sequence holds <paramref name="page"/> (it must be copied before a write).</summary>
    public bool IsShared(int page) => _refs[page] > 1;

    /// <summary>A private copy of the first <paramref name="rows"/> rows of <paramref name="page"/> in every layer: the
    /// caller's hold moves from the shared page to the returned one.</summary>
    public int CopyOnWrite(int page, int rows)
    {
        int copy = Allocate();
        long n = rows * _row, to = copy * PageSize * _row, from = page * PageSize * _row;
        foreach (var (k, v) in _layers)
        {
            _backend.Copy(k.Slice(to, n), k.Slice(from, n));
            _backend.Copy(v.Slice(to, n), v.Slice(from, n));
        }
        Release(page);
        return copy;
    }

    /// <summary>Uploads one decode call's page table ([batch, <see cref="PagesPerSequence"/>], each sequence's pages then
    /// zeros) and cached lengths, and returns them as the ops take them.</summary>
    public KvPages Bind(IReadOnlyList<IReadOnlyList<int>> pages, ReadOnlySpan<int> pastLens)
    {
        int batch = pages.Count;
        if (batch > MaxBatch) throw new ArgumentException($"{batch} sequences in one call; the KV cache was made for {MaxBatch}");
        var table = new int[batch * PagesPerSequence];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < pages[b].Count; i++) table[b * PagesPerSequence + i] = pages[b][i];
        _backend.Upload(_table, table);
        _backend.Upload(_pastLens, pastLens[..batch]);
        return new KvPages(_table, _pastLens, PageSize, PagesPerSequence);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (k, v) in _layers) { k.Buffer.Dispose(); v.Buffer.Dispose(); }
        _table.Buffer.Dispose();
        _pastLens.Buffer.Dispose();
    }
}
