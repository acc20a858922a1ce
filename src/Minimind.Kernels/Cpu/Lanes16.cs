using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Sixteen float lanes, held as one <see cref="Vector512{T}"/> (AVX-512), two <see cref="Vector256{T}"/> (AVX2) or four
/// <see cref="Vector128{T}"/> (portable). Lane l of every operation is the same IEEE operation on every representation,
/// and <see cref="Sum"/> adds the lanes in one fixed tree, so code written over this interface gives the same bits on
/// every path: the width of the hardware register never shows in a result.
/// </summary>
internal unsafe interface ILanes16<TSelf> where TSelf : struct, ILanes16<TSelf>
{
    static abstract TSelf Zero { get; }
    static abstract TSelf Load(float* p);
    static abstract void Store(TSelf v, float* p);
    /// <summary>x in every lane.</summary>
    static abstract TSelf Create(float x);
    static abstract TSelf Add(TSelf a, TSelf b);
    static abstract TSelf Subtract(TSelf a, TSelf b);
    static abstract TSelf Multiply(TSelf a, TSelf b);
    static abstract TSelf Divide(TSelf a, TSelf b);
    /// <summary>The correctly rounded square root of each lane (as <see cref="MathF.Sqrt"/>).</summary>
    static abstract TSelf Sqrt(TSelf a);
    /// <summary>p[0], p[0], p[1], p[1], …, p[7], p[7]: eight floats, each in two adjacent lanes.</summary>
    static abstract TSelf LoadDuplicated(float* p);
    /// <summary>Lanes 2i and 2i+1 exchanged.</summary>
    static abstract TSelf SwapPairs(TSelf v);
    /// <summary>Even lanes negated (an exact sign flip), odd lanes kept.</summary>
    static abstract TSelf NegateEven(TSelf v);
    /// <summary>The last <paramref name="count"/> lanes of v, +0 in the others (count 0..16).</summary>
    static abstract TSelf KeepLast(TSelf v, int count);
    /// <summary>(Σ lanes 0-3 + Σ 4-7) + (Σ 8-11 + Σ 12-15), each Σ of four a <see cref="Vector128.Sum{T}(Vector128{T})"/>:
    /// what <see cref="Vector512.Sum{T}(Vector512{T})"/> computes (two <see cref="Vector256.Sum{T}(Vector256{T})"/> added).</summary>
    static abstract float Sum(TSelf v);
}

