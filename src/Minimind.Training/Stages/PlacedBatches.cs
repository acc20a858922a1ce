using System.Runtime.CompilerServices;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Training.Rl;

namespace Minimind.Training.Stages;

/// <summary>
/// The RL stages' batches: each remembers its prompts (data indices) and its place in the data order, from which its
/// prompts' rollout seeds come (<see cref="RolloutRng.PromptSeed"/>), so a prompt samples the same rollouts whichever
/// rank or micro-batch slot computes it.
/// </summary>
internal sealed class PlacedBatches
{
    private readonly ConditionalWeakTable<Batch, Placed> _of = new();
    private readonly IPretrainSource _data;

    /// <summary>Batches of <paramref name="data"/>'s rows.</summary>
    public PlacedBatches(IPretrainSource data) => _data = data;

    /// <summary>A batch of <paramref name="samples"/>' rows at <paramref name="place"/> (null: readable, not trainable).</summary>
    public Batch Create(ReadOnlySpan<int> samples, BatchPlace? place)
    {
        var batch = StageBatches.Rows(_data, samples);
        _of.Add(batch, new Placed(samples.ToArray(), place));
        return batch;
    }

    /// <summary>The prompt indices of <paramref name="batch"/>, its place, and each prompt's rollout seed from <paramref name="rng"/> (errors name <c>--stage <paramref name="stage"/></c>).</summary>
    public (int[] Samples, BatchPlace Place, ulong[] PromptSeeds) Of(Batch batch, RolloutRng rng, string stage)
    {
        if (!_of.TryGetValue(batch, out var p))
            throw new ArgumentException($"a {stage} batch must come from this stage's CreateBatch (it carries prompt indices)");
        var place = p.Place ?? throw new ArgumentException($"a {stage} batch must be placed in the data order (CreateBatch with a BatchPlace): its prompts' rollout seeds come from their place");
        return (p.Samples, place, p.Samples.Select((_, b) => rng.PromptSeed(place.Epoch, place.SampleIndex(b))).ToArray());
    }

    private sealed record Placed(int[] Samples, BatchPlace? Place);
}
