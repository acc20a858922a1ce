using Minimind.Model.Chat;
using Minimind.Model.Data.Sft;

namespace Minimind.Cli.Stages;

/// <summary>
/// A stage over MiniMind's SFTDataset conversations (<c>{"conversations": [...]}</c> rendered with the tokenizer's chat
/// template, targets on the assistant spans): sft, lora and distill read the same rows.
/// </summary>
public abstract class ConversationRecipe(string name, string script, string summary, RecipeDefaults defaults) : StageRecipe(name, script, summary, defaults)
{
    /// <inheritdoc/>
    protected override StageData OpenBuiltin(DataRequest r)
    {
        var sft = SftSource.Builtin(ChatFormat.Load(r.TokSpec), new SftOptions { MaxSeqLen = r.MaxSeqLen });
        return new StageData(sft, $"built-in conversations ({sft.Count} rows, {r.TokSpec} tokenizer; {sft.Stats})");
    }

    /// <inheritdoc/>
    protected override StageData OpenJsonl(string path, DataRequest r)
    {
        var sft = SftSource.Open(path, ChatFormat.Load(r.TokSpec), new SftOptions { MaxSeqLen = r.MaxSeqLen }, r.Log);
        return new StageData(sft, $"conversations {path} ({sft.Stats})");
    }
}
