using Minimind.Checkpoint;
using Minimind.Kernels;

namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    // ---- the PPO critic: MiniMind's body + final norm + value_head ----

    /// <summary>
    /// A PPO critic as train_ppo.py's CriticModel: the causal LM's parameters plus <c>value_head</c> = Linear(dim, 1) with
    /// bias; value = value_head(norm(norm(h))) — the final RMSNorm applied twice with the same weight, once inside
    /// MiniMind's model and once in the critic's forward. The output head is not used. Run it in float32 as MiniMind does
    /// (its critic runs outside autocast).
    /// </summary>
    public static MiniMindModel CreateCritic(ModelConfig config, IBackend backend, int maxBatch, int maxSeqLen) =>
        new(config, backend, maxBatch, maxSeqLen, valueHead: true);

    /// <summary>True for a model made by <see cref="CreateCritic"/>.</summary>
    public bool IsCritic => _layout.ValueHead is not null;

    /// <summary>
    /// Loads a critic as train_ppo.py does — a causal LM's state dict (the actor's starting weights) with the value head
    /// left at its initialisation — or a saved critic (with <c>value_head.*</c>). Unlike MiniMind's strict=False load,
    /// every key of the body must be present with its shape (a critic silently left random would be worse than an
    /// error); a missing value head is initialised as torch's nn.Linear default, U(−1/√dim, 1/√dim) for weight and
    /// bias, from <paramref name="seed"/>. Returns whether the value head came from the file.
    /// </summary>
    public bool LoadCritic(StateDict sd, int seed)
    {
        RequireCritic();
        var host = new float[Parameters.TotalElements];
        var report = StateDictLoader.Load(sd, Parameters, host, strict: false);
        var head = new[] { _layout.ValueHead!.Name, _layout.ValueBias!.Name };
        var missingBody = report.Missing.Where(k => !head.Contains(k)).ToList();
        string source = sd.SourcePath ?? "the state dict";
        if (missingBody.Count > 0 || report.Mismatched.Count > 0)
            throw new StateDictLoadException($"{source} cannot start the critic: " + string.Join("; ", new[]
            {
                missingBody.Count > 0 ? $"missing {string.Join(", ", missingBody.Take(8))}{(missingBody.Count > 8 ? $" and {missingBody.Count - 8} more" : "")}" : null,
                report.Mismatched.Count > 0 ? "shape mismatch " + string.Join(", ", report.Mismatched.Take(8).Select(m => $"{m.Key} [{string.Join(", ", m.CheckpointShape)}] vs [{string.Join(", ", m.ModelShape)}]")) : null,
            }.Where(x => x is not null)) + " (is it a checkpoint of this --arch?)", report);
        int headMissing = head.Count(report.Missing.Contains);
        if (headMissing == 1)
            throw new StateDictLoadException($"{source} has only one of {head[0]} and {head[1]}", report);
        bool fromFile = headMissing == 0;
        if (!fromFile)
        {
            var rng = new Random(seed);
            float bound = 1f / MathF.Sqrt(Config.Dim);
            foreach (var e in new[] { _layout.ValueHead, _layout.ValueBias })
                for (long i = 0; i < e.Numel; i++) host[e.Offset + i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        }
        Backend.Upload(Weights, host);
        return fromFile;
    }

    /// <summary>
    /// The critic's value at every position of <paramref name="inputs"/> [B·T] (forward; keeps the activations for
    /// <see cref="ValuesBackward"/>); row b's tokens at RoPE positions <paramref name="positionOffsets"/>[b] + t when given
    /// (MiniMind's left-padded rows, see <see cref="Batch.PositionOffsets"/>).
    /// </summary>
    public float[] Values(int[] inputs, int batch, int seqLen, int[]? positionOffsets = null)
    {
        RequireCritic();
        CheckShape(batch, seqLen);
        if (inputs.Length != batch * seqLen) throw new ArgumentException($"inputs hold {inputs.Length} ids, expected {batch * seqLen}");
        CheckIds(inputs, "input");
        Backend.Upload(_ids, inputs);
        SetStarts(positionOffsets, batch, seqLen);
        Forward(batch, seqLen);
        int rows = batch * seqLen, d = Config.Dim;
        var lnV = Rows(_s.LnV, rows, d);
        Backend.RmsNorm(lnV, Rows(_s.RstdV, rows, 1), Rows(_lnF, rows, d), W(_layout.FinalNorm), new(rows, d), Config.NormEps);
        Backend.MatMul(Rows(_losses, rows, 1), lnV, W(_layout.ValueHead!), new(rows, 1, d, Precision.Fp32));
        var v = new float[rows];
        Backend.Download(Rows(_losses, rows, 1), v);
        var bias = new float[1];
        Backend.Download(W(_layout.ValueBias!), bias);
        for (int i = 0; i < rows; i++) v[i] += bias[0];
        return v;
    }

    /// <summary>
    /// Right after <see cref="Values"/> on the same inputs: adds the gradient of Σ_i dValues[i]·value_i into
    /// <see cref="Gradients"/> (value head, both applications of the final norm, the body). The body's MoE aux loss is
    /// not part of MiniMind's critic loss, so it contributes no gradient.
    /// </summary>
    public void ValuesBackward(int batch, int seqLen, ReadOnlySpan<float> dValues)
    {
        RequireCritic();
        int rows = batch * seqLen, d = Config.Dim;
        if (dValues.Length != rows) throw new ArgumentException($"dValues holds {dValues.Length} values, the batch has {rows} positions");
        var dv = Rows(_rowScale, rows, 1);
        Backend.Upload(dv, dValues);
        double bias = 0;
        foreach (float g in dValues) bias += g;
        var one = Rows(_losses, 1, 1);
        Backend.Upload(one, new[] { (float)bias });
        Backend.AddInPlace(G(_layout.ValueBias!), one);
        var lnV = Rows(_s.LnV, rows, d);
        var dLnV = Rows(_s.DX, rows, d);
        GemmShape head = new(rows, 1, d, Precision.Fp32);
        Backend.MatMulBackwardWeight(G(_layout.ValueHead!), dv, lnV, head, WriteMode.Accumulate);
        Backend.MatMulBackwardInput(dLnV, dv, W(_layout.ValueHead!), head, WriteMode.Overwrite);
        Backend.RmsNormBackward(Rows(_s.DLn, rows, d), G(_layout.FinalNorm), dLnV, Rows(_lnF, rows, d), W(_layout.FinalNorm),
            Rows(_s.RstdV, rows, 1), new(rows, d), WriteMode.Overwrite);
        LastAuxLoss = BodyBackward(batch, seqLen, lossScale: 0f);
    }

    private void RequireCritic()
    {
        if (!IsCritic) throw new InvalidOperationException("this model has no value head: create it with MiniMindModel.CreateCritic");
    }
}