/// <summary>The AVX-512 representation: one zmm register.</summary>
internal readonly unsafe struct Lanes16x512 : ILanes16<Lanes16x512>
{
    private readonly Vector512<float> _v;
    private Lanes16x512(Vector512<float> v) => _v = v;
    private static readonly Vector512<int> Index = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    public static Lanes16x512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Load(float* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes16x512 v, float* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Create(float x) => new(Vector512.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Add(Lanes16x512 a, Lanes16x512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Subtract(Lanes16x512 a, Lanes16x512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Multiply(Lanes16x512 a, Lanes16x512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Divide(Lanes16x512 a, Lanes16x512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x512 Sqrt(Lanes16x512 a) => new(Vector512.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x512 LoadDuplicated(float* p) =>
        new(Vector512.Shuffle(Vector512.Create(Vector256.Load(p), Vector256<float>.Zero), Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x512 SwapPairs(Lanes16x512 v) => new(Vector512.Shuffle(v._v, Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x512 NegateEven(Lanes16x512 v) => new(v._v ^ Vector512.Create(int.MinValue, 0, int.MinValue, 0, int.MinValue, 0, int.MinValue, 0,
        int.MinValue, 0, int.MinValue, 0, int.MinValue, 0, int.MinValue, 0).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x512 KeepLast(Lanes16x512 v, int count) =>
        new(Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Index, Vector512.Create(16 - count)).AsSingle(), v._v, Vector512<float>.Zero));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Lanes16x512 v) => Vector256.Sum(v._v.GetLower()) + Vector256.Sum(v._v.GetUpper());
}

/// <summary>The AVX2 representation: two ymm registers, lanes 0-7 and 8-15.</summary>
internal readonly unsafe struct Lanes16x256 : ILanes16<Lanes16x256>
{
    private readonly Vector256<float> _lo, _hi;
    private Lanes16x256(Vector256<float> lo, Vector256<float> hi) { _lo = lo; _hi = hi; }
    private static readonly Vector256<int> Index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);

    public static Lanes16x256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Load(float* p) => new(Vector256.Load(p), Vector256.Load(p + 8));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes16x256 v, float* p) { v._lo.Store(p); v._hi.Store(p + 8); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Create(float x) => new(Vector256.Create(x), Vector256.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Add(Lanes16x256 a, Lanes16x256 b) => new(a._lo + b._lo, a._hi + b._hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Subtract(Lanes16x256 a, Lanes16x256 b) => new(a._lo - b._lo, a._hi - b._hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Multiply(Lanes16x256 a, Lanes16x256 b) => new(a._lo * b._lo, a._hi * b._hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Divide(Lanes16x256 a, Lanes16x256 b) => new(a._lo / b._lo, a._hi / b._hi);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes16x256 Sqrt(Lanes16x256 a) => new(Vector256.Sqrt(a._lo), Vector256.Sqrt(a._hi));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x256 LoadDuplicated(float* p)
    {
        var v = Vector256.Load(p);
        return new(Vector256.Shuffle(v, Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3)), Vector256.Shuffle(v, Vector256.Create(4, 4, 5, 5, 6, 6, 7, 7)));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x256 SwapPairs(Lanes16x256 v)
    {
        var swap = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
        return new(Vector256.Shuffle(v._lo, swap), Vector256.Shuffle(v._hi, swap));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x256 NegateEven(Lanes16x256 v)
    {
        var sign = Vector256.Create(int.MinValue, 0, int.MinValue, 0, int.MinValue, 0, int.MinValue, 0).AsSingle();
        return new(v._lo ^ sign, v._hi ^ sign);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x256 KeepLast(Lanes16x256 v, int count)
    {
        var from = Vector256.Create(16 - count);
        return new(Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Index, from).AsSingle(), v._lo, Vector256<float>.Zero),
            Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Index + Vector256.Create(8), from).AsSingle(), v._hi, Vector256<float>.Zero));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Lanes16x256 v) => Vector256.Sum(v._lo) + Vector256.Sum(v._hi);
}

/// <summary>The portable representation: four 128-bit vectors.</summary>
internal readonly unsafe struct Lanes16x128 : ILanes16<Lanes16x128>
{
    private readonly Vector128<float> _a, _b, _c, _d;
    private Lanes16x128(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d) { _a = a; _b = b; _c = c; _d = d; }
    private static readonly Vector128<int> Index = Vector128.Create(0, 1, 2, 3);

    public static Lanes16x128 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Load(float* p) => new(Vector128.Load(p), Vector128.Load(p + 4), Vector128.Load(p + 8), Vector128.Load(p + 12));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes16x128 v, float* p) { v._a.Store(p); v._b.Store(p + 4); v._c.Store(p + 8); v._d.Store(p + 12); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Create(float x) { var v = Vector128.Create(x); return new(v, v, v, v); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Add(Lanes16x128 x, Lanes16x128 y) => new(x._a + y._a, x._b + y._b, x._c + y._c, x._d + y._d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Subtract(Lanes16x128 x, Lanes16x128 y) => new(x._a - y._a, x._b - y._b, x._c - y._c, x._d - y._d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Multiply(Lanes16x128 x, Lanes16x128 y) => new(x._a * y._a, x._b * y._b, x._c * y._c, x._d * y._d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Divide(Lanes16x128 x, Lanes16x128 y) => new(x._a / y._a, x._b / y._b, x._c / y._c, x._d / y._d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 Sqrt(Lanes16x128 x) => new(Vector128.Sqrt(x._a), Vector128.Sqrt(x._b), Vector128.Sqrt(x._c), Vector128.Sqrt(x._d));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 LoadDuplicated(float* p)
    {
        Vector128<float> lo = Vector128.Load(p), hi = Vector128.Load(p + 4);
        Vector128<int> first = Vector128.Create(0, 0, 1, 1), second = Vector128.Create(2, 2, 3, 3);
        return new(Vector128.Shuffle(lo, first), Vector128.Shuffle(lo, second), Vector128.Shuffle(hi, first), Vector128.Shuffle(hi, second));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 SwapPairs(Lanes16x128 v)
    {
        var swap = Vector128.Create(1, 0, 3, 2);
        return new(Vector128.Shuffle(v._a, swap), Vector128.Shuffle(v._b, swap), Vector128.Shuffle(v._c, swap), Vector128.Shuffle(v._d, swap));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 NegateEven(Lanes16x128 v)
    {
        var sign = Vector128.Create(int.MinValue, 0, int.MinValue, 0).AsSingle();
        return new(v._a ^ sign, v._b ^ sign, v._c ^ sign, v._d ^ sign);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes16x128 KeepLast(Lanes16x128 v, int count)
    {
        var from = Vector128.Create(16 - count);
        return new(Keep(v._a, Index, from), Keep(v._b, Index + Vector128.Create(4), from), Keep(v._c, Index + Vector128.Create(8), from), Keep(v._d, Index + Vector128.Create(12), from));
    }
    private static Vector128<float> Keep(Vector128<float> v, Vector128<int> index, Vector128<int> from) =>
        Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(index, from).AsSingle(), v, Vector128<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes16x128 v) => (Vector128.Sum(v._a) + Vector128.Sum(v._b)) + (Vector128.Sum(v._c) + Vector128.Sum(v._d));
}
