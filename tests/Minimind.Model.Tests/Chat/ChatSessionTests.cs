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

    [Fact]
    public void Chat_command_answers_each_stdin_line_and_reuses_the_cache()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            using var model = MiniMindModel.Create(Small, be, 1, Small.MaxSeqLen);
            model.InitRandom(3);
            var weights = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(weights, model.ExportStateDict());
            string[] arch = { "--arch", "minimind2", "--n-heads", "4", "--n-kv-heads", "2", "--max-seq-len", "160" };
            var (code, stdout, stderr) = CliEvalGenerateTests.CliWithInput("hi\n\nwhat is 2 + 3?\n", new[] { "chat", "--weights", weights, "--tokenizer", "byte", "--greedy", "--max-new-tokens", "10", "--show-speed" }.Concat(arch).ToArray());
            Assert.True(code == 0, stderr);
            var lines = stdout.Split('\n');
            Assert.Equal(3, lines.Length); // two replies, each ending in a newline
            var speed = Regex.Matches(stderr, @"prompt: (\d+) tokens from the cache, (\d+) fed");
            Assert.Equal(2, speed.Count);
            Assert.Equal("0", speed[0].Groups[1].Value);
            Assert.True(int.Parse(speed[1].Groups[1].Value) >= int.Parse(speed[0].Groups[2].Value), stderr);

            // the reference: the session's replies for the same messages
            var session = new ChatSession(model, ChatFormat.Load("byte"), Greedy) { MaxNewTokens = 10 };
            var tok = ChatFormat.Load("byte").Tokenizer;
            Assert.Equal(tok.Decode(session.Reply("hi").ToArray(), skipSpecialTokens: true), lines[0]);
            Assert.Equal(tok.Decode(session.Reply("what is 2 + 3?").ToArray(), skipSpecialTokens: true), lines[1]);

            // generate --chat: the first turn alone
            var one = CliEvalGenerateTests.CliWithInput("", new[] { "generate", "--weights", weights, "--tokenizer", "byte", "--greedy", "--max-new-tokens", "10", "--chat", "--prompt", "hi" }.Concat(arch).ToArray());
            Assert.True(one.code == 0, one.stderr);
            Assert.Equal(lines[0] + "\n", one.stdout);

            // a file that records its architecture and tokenizer (as the trainer writes) needs neither --tokenizer nor the shape flags
            var described = Path.Combine(dir, "described.pth");
            PthWriter.WriteStateDict(described, ArchitectureRecord.Attach(model.ExportStateDict(), model.Config, "byte"));
            var bare = CliEvalGenerateTests.CliWithInput("hi\n\nwhat is 2 + 3?\n", "chat", "--weights", described, "--greedy", "--max-new-tokens", "10");
            Assert.True(bare.code == 0, bare.stderr);
            Assert.Equal(stdout, bare.stdout);
            var none = CliEvalGenerateTests.CliWithInput("hi\n", new[] { "chat", "--weights", weights, "--greedy", "--max-new-tokens", "10" }.Concat(arch).ToArray());
            Assert.NotEqual(0, none.code);
            Assert.Contains("--tokenizer", none.stderr);
        }
        finally { Directory.Delete(dir, true); }
    }
}
