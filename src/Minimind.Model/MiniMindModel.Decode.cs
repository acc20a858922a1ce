using Minimind.Kernels;
using Minimind.Model.Generation;

namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    /// <summary>
    /// The decode path (the <see cref="RolloutEngine"/>'s one forward): <paramref name="newTokens"/> tokens for each of
    /// <paramref name="batch"/> sequences (ids [batch·newTokens]) go through the model; sequence b's tokens sit at RoPE
    /// positions <paramref name="starts"/>[b]..; their keys and values are appended to <paramref name="cache"/> at the rows
    /// <paramref name="pages"/> gives (bound by <see cref="PagedKvCache.Bind"/>), and each attends to its own sequence's
    /// cached rows. Writes the logits of each sequence's last new token to <paramref name="logits"/> [batch, V], or with
    /// <paramref name="everyRow"/> those of every new token [batch·newTokens, V] (teacher forcing scores them all). Every
    /// row is computed as it would be alone (row-invariant ops), so a sequence's logits do not depend on the batch.
    /// </summary>
    internal void DecodeForward(PagedKvCache cache, KvPages pages, ReadOnlySpan<int> ids, int batch, int newTokens, int[] starts, Span<float> logits, bool everyRow = false)
    {
        int rows = batch * newTokens, v = Config.VocabSize, d = Config.Dim;
        if (batch <= 0 || newTokens <= 0 || ids.Length != rows)
            throw new ArgumentException($"decode got {ids.Length} ids, expected {batch} sequences x {newTokens} tokens");
        if (rows > _maxRows)
            throw new ArgumentException($"{rows} decode rows exceed the model's activation rows ({_maxRows} = batch {MaxBatch} x {MaxSeqLen} tokens)");
        long want = (long)(everyRow ? rows : batch) * v;
        if (logits.Length < want) throw new ArgumentException($"logits hold {logits.Length} values, expected {want}");
        var arr = ids.ToArray();
        CheckIds(arr, "input");
        Backend.Upload(_ids, arr);
        SetStarts(starts, batch, newTokens);
        Forward(batch, newTokens, cache, pages);
        var head = W(_layout.Head);
        if (newTokens == 1 || everyRow)
        {
            // every row wanted: the head over all of them at once
            Backend.MatMul(Rows(_logits, rows, v), Rows(_lnF, rows, d), head, new(rows, v, d, Precision));
            Backend.Download(Rows(_logits, rows, v), logits[..(rows * v)]);
            return;
        }
        for (int b = 0; b < batch; b++)
        {
            // the head only for the last row of each sequence
            long row = (long)b * newTokens + newTokens - 1;
            Backend.MatMul(_logits.Slice(0, v), _lnF.Slice(row * d, d), head, new(1, v, d, Precision));
            Backend.Download(_logits.Slice(0, v), logits.Slice(b * v, v));
        }
    }
}
