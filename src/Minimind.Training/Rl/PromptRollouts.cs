using Minimind.Model;
using Minimind.Training.Stages;
using Minimind.Model.Data.Rl;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;

namespace Minimind.Training.Rl;

/// <summary>
/// The rollout half of an RL stage (GRPO: G completions per prompt; PPO: one): B prompts × G samples through one
/// <see cref="RolloutEngine"/> over the policy, decoded and scored by <see cref="GrpoRewards"/>. Sequence b·G + g forks
/// prompt b's prefill and draws from its own stream, seeded by its prompt's seed (GRPO) or the batch's value (PPO) and
/// its index (<see cref="RolloutRng.SeedOf"/>), so a batch's samples do not depend on the order the engine steps its
/// sequences in.
/// </summary>
public sealed class PromptRollouts : IDisposable
{
    private readonly RlPromptSet _prompts;
    private readonly SamplingOptions _sampling;
    private readonly GrpoRewards _rewards;
    private readonly ITokenizer _tokenizer;
    private readonly int _eos;
    private readonly RolloutEngine _engine;
    private readonly bool _ownsEngine;

    /// <summary>Rollouts of <paramref name="policy"/> for up to <paramref name="maxSequences"/> sequences at once, stopping at <paramref name="eosId"/>, on an engine of their own.</summary>
    public PromptRollouts(MiniMindModel policy, RlPromptSet prompts, SamplingOptions sampling, GrpoRewards rewards, ITokenizer tokenizer, int eosId, int maxSequences)
        : this(new RolloutEngine(policy, new RolloutEngineOptions { MaxSequences = maxSequences, Context = prompts.SeqLen }), prompts, sampling, rewards, tokenizer, eosId)
    {
        _ownsEngine = true;
    }

    /// <summary>Rollouts on <paramref name="engine"/> (the caller's: not disposed here), stopping at <paramref name="eosId"/>.</summary>
    public PromptRollouts(RolloutEngine engine, RlPromptSet prompts, SamplingOptions sampling, GrpoRewards rewards, ITokenizer tokenizer, int eosId)
    {
        _engine = engine; _prompts = prompts; _sampling = sampling; _rewards = rewards; _tokenizer = tokenizer; _eos = eosId;
    }

    /// <summary>The eos id completions stop at.</summary>
    public int EosId => _eos;

    /// <summary>Samples <paramref name="generations"/> completions of each prompt of <paramref name="samples"/> (data indices), prompt b's g-th from <see cref="RolloutRng.SeedOf"/>(<paramref name="promptSeeds"/>[b], g), and scores them.</summary>
    public GrpoRolloutBatch Sample(int[] samples, ulong[] promptSeeds, int generations)
    {
        if (promptSeeds.Length != samples.Length) throw new ArgumentException($"{promptSeeds.Length} prompt seeds for {samples.Length} prompts");
        // Sequence k = b·G + g draws from SeedOf(prompt b's seed, g).
        ulong seedOf(int k) => RolloutRng.SeedOf(promptSeeds[k / generations], k % generations);
        int b = samples.Length, g = generations;
        var prompts = samples.Select(i => _prompts.Prompts[i]).ToArray();
        int width = prompts.Max(p => p.Ids.Length);
        var ids = new int[b * g];
        var stop = new[] { _eos };
        for (int i = 0; i < b; i++)
        {
            Sampler SamplerOf(int k) => new(_sampling, seedOf(k));
            ids[i * g] = _engine.Add(new GenerationRequest
            {
                Prompt = prompts[i].Ids, Sampler = SamplerOf(i * g), MaxNewTokens = _prompts.MaxGenLen, StopIds = stop,
                PositionOffset = width - prompts[i].Ids.Length,
            });
            for (int k = 1; k < g; k++) ids[i * g + k] = _engine.Fork(ids[i * g], SamplerOf(i * g + k));
        }
        _engine.RunAll();
        var completions = new int[b * g][];
        for (int r = 0; r < ids.Length; r++)
        {
            completions[r] = _engine[ids[r]].Completion.ToArray();
            _engine.Release(ids[r]);
        }
        var texts = completions.Select(c => _tokenizer.Decode(c, skipSpecialTokens: true)).ToArray();
        var rewards = _rewards.Score(prompts, texts, g);
        return new GrpoRolloutBatch(samples, prompts, width, completions, texts, rewards);
    }

    /// <inheritdoc/>
    public void Dispose() { if (_ownsEngine) _engine.Dispose(); }
}
