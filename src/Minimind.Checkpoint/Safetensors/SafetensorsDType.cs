namespace Minimind.Checkpoint;

/// <summary>The safetensors dtype names (<c>"F32"</c>, <c>"BF16"</c>, ...) of the <see cref="TorchDType"/>s.</summary>
public static class SafetensorsDType
{
    /// <summary>The header's name for <paramref name="t"/>.</summary>
    public static string Name(TorchDType t) => t switch
    {
        TorchDType.F64 => "F64",
        TorchDType.F32 => "F32",
        TorchDType.F16 => "F16",
        TorchDType.BF16 => "BF16",
        TorchDType.I64 => "I64",
        TorchDType.I32 => "I32",
        TorchDType.I16 => "I16",
        TorchDType.I8 => "I8",
        TorchDType.U8 => "U8",
        TorchDType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Parses a header dtype; false for names this project has no tensor type for (F8_*, U16, U32, U64, ...).</summary>
    public static bool TryParse(string name, out TorchDType t)
    {
        foreach (var v in Enum.GetValues<TorchDType>())
            if (Name(v) == name) { t = v; return true; }
        t = default;
        return false;
    }
}
