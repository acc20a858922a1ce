using Minimind.Model.Tokenizer;

namespace Minimind.Model.Evaluation;

/// <summary>
/// Tokenizes a (context, continuation) pair exactly as lm-evaluation-harness's causal models do
/// (<c>LM.loglikelihood</c> and <c>_encode_pair</c> in lm_eval/api/model.py, <c>HFLM.tok_encode</c>):
/// <list type="bullet">
/// <item>the context's trailing whitespace (whatever Python's <c>rstrip</c> removes) moves to the front of the continuation;</item>
/// <item>the continuation's tokens are the tail of <c>encode(context + continuation)</c> after <c>len(encode(context))</c>
///   tokens, so a token that merges across the boundary belongs to the continuation;</item>
/// <item>an empty context becomes the prefix token (bos), and the continuation is encoded alone; when it already starts
///   with that token, its first token becomes the context;</item>
/// <item>no bos before a non-empty context unless <see cref="AddBos"/> (lm-eval's <c>add_bos_token=True</c>), which puts it
///   before both encodings, except for text that already starts with the bos token's text.</item>
/// </list>
/// </summary>
public sealed class ContinuationEncoder
{
    private readonly ITokenizer _tok;
    private readonly string _bosText;

    /// <summary>An encoder over <paramref name="tokenizer"/>.</summary>
    public ContinuationEncoder(ITokenizer tokenizer, bool addBos)
    {
        _tok = tokenizer;
        AddBos = addBos;
        _bosText = tokenizer.Decode(new[] { tokenizer.BosId });
        _bosOnly = new[] { tokenizer.BosId };
    }

    /// <summary>Whether bos goes before the context (lm-eval's <c>add_bos_token</c>).</summary>
    public bool AddBos { get; }

    /// <summary>
    /// The (context ids, continuation ids) of each continuation. The context array is one shared instance unless the
    /// context is empty and some continuations start with the bos token. A continuation that encodes to nothing throws,
    /// naming the choice (lm-eval asserts the same).
    /// </summary>
    public (int[] Context, int[] Continuation)[] Encode(string context, IReadOnlyList<string> continuations)
    {
        var pairs = new (int[], int[])[continuations.Count];
        if (context.Length == 0)
        {
            for (int i = 0; i < pairs.Length; i++)
            {
                var (ctx, cont) = EncodeEmptyContext(continuations[i]);
                pairs[i] = (ctx, Checked(cont, i, continuations[i]));
            }
            return pairs;
        }
        string trimmed = PyText.RStrip(context);
        string moved = context[trimmed.Length..];
        var ctxIds = Encode(trimmed);
        for (int i = 0; i < pairs.Length; i++)
        {
            var whole = Encode(trimmed + moved + continuations[i]);
            pairs[i] = (ctxIds, Checked(whole[Math.Min(ctxIds.Length, whole.Length)..], i, continuations[i]));
        }
        return pairs;
    }

    private readonly int[] _bosOnly;

    private (int[] Context, int[] Continuation) EncodeEmptyContext(string continuation)
    {
        var ids = _tok.Encode(continuation);
        if (ids.Length > 0 && ids[0] == _tok.BosId) return (ids[..1], ids[1..]);
        return (_bosOnly, ids);
    }

    // HFLM.tok_encode: the tokenizer never adds specials by itself here; add_bos_token puts bos first unless the text has it.
    private int[] Encode(string text)
    {
        var ids = _tok.Encode(text);
        if (!AddBos || (_bosText.Length > 0 && text.StartsWith(_bosText, StringComparison.Ordinal))) return ids;
        var withBos = new int[ids.Length + 1];
        withBos[0] = _tok.BosId;
        ids.CopyTo(withBos, 1);
        return withBos;
    }

    private static int[] Checked(int[] cont, int i, string text) => cont.Length > 0 ? cont
        : throw new InvalidDataException($"choice {i} {Quote(text)} encodes to no tokens after the context (lm-eval requires a non-empty continuation; check the choice and --target-delimiter)");

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
