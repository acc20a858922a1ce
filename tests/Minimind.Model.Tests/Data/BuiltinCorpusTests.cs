using Minimind.Model.Data;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Data;

/// <summary>The built-in corpus is deterministic, small and learnable (a float64 bigram model beats uniform by far).</summary>
public sealed class BuiltinCorpusTests
{
    [Fact]
    public void Documents_AreDeterministic_AndSmall()
    {
        var a = BuiltinCorpus.Documents();
        var b = BuiltinCorpus.Documents();
        Assert.Equal(a, b);
        long bytes = a.Sum(d => (long)System.Text.Encoding.UTF8.GetByteCount(d));
        Assert.InRange(bytes, 100_000, 400_000);
        Assert.NotEqual(a.Take(50), BuiltinCorpus.Documents(50, BuiltinCorpus.ValidationSeed));
    }

    [Fact]
    public void Documents_AreLearnable_HeldOutBigramLossFarBelowUniform()
    {
        // Add-one-smoothed byte bigram model fit on the training split, scored on the validation split.
        var tok = new ByteTokenizer();
        int v = tok.VocabSize;
        var counts = new double[v, v];
        var totals = new double[v];
        foreach (var d in BuiltinCorpus.Documents())
        {
            int prev = tok.BosId;
            foreach (int id in tok.Encode(d).Append(tok.EosId)) { counts[prev, id]++; totals[prev]++; prev = id; }
        }
        double nll = 0; long n = 0;
        foreach (var d in BuiltinCorpus.Documents(100, BuiltinCorpus.ValidationSeed))
        {
            int prev = tok.BosId;
            foreach (int id in tok.Encode(d).Append(tok.EosId)) { nll -= Math.Log((counts[prev, id] + 1) / (totals[prev] + v)); n++; prev = id; }
        }
        double loss = nll / n;
        Assert.True(loss < 0.5 * Math.Log(v), $"held-out bigram loss {loss:F3} nats is not far below uniform {Math.Log(v):F3}");
    }

    [Fact]
    public void CreateSource_RowsFollowTheConvention()
    {
        var tok = new ByteTokenizer();
        var src = BuiltinCorpus.CreateSource(tok, maxSeqLen: 64, count: 10);
        Assert.Equal(10, src.Count);
        Assert.Equal(63, src.SeqLen);
        var x = new int[63]; var y = new int[63];
        src.Fill(0, x, y);
        var doc = BuiltinCorpus.Documents(10)[0];
        var ids = tok.Encode(doc);
        Assert.Equal(tok.BosId, x[0]);
        Assert.Equal(ids.Take(62), y.Take(62)); // documents are longer than 62 bytes: truncated, last target is eos
        Assert.Equal(tok.EosId, y[62]);
    }
}
