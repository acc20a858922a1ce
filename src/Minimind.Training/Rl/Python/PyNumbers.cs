using System.Numerics;

namespace Minimind.Training.Rl.Python;

/// <summary>
/// Python's arithmetic on bool/int/float: ints of any size, true division correctly rounded, floor division and
/// modulo with the divisor's sign (float_divmod), ** with its int/float rules, exact int/float comparison, and
/// Python's errors (ZeroDivisionError, OverflowError, TypeError) as <see cref="PyError"/>.
/// </summary>
public static class PyNumbers
{
    /// <summary>Largest int result computed (bits): Python would take seconds past this and MiniMind's 1 s alarm fail the call.</summary>
    public const long MaxIntBits = 1 << 22;

    private static BigInteger? AsInt(PyValue v) => v switch { PyInt i => i.Value, PyBool b => b.Value ? 1 : 0, _ => null };

    /// <summary><c>float(x)</c> of a number (an int too large raises OverflowError).</summary>
    public static double ToFloat(PyValue v) => v switch
    {
        PyFloat f => f.Value,
        _ when AsInt(v) is { } i => IntToFloat(i),
        _ => throw new PyError($"unsupported operand type: {v.GetType().Name}"),
    };

    private static double IntToFloat(BigInteger i)
    {
        if (BigInteger.Abs(i) < (BigInteger.One << 53)) return (double)i;
        double d = RoundToDouble(i, 0);
        if (double.IsInfinity(d)) throw new PyError("int too large to convert to float");
        return d;
    }

    // |q|·2^shift rounded half-even to a double (q may carry a sticky low bit).
    private static double RoundToDouble(BigInteger q, int shift)
    {
        int sign = q.Sign;
        q = BigInteger.Abs(q);
        long bits = (long)q.GetBitLength();
        if (bits > 53)
        {
            int drop = (int)(bits - 53);
            var kept = q >> drop;
            var rest = q - (kept << drop);
            var half = BigInteger.One << (drop - 1);
            int cmp = rest.CompareTo(half);
            if (cmp > 0 || (cmp == 0 && !kept.IsEven)) kept += 1;
            q = kept;
            shift += drop;
        }
        return sign * Math.ScaleB((double)q, shift);
    }

    private static PyValue Num(BigInteger i) =>
        i.GetBitLength() > MaxIntBits ? throw new PyError("int result too large") : new PyInt(i);

    private static void NeedNumber(PyValue v, string op)
    {
        if (v is not (PyInt or PyBool or PyFloat)) throw new PyError($"unsupported operand type(s) for {op}");
    }

    /// <summary>Binary <paramref name="op"/> (+ - * / // % **).</summary>
    public static PyValue Binary(string op, PyValue a, PyValue b)
    {
        NeedNumber(a, op);
        NeedNumber(b, op);
        var ia = AsInt(a);
        var ib = AsInt(b);
        if (ia is { } x && ib is { } y)
        {
            switch (op)
            {
                case "+": return Num(x + y);
                case "-": return Num(x - y);
                case "*":
                    if ((long)x.GetBitLength() + (long)y.GetBitLength() > MaxIntBits + 1) throw new PyError("int result too large");
                    return Num(x * y);
                case "/": return new PyFloat(TrueDivide(x, y));
                case "//": if (y.IsZero) throw new PyError("integer division or modulo by zero"); return Num(FloorDiv(x, y));
                case "%": if (y.IsZero) throw new PyError("integer modulo by zero"); return Num(x - FloorDiv(x, y) * y);
                case "**":
                    if (y.Sign < 0)
                    {
                        if (x.IsZero) throw new PyError("0.0 cannot be raised to a negative power");
                        return FloatPow(IntToFloat(x), IntToFloat(y));
                    }
                    if (BigInteger.Abs(x) <= 1) return Num(x.IsZero ? (y.IsZero ? 1 : 0) : x.IsOne || y.IsEven ? 1 : -1);
                    if (y > MaxIntBits || (double)y * (double)x.GetBitLength() > MaxIntBits) throw new PyError("int result too large");
                    return Num(BigInteger.Pow(x, (int)y));
            }
            throw new PyError($"unsupported operator {op}");
        }
        double fa = ToFloat(a), fb = ToFloat(b);
        switch (op)
        {
            case "+": return new PyFloat(fa + fb);
            case "-": return new PyFloat(fa - fb);
            case "*": return new PyFloat(fa * fb);
            case "/": if (fb == 0) throw new PyError("float division by zero"); return new PyFloat(fa / fb);
            case "//": return new PyFloat(DivMod(fa, fb).Div);
            case "%": return new PyFloat(DivMod(fa, fb).Mod);
            case "**": return FloatPow(fa, fb);
        }
        throw new PyError($"unsupported operator {op}");
    }

