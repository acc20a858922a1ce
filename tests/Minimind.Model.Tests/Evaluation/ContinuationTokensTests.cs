using Minimind.Model.Evaluation;
using Minimind.Model.Tests.Tokenizer;

namespace Minimind.Model.Tests.Evaluation;

/// <summary>
/// ContinuationEncoder on MiniMind's v3 tokenizer against lm-evaluation-harness's own TemplateLM.loglikelihood
/// (_encode_pair: trailing whitespace moved to the continuation, the continuation as the tail of the whole encoding; the
/// empty-context rule) run over HuggingFace tokenizers (tokens_v3.json): every request of every case, without and with
/// add_bos_token.
/// </summary>
public sealed class ContinuationTokensTests
{
    public static IEnumerable<object[]> Cases() => EvalFixtures.CaseNames().SelectMany(c => new[] { new[] { c[0], false }, new[] { c[0], (object)true } });

    [SkippableTheory, MemberData(nameof(Cases))]
    public void Tokens_EqualLmEvalsEncodePair(string name, bool addBos)
    {
        var tok = TokenizerTestPaths.Load("v3");
        var c = EvalFixtures.Get(name);
        var want = EvalFixtures.Tokens(name, addBos);
        var encoder = new ContinuationEncoder(tok, addBos);
        Assert.Equal(c.Items.Length, want.Length);
        for (int i = 0; i < c.Items.Length; i++)
        {
            var got = encoder.Encode(c.Items[i].Context, c.Items[i].Continuations);
            Assert.Equal(want[i].Length, got.Length);
            for (int j = 0; j < got.Length; j++)
            {
                Assert.True(want[i][j].Context.AsSpan().SequenceEqual(got[j].Context), $"{name} item {i} choice {j}: context ids differ");
                Assert.True(want[i][j].Continuation.AsSpan().SequenceEqual(got[j].Continuation),
                    $"{name} item {i} choice {j}: continuation [{string.Join(",", got[j].Continuation)}], lm-eval [{string.Join(",", want[i][j].Continuation)}]");
            }
        }
    }

    [SkippableFact]
    public void TheFixturesExerciseTheSplitRules()
    {
        // The cases include a context with trailing whitespace that moves, a token that merges across the boundary
        // (so encode(context) is not a prefix-and-rest split of the continuation alone), and an empty context.
        var tok = TokenizerTestPaths.Load("v3");
        var items = EvalFixtures.Get("mc_0shot").Items;
        Assert.Contains(items, i => i.Context.Length > 0 && PyText.RStrip(i.Context) != i.Context);
        Assert.Contains(items, i => i.Context.Length == 0);
        var encoder = new ContinuationEncoder(tok, false);
        Assert.Contains(items.Where(i => i.Context.Length > 0), i => i.Continuations.Select((cont, j) => (cont, j)).Any(x =>
            !encoder.Encode(i.Context, i.Continuations)[x.j].Continuation.AsSpan().SequenceEqual(tok.Encode(x.cont))));
    }
}
