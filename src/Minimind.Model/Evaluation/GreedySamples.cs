using Minimind.Model.Chat;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Evaluation;

/// <summary>One prompt and the model's greedy answer to it.</summary>
public readonly record struct Sample(string Prompt, string Text, int Tokens);

/// <summary>
/// Greedy samples from a model for a fixed list of prompts, as llm.c prints samples while it trains: a pretrained
/// model continues <c>bos + prompt</c> (MiniMind's pretrain eval), a chat model (a <see cref="ChatFormat"/> given)
/// answers the prompt as a one-message conversation through its chat template. Greedy, so the same weights always
/// give the same text; it uses the model's KV cache and runs only forwards (training bits are untouched).
/// </summary>
public static class GreedySamples
{
    /// <summary>
    /// The prompts of <paramref name="path"/>: a .jsonl file of <c>{"prompt": "..."}</c> (or <c>{"text": ...}</c>) lines,
    /// otherwise one prompt per non-blank line.
    /// </summary>
    public static IReadOnlyList<string> ReadPrompts(string path)
    {
        var prompts = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? JsonlRows.Read(path).Select(r => JsonlRows.String(path, r.Line, r.Row, r.Row.TryGetProperty("prompt", out _) ? "prompt" : "text")).ToList()
            : File.Exists(path) ? File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToList()
            : throw new FileNotFoundException($"sample prompts file not found: {path}", path);
        return prompts.Count > 0 ? prompts : throw new InvalidDataException($"{path}: no prompts");
    }

    /// <summary>
    /// The greedy continuation (or, with <paramref name="chat"/>, reply) of each prompt, at most <paramref name="maxNewTokens"/>
    /// tokens, stopping at eos (the end-of-turn id for chat) or at the model's context. Special tokens are left out of the text.
    /// </summary>
    public static IReadOnlyList<Sample> Generate(MiniMindModel model, ITokenizer tokenizer, IReadOnlyList<string> prompts, int maxNewTokens, ChatFormat? chat = null)
    {
        var greedy = new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 };
        var result = new List<Sample>(prompts.Count);
        foreach (var prompt in prompts)
        {
            List<int> ids;
            if (chat is not null)
            {
                var session = new ChatSession(model, chat, greedy) { MaxNewTokens = maxNewTokens };
                ids = session.Reply(prompt).ToList();
            }
            else
            {
                var promptIds = new[] { tokenizer.BosId }.Concat(tokenizer.Encode(prompt)).ToArray();
                int room = Math.Min(maxNewTokens, model.MaxSeqLen - promptIds.Length);
                ids = room <= 0 ? new List<int>() : TextGenerator.Generate(model, promptIds, room, new Sampler(greedy), tokenizer.EosId).ToList();
            }
            result.Add(new Sample(prompt, (chat?.Tokenizer ?? tokenizer).Decode(ids.ToArray(), skipSpecialTokens: true), ids.Count));
        }
        return result;
    }
}