    private static BigInteger FloorDiv(BigInteger x, BigInteger y)
    {
        var q = BigInteger.DivRem(x, y, out var r);
        if (!r.IsZero && (r.Sign < 0) != (y.Sign < 0)) q -= 1;
        return q;
    }

    // CPython's long_true_divide: correctly rounded.
    private static double TrueDivide(BigInteger a, BigInteger b)
    {
        if (b.IsZero) throw new PyError("division by zero");
        var limit = BigInteger.One << 53;
        if (BigInteger.Abs(a) <= limit && BigInteger.Abs(b) <= limit) return (double)a / (double)b;
        int sign = a.Sign * b.Sign;
        a = BigInteger.Abs(a); b = BigInteger.Abs(b);
        if (a.IsZero) return sign < 0 ? -0.0 : 0.0;
        int shift = (int)((long)a.GetBitLength() - (long)b.GetBitLength() - 55);
        BigInteger num = a, den = b;
        if (shift > 0) den <<= shift; else num <<= -shift;
        var q = BigInteger.DivRem(num, den, out var rem);
        q = (q << 1) | (rem.IsZero ? 0 : 1);   // a sticky bit keeps exact halves apart from inexact ones
        double r = RoundToDouble(q, shift - 1);
        if (double.IsInfinity(r)) throw new PyError("integer division result too large for a float");
        return sign < 0 ? -r : r;
    }

    // CPython's float_divmod.
    private static (double Div, double Mod) DivMod(double vx, double wx)
    {
        if (wx == 0) throw new PyError("float divmod()");
        double mod = FMod(vx, wx);
        double div = (vx - mod) / wx;
        if (mod != 0)
        {
            if ((wx < 0) != (mod < 0)) { mod += wx; div -= 1.0; }
        }
        else mod = Math.CopySign(0.0, wx);
        double floordiv;
        if (div != 0)
        {
            floordiv = Math.Floor(div);
            if (div - floordiv > 0.5) floordiv += 1.0;
        }
        else floordiv = Math.CopySign(0.0, vx / wx);
        return (floordiv, mod);
    }

    private static double FMod(double x, double y) => x % y; // C#'s % on doubles is C's fmod

    // CPython's float_pow error rules around C pow().
    private static PyValue FloatPow(double x, double y)
    {
        if (y == 0) return new PyFloat(1.0);
        if (double.IsNaN(x)) return new PyFloat(x);
        if (double.IsNaN(y)) return new PyFloat(x == 1.0 ? 1.0 : y);
        if (x == 0 && y < 0 && !double.IsInfinity(y)) throw new PyError("0.0 cannot be raised to a negative power");
        if (x < 0 && !double.IsInfinity(y) && !double.IsInfinity(x) && Math.Floor(y) != y)
            throw new PyError("negative number cannot be raised to a fractional power (Python returns a complex)");
        double r = Math.Pow(x, y);
        if (double.IsInfinity(r) && !double.IsInfinity(x) && !double.IsInfinity(y)) throw new PyError("(34, 'Numerical result out of range')");
        return new PyFloat(r);
    }

    /// <summary>Unary - + ~.</summary>
    public static PyValue Unary(string op, PyValue v)
    {
        NeedNumber(v, op);
        if (AsInt(v) is { } i)
            return op switch { "-" => Num(-i), "+" => Num(i), "~" => Num(-i - 1), _ => throw new PyError(op) };
        double f = ((PyFloat)v).Value;
        return op switch
        {
            "-" => new PyFloat(-f),
            "+" => new PyFloat(f),
            _ => throw new PyError("bad operand type for unary ~: 'float'"),
        };
    }

    /// <summary>−1, 0, 1 comparing two numbers exactly (NaN compares unordered: returns int.MinValue).</summary>
    public static int Compare(PyValue a, PyValue b)
    {
        NeedNumber(a, "<");
        NeedNumber(b, "<");
        var ia = AsInt(a);
        var ib = AsInt(b);
        if (ia is { } x && ib is { } y) return x.CompareTo(y);
        if (ia is null && ib is null) { double p = ((PyFloat)a).Value, q = ((PyFloat)b).Value; return double.IsNaN(p) || double.IsNaN(q) ? int.MinValue : p.CompareTo(q); }
        if (ia is null) { int c = Compare(b, a); return c == int.MinValue ? c : -c; }
        // int vs float, exactly
        double f = ((PyFloat)b).Value;
        if (double.IsNaN(f)) return int.MinValue;
        if (double.IsInfinity(f)) return f > 0 ? -1 : 1;
        var fl = new BigInteger(Math.Floor(f));
        int cmp = ia.Value.CompareTo(fl);
        if (cmp != 0) return cmp;
        return Math.Floor(f) == f ? 0 : -1;
    }
}
