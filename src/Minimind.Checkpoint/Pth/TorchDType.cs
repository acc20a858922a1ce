namespace Minimind.Checkpoint;

/// <summary>Element types of PyTorch storages this reader understands.</summary>
public enum TorchDType
{
    /// <summary>torch.float64 (DoubleStorage).</summary>
    F64,
    /// <summary>torch.float32 (FloatStorage).</summary>
    F32,
    /// <summary>torch.float16 (HalfStorage).</summary>
    F16,
    /// <summary>torch.bfloat16 (BFloat16Storage).</summary>
    BF16,
    /// <summary>torch.int64 (LongStorage).</summary>
    I64,
    /// <summary>torch.int32 (IntStorage).</summary>
    I32,
    /// <summary>torch.int16 (ShortStorage).</summary>
    I16,
    /// <summary>torch.int8 (CharStorage).</summary>
    I8,
    /// <summary>torch.uint8 (ByteStorage, also the element of UntypedStorage).</summary>
    U8,
    /// <summary>torch.bool (BoolStorage).</summary>
    Bool,
}

/// <summary>Sizes and PyTorch names of <see cref="TorchDType"/>.</summary>
public static class TorchDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this TorchDType t) => t switch
    {
        TorchDType.F64 or TorchDType.I64 => 8,
        TorchDType.F32 or TorchDType.I32 => 4,
        TorchDType.F16 or TorchDType.BF16 or TorchDType.I16 => 2,
        _ => 1,
    };

    /// <summary>True for the floating-point types.</summary>
    public static bool IsFloatingPoint(this TorchDType t) => t is TorchDType.F64 or TorchDType.F32 or TorchDType.F16 or TorchDType.BF16;

    /// <summary>The legacy storage class name, e.g. <c>FloatStorage</c>.</summary>
    public static string StorageClassName(this TorchDType t) => t switch
    {
        TorchDType.F64 => "DoubleStorage",
        TorchDType.F32 => "FloatStorage",
        TorchDType.F16 => "HalfStorage",
        TorchDType.BF16 => "BFloat16Storage",
        TorchDType.I64 => "LongStorage",
        TorchDType.I32 => "IntStorage",
        TorchDType.I16 => "ShortStorage",
        TorchDType.I8 => "CharStorage",
        TorchDType.U8 => "ByteStorage",
        TorchDType.Bool => "BoolStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>The name PyTorch prints, e.g. <c>torch.float32</c>.</summary>
    public static string TorchName(this TorchDType t) => "torch." + t switch
    {
        TorchDType.F64 => "float64",
        TorchDType.F32 => "float32",
        TorchDType.F16 => "float16",
        TorchDType.BF16 => "bfloat16",
        TorchDType.I64 => "int64",
        TorchDType.I32 => "int32",
        TorchDType.I16 => "int16",
        TorchDType.I8 => "int8",
        TorchDType.U8 => "uint8",
        TorchDType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Short lower-case name used by the CLI (<c>f32</c>, <c>bf16</c>, ...).</summary>
    public static string ShortName(this TorchDType t) => t.ToString().ToLowerInvariant();

    /// <summary>Parses a storage class name (<c>FloatStorage</c>); false for unknown names.</summary>
    public static bool TryFromStorageClass(string name, out TorchDType t)
    {
        foreach (var v in Enum.GetValues<TorchDType>())
            if (v.StorageClassName() == name) { t = v; return true; }
        t = default; return false;
    }

    /// <summary>Parses a <c>torch</c> dtype attribute name (<c>float32</c>, <c>half</c>, ...).</summary>
    public static bool TryFromTorchAttribute(string name, out TorchDType t)
    {
        switch (name)
        {
            case "float64": case "double": t = TorchDType.F64; return true;
            case "float32": case "float": t = TorchDType.F32; return true;
            case "float16": case "half": t = TorchDType.F16; return true;
            case "bfloat16": t = TorchDType.BF16; return true;
            case "int64": case "long": t = TorchDType.I64; return true;
            case "int32": case "int": t = TorchDType.I32; return true;
            case "int16": case "short": t = TorchDType.I16; return true;
            case "int8": t = TorchDType.I8; return true;
            case "uint8": t = TorchDType.U8; return true;
            case "bool": t = TorchDType.Bool; return true;
            default: t = default; return false;
        }
    }

    /// <summary>Parses a CLI short name (<c>f32</c>, <c>fp16</c>, <c>bf16</c>, ...); throws naming the value.</summary>
    public static TorchDType ParseShort(string s) => s.ToLowerInvariant() switch
    {
        "f64" or "fp64" or "float64" => TorchDType.F64,
        "f32" or "fp32" or "float32" => TorchDType.F32,
        "f16" or "fp16" or "float16" or "half" => TorchDType.F16,
        "bf16" or "bfloat16" => TorchDType.BF16,
        _ => throw new ArgumentException($"unknown float dtype '{s}' (expected f32, f16 or bf16)"),
    };
}
