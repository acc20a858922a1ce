using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Minimind.Kernels.Ilgpu.Mma;

// Fragment layouts: PTX ISA §9.7.14.5.8 "Matrix Fragments for mma.m16n8k16 with floating point type" (groupID = lane>>2, tig = lane%4).

/// <summary>One lane's A fragment of a 16×16 row-major A: four .b32 registers of two bf16/fp16 each (low half = lower
/// index). R0 = A[g][2t, 2t+1], R1 = A[g+8][2t, 2t+1], R2 = A[g][2t+8, 2t+9], R3 = A[g+8][2t+8, 2t+9].</summary>
public struct MmaA
{
    /// <summary>Registers a0a1, a2a3, a4a5, a6a7.</summary>
    public uint R0, R1, R2, R3;
}

/// <summary>One lane's B fragment of a 16×8 B (".col": the lane holds column g): R0 = B[2t, 2t+1][g], R1 = B[2t+8, 2t+9][g].</summary>
public struct MmaB
{
    /// <summary>Registers b0b1, b2b3.</summary>
    public uint R0, R1;
}

/// <summary>One lane's float32 C/D fragment of a 16×8 accumulator: D0, D1 = C[g][2t, 2t+1], D2, D3 = C[g+8][2t, 2t+1].</summary>
public struct MmaAcc
{
    /// <summary>c0..c3.</summary>
    public float D0, D1, D2, D3;
}

/// <summary>
/// D = A·B + C for one warp-wide m16n8k16 tile with bf16/fp16 operands and float32 accumulation. On CUDA one
/// <c>mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32</c> (inline PTX); elsewhere (the simulator, which
/// cannot run inline PTX) a fallback that gathers the same registers through warp shuffles and computes the same D
/// fragments, adding the 16 products (exact in float32) to C in ascending k. All 32 lanes of the warp must call it
/// together with the same <c>precision</c> (1 bf16, 2 fp16) and a warp of 32.
/// </summary>
public static class MmaM16n8k16
{
    /// <summary>D = A·B + C for this lane's fragments.</summary>
    public static MmaAcc Run(MmaA a, MmaB b, MmaAcc c, int precision)
    {
        if (CudaAsm.IsSupported) return Ptx(a, b, c, precision);
        return Shuffled(a, b, c, precision);
    }

    // Emit (not EmitRef, whose operands go through local memory) has one output, so the instruction runs twice, once
    // returning d0d1 and once d2d3 as a .b64 pair; ptxas sees two identical mma and keeps one. C comes in as two .b64 pairs.
    // The instruction string must be a literal for ILGPU, so one per operand type and half.
    private static MmaAcc Ptx(MmaA a, MmaB b, MmaAcc c, int precision)
    {
        ulong c01 = Pair(c.D0, c.D1), c23 = Pair(c.D2, c.D3), d01, d23;
        if (precision == 1)
        {
            CudaAsm.Emit("{ .reg .f32 mmd<4>; .reg .f32 mmc<4>; mov.b64 {mmc0,mmc1}, %7; mov.b64 {mmc2,mmc3}, %8; mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {mmd0,mmd1,mmd2,mmd3}, {%1,%2,%3,%4}, {%5,%6}, {mmc0,mmc1,mmc2,mmc3}; mov.b64 %0, {mmd0,mmd1}; }",
                out d01, a.R0, a.R1, a.R2, a.R3, b.R0, b.R1, c01, c23);
            CudaAsm.Emit("{ .reg .f32 mmd<4>; .reg .f32 mmc<4>; mov.b64 {mmc0,mmc1}, %7; mov.b64 {mmc2,mmc3}, %8; mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {mmd0,mmd1,mmd2,mmd3}, {%1,%2,%3,%4}, {%5,%6}, {mmc0,mmc1,mmc2,mmc3}; mov.b64 %0, {mmd2,mmd3}; }",
                out d23, a.R0, a.R1, a.R2, a.R3, b.R0, b.R1, c01, c23);
        }
        else
        {
            CudaAsm.Emit("{ .reg .f32 mmd<4>; .reg .f32 mmc<4>; mov.b64 {mmc0,mmc1}, %7; mov.b64 {mmc2,mmc3}, %8; mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {mmd0,mmd1,mmd2,mmd3}, {%1,%2,%3,%4}, {%5,%6}, {mmc0,mmc1,mmc2,mmc3}; mov.b64 %0, {mmd0,mmd1}; }",
                out d01, a.R0, a.R1, a.R2, a.R3, b.R0, b.R1, c01, c23);
            CudaAsm.Emit("{ .reg .f32 mmd<4>; .reg .f32 mmc<4>; mov.b64 {mmc0,mmc1}, %7; mov.b64 {mmc2,mmc3}, %8; mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {mmd0,mmd1,mmd2,mmd3}, {%1,%2,%3,%4}, {%5,%6}, {mmc0,mmc1,mmc2,mmc3}; mov.b64 %0, {mmd2,mmd3}; }",
                out d23, a.R0, a.R1, a.R2, a.R3, b.R0, b.R1, c01, c23);
        }
        return new MmaAcc { D0 = Lo(d01), D1 = Hi(d01), D2 = Lo(d23), D3 = Hi(d23) };
    }

