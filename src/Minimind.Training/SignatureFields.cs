namespace Minimind.Training;

/// <summary>
/// Ordered (name, value) fields of a run's signature (see <see cref="Trainer.Signature"/>), compared by content so that
/// option records holding them keep value equality.
/// </summary>
public sealed record SignatureFields(IReadOnlyList<KeyValuePair<string, string>> Fields)
{
    /// <summary>No fields.</summary>
    public static SignatureFields None { get; } = new(Array.Empty<KeyValuePair<string, string>>());

    /// <inheritdoc/>
    public bool Equals(SignatureFields? other) => other is not null && Fields.SequenceEqual(other.Fields);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var kv in Fields) h.Add(kv);
        return h.ToHashCode();
    }
}
