namespace Minimind.Kernels.Cpu;

/// <summary>
/// One register-blocked SGEMM micro-kernel and the panel geometry it reads. <see cref="Sgemm"/> and the blocked
/// attention are generic over it, so <see cref="MR"/> and <see cref="NR"/> are constants in each specialisation.
/// Every kernel computes the same thing in the same order: each output element is an FMA chain over p = 0..kc-1 in
/// ascending order that starts from +0, so the kernels differ in speed, never in bits. The B panel's storage is a type
/// parameter (<see cref="IPanelFormat"/>: float32, or 16-bit at bf16, widened exactly as it is loaded).
/// </summary>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of the register block (A panels hold MR rows).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register block (B panels hold NR columns; a multiple of 8).</summary>
    static abstract int NR { get; }

    /// <summary>The instruction-set path this kernel belongs to.</summary>
    static abstract CpuIsa Isa { get; }

    /// <summary>t[i·NR + j] = Σ_{p &lt; kc} a[p·MR + i]·B(p, j), one FMA per term, p ascending, from +0; B(p, j) is
    /// column j of row p of the B panel at <paramref name="b"/>, read in the panel format <typeparamref name="TP"/>.</summary>
    static abstract void Block<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat;

    /// <summary><see cref="Block"/> of a whole MR×NR block merged into C in registers: row i of C at c + i·ldc gets
    /// C + t (or t when <paramref name="overwrite"/>), the operations of <see cref="Sgemm.Merge{TK}"/>, so the same bits
    /// without the round trip through a scratch tile.</summary>
    static abstract void BlockInto<TP>(int kc, float* a, byte* b, float* c, int ldc, bool overwrite) where TP : struct, IPanelFormat;

    /// <summary>Columns 0..NR/2 − 1 of <see cref="BlockInto"/>, merged into C the same way (same FMA chains, so the same
    /// bits): the block at a matrix's right edge when only half of it is there. Attention's key blocks are 48 wide, so on
    /// the 32-column AVX-512 kernel every third block would otherwise compute 16 columns of padding and merge through a
    /// scratch tile.</summary>
    static abstract void HalfInto<TP>(int kc, float* a, byte* b, float* c, int ldc, bool overwrite) where TP : struct, IPanelFormat;

    /// <summary>Rows 0..3 of <see cref="Block"/> (same panels, same order; t rows 4.. are left as they were): the
    /// decode-sized product, where computing all MR rows would multiply the work by MR/4 for nothing.</summary>
    static abstract void Block4<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat;

    /// <summary>Row 0 of <see cref="Block"/> against four B panels, the q-th at b + q·<paramref name="panelBytes"/>:
    /// t[q·NR + j] = Σ_{p &lt; kc} a[p·MR]·B_q(p, j), each an FMA chain over p ascending from +0, so the bits of row 0 of
    /// <see cref="Block"/> on each panel. The one-row (decode) product: Block4 would spend three of every four FMAs on
    /// padding rows and keep one panel's two or four chains in flight; this keeps four panels' chains in flight.</summary>
    static abstract void Row4<TP>(int kc, float* a, byte* b, long panelBytes, float* t) where TP : struct, IPanelFormat;
}