    // Two floats as one .b64 (mov.b64 {lo, hi}) and back.
    private static ulong Pair(float lo, float hi) => Interop.FloatAsInt(lo) | ((ulong)Interop.FloatAsInt(hi) << 32);
    private static float Lo(ulong v) => Interop.IntAsFloat((uint)v);
    private static float Hi(ulong v) => Interop.IntAsFloat((uint)(v >> 32));

    // Lane (g, t) needs rows g and g+8 of A (held by lanes 4g..4g+3) and columns 2t, 2t+1 of B (lanes 8t..8t+3 and
    // 8t+4..8t+7). Lane 4x+q holds k = 2q, 2q+1 in its first registers and k = 2q+8, 2q+9 in its last ones.
    private static MmaAcc Shuffled(MmaA a, MmaB b, MmaAcc c, int p)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        float d0 = c.D0, d1 = c.D1, d2 = c.D2, d3 = c.D3;
        for (int half = 0; half < 2; half++)
        {
            for (int q = 0; q < 4; q++)
            {
                int la = 4 * g + q, lb0 = 8 * t + q, lb1 = 8 * t + 4 + q;
                // half 0: k = 2q, 2q+1 from a0a1 / a2a3 and b0b1; half 1: k = 2q+8, 2q+9 from a4a5 / a6a7 and b2b3.
                uint top = Warp.Shuffle(half == 0 ? a.R0 : a.R2, la);
                uint bot = Warp.Shuffle(half == 0 ? a.R1 : a.R3, la);
                uint col0 = Warp.Shuffle(half == 0 ? b.R0 : b.R1, lb0);
                uint col1 = Warp.Shuffle(half == 0 ? b.R0 : b.R1, lb1);
                float t0 = DeviceRounding.Lo(top, p), t1 = DeviceRounding.Hi(top, p);
                float u0 = DeviceRounding.Lo(bot, p), u1 = DeviceRounding.Hi(bot, p);
                float x0 = DeviceRounding.Lo(col0, p), x1 = DeviceRounding.Hi(col0, p);
                float y0 = DeviceRounding.Lo(col1, p), y1 = DeviceRounding.Hi(col1, p);
                d0 += t0 * x0; d0 += t1 * x1;
                d1 += t0 * y0; d1 += t1 * y1;
                d2 += u0 * x0; d2 += u1 * x1;
                d3 += u0 * y0; d3 += u1 * y1;
            }
        }
        return new MmaAcc { D0 = d0, D1 = d1, D2 = d2, D3 = d3 };
    }
}
