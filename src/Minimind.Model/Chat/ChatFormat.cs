using Minimind.Model.Tokenizer;

namespace Minimind.Model.Chat;

/// <summary>
/// A tokenizer with its chat template and MiniMind's assistant-span markers (<c>SFTDataset</c>):
/// <see cref="AssistantStart"/> = ids of <c>bos_token + "assistant\n"</c>, <see cref="TurnEnd"/> = ids of
/// <c>eos_token + "\n"</c>.
/// </summary>
public sealed class ChatFormat
{
    /// <summary>The tokenizer.</summary>
    public ITokenizer Tokenizer { get; }
    /// <summary>The chat template.</summary>
    public ChatTemplate Template { get; }
    /// <summary>Ids that open an assistant span (labels start after them).</summary>
    public int[] AssistantStart { get; }
    /// <summary>Ids that close an assistant span (labelled, inclusive).</summary>
    public int[] TurnEnd { get; }
    /// <summary>The id that ends an assistant turn in generation (the first id of <see cref="TurnEnd"/>).</summary>
    public int StopId => TurnEnd[0];

    /// <summary>Pairs <paramref name="tokenizer"/> with <paramref name="template"/>.</summary>
    public ChatFormat(ITokenizer tokenizer, ChatTemplate template)
    {
        Tokenizer = tokenizer;
        Template = template;
        AssistantStart = tokenizer.Encode(template.BosToken + "assistant\n");
        TurnEnd = tokenizer.Encode(template.EosToken + "\n");
        if (AssistantStart.Length == 0 || TurnEnd.Length == 0) throw new InvalidDataException($"{template.Source}: empty assistant markers");
    }

    /// <summary>
    /// <c>byte</c>: the byte tokenizer's chat variant (<c>&lt;|im_start|&gt;</c>=bos 257, <c>&lt;|im_end|&gt;</c>=eos 258)
    /// with <see cref="ChatTemplate.Builtin"/>; otherwise a tokenizer.json (or its folder) and the <c>chat_template</c>
    /// of the tokenizer_config.json beside it.
    /// </summary>
    public static ChatFormat Load(string tokenizerSpec)
    {
        if (tokenizerSpec == "byte") return new ChatFormat(new ByteTokenizer(chatMarkers: true), ChatTemplate.Builtin);
        var tok = TokenizerLoader.Load(tokenizerSpec);
        return new ChatFormat(tok, ChatTemplate.FromTokenizerConfig(tokenizerSpec));
    }
}
