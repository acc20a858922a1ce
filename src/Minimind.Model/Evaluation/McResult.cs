namespace Minimind.Model.Evaluation;

/// <summary>
/// One scored question, with lm-evaluation-harness's <c>process_results</c> for <c>multiple_choice</c>: <c>acc</c> from
/// the argmax of the log-likelihoods, <c>acc_norm</c> from the argmax of log-likelihood / <c>len(choice)</c> in characters
/// (Python code points, the delimiter not counted), <c>acc_bytes</c> by UTF-8 bytes (lm-eval computes it; tasks that list
/// it report it). argmax as numpy's: the first maximum, or the first NaN (a zero-length choice gives −inf or NaN, as there).
/// </summary>
public sealed record McResult(McItem Item, ChoiceScore[] Scores, (int[] Context, int[] Continuation)[] Tokens)
{
    /// <summary>Index of the most likely choice.</summary>
    public int Pred => ArgMax(Scores.Select(s => s.LogLikelihood));
    /// <summary>Index of the most likely choice per character.</summary>
    public int PredNorm => ArgMax(Scores.Select((s, i) => s.LogLikelihood / PyText.Length(Item.Choices[i])));
    /// <summary>Index of the most likely choice per UTF-8 byte.</summary>
    public int PredBytes => ArgMax(Scores.Select((s, i) => s.LogLikelihood / PyText.Utf8Length(Item.Choices[i])));
    /// <summary>1 when <see cref="Pred"/> is the label.</summary>
    public double Acc => Pred == Item.Label ? 1 : 0;
    /// <summary>1 when <see cref="PredNorm"/> is the label.</summary>
    public double AccNorm => PredNorm == Item.Label ? 1 : 0;
    /// <summary>1 when <see cref="PredBytes"/> is the label.</summary>
    public double AccBytes => PredBytes == Item.Label ? 1 : 0;

    /// <summary>numpy's argmax: the first NaN if any, else the first maximum.</summary>
    public static int ArgMax(IEnumerable<double> values)
    {
        int best = -1, i = 0;
        double max = double.NegativeInfinity;
        foreach (double x in values)
        {
            if (double.IsNaN(x)) return i;
            if (best < 0 || x > max) { max = x; best = i; }
            i++;
        }
        return best;
    }
}
