namespace Minimind.Model.Data.Sft;

/// <summary>What to do with a rendered conversation longer than max_seq_len tokens.</summary>
public enum SftOverflow
{
    /// <summary>Cut it at max_seq_len as MiniMind's SFTDataset does (<c>input_ids[:max_length]</c>; an assistant span cut open runs to the end): the default.</summary>
    Truncate,
    /// <summary>Leave it out and count it.</summary>
    Skip,
    /// <summary>Stop with an error naming the file and line.</summary>
    Error,
}

/// <summary>How SFT/DPO rows are built (see <see cref="SftSource"/>).</summary>
public sealed record SftOptions
{
    /// <summary>Row length before the shift (MiniMind's max_length; train_full_sft.py's default is 768).</summary>
    public int MaxSeqLen { get; init; } = 768;
    /// <summary>MiniMind's random system prompt / empty-think removal, deterministic per sample; null = off.</summary>
    public SftAugmentation? Augmentation { get; init; } = new SftAugmentation(42);
    /// <summary>Over-long conversations: truncated, as MiniMind.</summary>
    public SftOverflow Overflow { get; init; } = SftOverflow.Truncate;
}
