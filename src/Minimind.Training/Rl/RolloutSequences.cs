using Minimind.Model;
using Minimind.Training.Stages;

namespace Minimind.Training.Rl;

/// <summary>
/// A rollout batch laid out for teacher-forced forwards, as MiniMind's <c>gen_out</c>: row k = prompt + completion of
/// sequence k (prompt k / G), R = the longest completion; completions are eos-filled to R as its generate() leaves
/// finished rows, and a row whose prompt is shorter than the widest P starts its RoPE positions at P − its length
/// (<see cref="Batch.PositionOffsets"/>: MiniMind's left pads counted, never attended to). The model sees T = P + R tokens
/// per row, as MiniMind's forward of gen_out does (the last one predicts nothing, but a MoE router's aux loss counts it);
/// response token j of row k is the target at column len_k − 1 + j (MiniMind's <c>logp_pos</c>). One difference remains
/// for MoE models: MiniMind's aux loss also routes the left pads, where these rows hold eos fillers after their end.
/// </summary>
public sealed class RolloutSequences
{
    private readonly int[] _starts; // per row: the column whose target is response token 0

    /// <summary>The rows to forward (targets: the response tokens, everything else ignored).</summary>
    public Batch Batch { get; }
    /// <summary>R: response tokens per row.</summary>
    public int Width { get; }
    /// <summary>The response ids [rows × R] (eos-filled past each completion's end).</summary>
    public int[] CompletionIds { get; }
    /// <summary>Rows.</summary>
    public int Rows => Batch.BatchSize;

    private RolloutSequences(Batch batch, int width, int[] completionIds, int[] starts)
    {
        Batch = batch; Width = width; CompletionIds = completionIds; _starts = starts;
    }

    /// <summary>The sequences of <paramref name="rollout"/> (<paramref name="generations"/> completions per prompt), filled with <paramref name="eosId"/>.</summary>
    public static RolloutSequences Of(GrpoRolloutBatch rollout, int generations, int eosId)
    {
        int rows = rollout.Completions.Length, p = rollout.PromptWidth;
        int r = rollout.Completions.Max(c => c.Length);
        int t = p + r;
        var inputs = new int[rows * t];
        var targets = new int[rows * t];
        var offsets = new int[rows];
        var compIds = new int[rows * r];
        var starts = new int[rows];
        for (int row = 0; row < rows; row++)
        {
            var prompt = rollout.Prompts[row / generations].Ids;
            var comp = rollout.Completions[row];
            int len = prompt.Length;
            offsets[row] = p - len;
            starts[row] = len - 1;
            // prompt + completion, eos-filled to r (generate()'s finished rows), then pads past the row's end
            var full = new int[p + r];
            prompt.CopyTo(full, 0);
            for (int j = 0; j < r; j++) full[len + j] = compIds[row * r + j] = j < comp.Length ? comp[j] : eosId;
            for (int j = len + r; j < full.Length; j++) full[j] = eosId;
            for (int j = 0; j < t; j++)
            {
                inputs[row * t + j] = full[j];
                targets[row * t + j] = j >= len - 1 && j < len - 1 + r ? full[j + 1] : Batch.IgnoreIndex;
            }
        }
        return new RolloutSequences(new Batch(rows, t, inputs, targets, positionOffsets: offsets), r, compIds, starts);
    }

    /// <summary>The sub-batch of <paramref name="rows"/> in that order (a PPO minibatch: MiniMind's <c>gen_out[inds]</c>, same width).</summary>
    public RolloutSequences Select(ReadOnlySpan<int> rows)
    {
        int t = Batch.SeqLen, r = Width, n = rows.Length;
        var inputs = new int[n * t];
        var targets = new int[n * t];
        var offsets = new int[n];
        var compIds = new int[n * r];
        var starts = new int[n];
        for (int k = 0; k < n; k++)
        {
            int row = rows[k];
            Array.Copy(Batch.Inputs, row * t, inputs, k * t, t);
            Array.Copy(Batch.Targets, row * t, targets, k * t, t);
            Array.Copy(CompletionIds, row * r, compIds, k * r, r);
            offsets[k] = Batch.PositionOffsets![row];
            starts[k] = _starts[row];
        }
        return new RolloutSequences(new Batch(n, t, inputs, targets, positionOffsets: offsets), r, compIds, starts);
    }

    /// <summary>The response positions [rows × R] of a per-position array [rows × T] (log-probs, values).</summary>
    public float[] Responses(ReadOnlySpan<float> full)
    {
        int t = Batch.SeqLen;
        if (full.Length != Rows * t) throw new ArgumentException($"{full.Length} values for {Rows} rows x {t} positions");
        var resp = new float[Rows * Width];
        for (int row = 0; row < Rows; row++) full.Slice(row * t + _starts[row], Width).CopyTo(resp.AsSpan(row * Width, Width));
        return resp;
    }

    /// <summary>The per-position array [rows × T] holding <paramref name="responses"/> [rows × R] at the response positions, 0 elsewhere (a gradient).</summary>
    public float[] Spread(ReadOnlySpan<float> responses)
    {
        int t = Batch.SeqLen;
        if (responses.Length != Rows * Width) throw new ArgumentException($"{responses.Length} values for {Rows} rows x {Width} response tokens");
        var full = new float[Rows * t];
        for (int row = 0; row < Rows; row++) responses.Slice(row * Width, Width).CopyTo(full.AsSpan(row * t + _starts[row], Width));
        return full;
    }
}
