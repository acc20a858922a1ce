namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void Embedding(Tensor y, IntTensor ids, Tensor table, RowShape s)
    {
        int count = s.Rows, dim = s.Dim;
        var (ya, yo) = Arr(y); var (ia, io) = In(ids); var (ta, to) = In(table);
        long vocab = dim == 0 ? 0 : table.Length / dim;
        for (int i = 0; i < count; i++)
        {
            int id = ia[io + i];
            if (id < 0 || id >= vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: ids[{i}] = {id} is outside the table's [0, {vocab}) rows");
        }
        _work.For(count, 64, (s0, e) =>
        {
            for (long i = s0; i < e; i++)
                ta.AsSpan(to + ia[io + i] * dim, dim).CopyTo(ya.AsSpan(yo + (int)i * dim, dim));
        });
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, RowShape s)
    {
        int count = s.Rows, dim = s.Dim;
        var (ga, go) = Arr(dTable); var (da, dof) = In(dy); var (ia, io) = In(ids);
        long vocab = dim == 0 ? 0 : dTable.Length / dim;
        for (int i = 0; i < count; i++)
        {
            int id = ia[io + i];
            if (id < 0 || id >= vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), $"EmbeddingBackward: ids[{i}] = {id} is outside the table's [0, {vocab}) rows");
        }
        // Partition over columns: every table element then receives its tokens in ascending i, race-free.
        _work.For(dim, 32, (c0, c1) =>
        {
            int w = (int)(c1 - c0);
            for (int i = 0; i < count; i++)
            {
                var dst = ga.AsSpan(go + ia[io + i] * dim + (int)c0, w);
                var src = da.AsSpan(dof + i * dim + (int)c0, w);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
            }
        });
    }
}
