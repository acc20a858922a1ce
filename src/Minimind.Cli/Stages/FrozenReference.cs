using Minimind.Kernels;
using Minimind.Model;
using Minimind.Training;

namespace Minimind.Cli.Stages;

/// <summary>
/// MiniMind's <c>ref_model</c> of DPO and the RL stages: <c>init_model(from_weight)</c> a second time, frozen. Loaded on
/// every start (never checkpointed), so its file's hash joins the run's signature: a resume against a changed file is refused.
/// </summary>
public static class FrozenReference
{
    /// <summary>
    /// The reference for <paramref name="c"/>'s stage: <paramref name="rows"/> model rows of the data's length, at
    /// <paramref name="precision"/>, loaded from the --from-weight file (the policy's start, opened once), and its id
    /// for the signature. The caller owns the model.
    /// </summary>
    public static (MiniMindModel Model, string Id) Load(StageContext c, int rows, Precision precision, string stage)
    {
        var o = c.Options;
        var reference = MiniMindModel.CreateForwardOnly(c.Model.Config, c.Backend, rows, c.Data.SeqLen); // frozen: no gradients, one block's activations
        try
        {
            reference.Precision = precision;
            reference.InitRandom(checked((int)o.Seed));
            string id = "none (random init, seed " + o.Seed + ")";
            if (c.FromWeight is { } start)
            {
                start.Source(o);
                id = StageSetup.FrozenModelId(start.Path);
                start.LoadInto(reference, o, c.Log, $"reference (frozen, {id[..19]}...):");
            }
            else c.Log.WriteLine($"warning: --stage {stage} with --from-weight none: policy and reference start from the same random weights");
            return (reference, id);
        }
        catch { reference.Dispose(); throw; }
    }
}
