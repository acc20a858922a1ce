using System.Text.RegularExpressions;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model.Chat;
using Minimind.Model.Generation;
using Minimind.Model.Tests.Model;

namespace Minimind.Model.Tests.Chat;

/// <summary>Multi-turn chat: the KV cache kept across turns gives the same reply as a fresh prefill; `minimind chat` over scripted stdin.</summary>
public sealed class ChatSessionTests
{
    private static ModelConfig Small => ModelConfig.Preset("minimind2") with { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 160 };
    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };

    [Fact]
    public void Cached_turns_reply_as_a_fresh_prefill_of_the_whole_conversation()
    {
        var format = ChatFormat.Load("byte");
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(Small, be, 1, Small.MaxSeqLen);
        model.InitRandom(11);
        using var fresh = MiniMindModel.Create(Small, be, 1, Small.MaxSeqLen);
        fresh.LoadStateDict(model.ExportStateDict());
        var session = new ChatSession(model, format, Greedy, "You are minimind.") { MaxNewTokens = 12 };
        // the third turn outgrows the 160-token context: the oldest exchange is dropped and the cache refilled
        foreach (var msg in new[] { "hi", "what is 2 + 3?", "and 4 + 4?" })
        {
            int[] prompt = session.PromptIds(msg);
            int cachedBefore = session.CachedTokens;
            var reply = session.Reply(msg).ToArray();
            var expected = TextGenerator.Generate(fresh, prompt, 12, new Sampler(Greedy), format.StopId).ToArray();
            Assert.Equal(expected, reply);
            Assert.Equal(prompt.Length, session.LastReusedTokens + session.LastPrefilledTokens);
            if (cachedBefore > 0 && msg != "and 4 + 4?") Assert.True(session.LastReusedTokens > 0 && session.LastPrefilledTokens < prompt.Length / 2 + 20,
                $"turn '{msg}': {session.LastReusedTokens} reused, {session.LastPrefilledTokens} fed of {prompt.Length}");
        }
        Assert.Equal(("user", "and 4 + 4?"), session.History[^2]);
        Assert.Equal("assistant", session.History[^1].Role);
        session.Reset();
        Assert.Empty(session.History);
    }

    [SkippableFact]
    public void Rendering_uses_the_generation_prompt_and_open_thinking()
    {
        var v3 = ChatFormat.Load(ChatTestPaths.RequireTokenizerFolder("v3"));
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(Small with { VocabSize = v3.Tokenizer.VocabSize }, be, 1, 160);
        var s = new ChatSession(model, v3, Greedy);
        Assert.EndsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n", v3.Tokenizer.Decode(s.PromptIds("hi")));
        s.OpenThinking = true;
        Assert.EndsWith("<|im_start|>assistant\n<think>\n", v3.Tokenizer.Decode(s.PromptIds("hi")));
    }

}
