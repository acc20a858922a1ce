using System.Runtime.Intrinsics;
using Minimind.Kernels.Cpu;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The vector roundings the SGEMM packing uses (<see cref="IOperandRounding"/>: <see cref="Bf16Operands"/>,
/// <see cref="Fp16Operands"/>, <see cref="Fp32Operands"/>) against the scalar definition
/// <see cref="PrecisionRounding.Round(float, Precision)"/>, bit for bit, on the values where a shortcut would differ: ties
/// to even at the last kept bit, carries into the exponent, subnormals, the largest finite values, ±∞, ±0 and NaNs with
/// their payload in the kept and in the dropped bits (bf16 keeps a NaN unchanged, payload included), each in every lane.
/// </summary>
public class OperandRoundingTests
{
    private static readonly uint[] Special =
    [
        0x00000000, 0x80000000, 0x3F808000, 0x3F818000, 0x3F80FFFF, 0x3F807FFF, 0x3FFF8000, 0x7F7F8000, 0x7F7FFFFF,
        0x00000001, 0x00008000, 0x00018000, 0x807FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFF80FFFF,
        0x7FFFFFFF, 0x7FA00000, 0x477FEFFF, 0x477FF000, 0x38800000, 0x387FFFFF, 0x33800000, 0x33000001, 0xC77FE000,
    ];

    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Fp16)]
    [InlineData(Precision.Fp32)]
    public void VectorRounding_EqualsTheScalarRounding_OnSpecialValuesInEveryLane(Precision p)
    {
        var rng = new Random(7);
        var values = Special.Select(BitConverter.UInt32BitsToSingle)
            .Concat(Enumerable.Range(0, 4096).Select(_ => BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)))).ToArray();
        var lane = new float[8];
        for (int i = 0; i < values.Length; i++)
            for (int l = 0; l < 8; l++)
            {
                // The value in lane l, ordinary values in the others (a NaN elsewhere must not change this lane).
                for (int j = 0; j < 8; j++) lane[j] = j == l ? values[i] : values[(i + j + 1) % values.Length];
                var got = p switch
                {
                    Precision.Bf16 => Bf16Operands.Round(Vector256.Create(lane)),
                    Precision.Fp16 => Fp16Operands.Round(Vector256.Create(lane)),
                    _ => Fp32Operands.Round(Vector256.Create(lane)),
                };
                uint want = BitConverter.SingleToUInt32Bits(PrecisionRounding.Round(values[i], p));
                uint have = BitConverter.SingleToUInt32Bits(got[l]);
                if (want != have) Assert.Fail($"{p.Name()}: 0x{BitConverter.SingleToUInt32Bits(values[i]):X8} in lane {l} rounds to 0x{have:X8}, the scalar rounding gives 0x{want:X8}");
            }
    }
}
