using System.Numerics;

namespace Minimind.Training.Rl.Python;

/// <summary>
/// The math module as calculate_math's eval sees it: constants and the common functions, with CPython's errors
/// (a NaN from a non-NaN argument is a ValueError, an infinity from finite ones an OverflowError) as <see cref="PyError"/>.
/// .NET's Math functions call the same C library as CPython on the same machine.
/// </summary>
public static class PyMath
{
    /// <summary>math.pi, math.e, math.tau, math.inf, math.nan.</summary>
    public static PyValue Constant(string name) => name switch
    {
        "pi" => new PyFloat(Math.PI),
        "e" => new PyFloat(Math.E),
        "tau" => new PyFloat(2 * Math.PI),
        "inf" => new PyFloat(double.PositiveInfinity),
        "nan" => new PyFloat(double.NaN),
        _ => throw new PyError($"math.{name} is not a number reproduced here"),
    };

    /// <summary>math.<paramref name="name"/>(<paramref name="args"/>).</summary>
    public static PyValue Call(string name, PyValue[] args)
    {
        var a = args;
        void Arity(int n) { if (a.Length != n) throw new PyError($"math.{name} takes {n} argument(s) ({a.Length} given)"); }
        double F(int i) => PyNumbers.ToFloat(a[i]);
        switch (name)
        {
            case "sqrt": Arity(1); return Checked(Math.Sqrt, F(0));
            case "exp": Arity(1); return Checked(Math.Exp, F(0));
            case "sin": Arity(1); return Checked(Math.Sin, F(0));
            case "cos": Arity(1); return Checked(Math.Cos, F(0));
            case "tan": Arity(1); return Checked(Math.Tan, F(0));
            case "asin": Arity(1); return Checked(Math.Asin, F(0));
            case "acos": Arity(1); return Checked(Math.Acos, F(0));
            case "atan": Arity(1); return Checked(Math.Atan, F(0));
            case "sinh": Arity(1); return Checked(Math.Sinh, F(0));
            case "cosh": Arity(1); return Checked(Math.Cosh, F(0));
            case "tanh": Arity(1); return Checked(Math.Tanh, F(0));
            case "fabs": Arity(1); return new PyFloat(Math.Abs(F(0)));
            case "atan2": Arity(2); return new PyFloat(Math.Atan2(F(0), F(1)));
            case "degrees": Arity(1); return new PyFloat(F(0) * (180.0 / Math.PI));
            case "radians": Arity(1); return new PyFloat(F(0) * (Math.PI / 180.0));
            case "pow":
            {
                Arity(2);
                double x = F(0), y = F(1), r = Math.Pow(x, y);
                if (double.IsNaN(r) && !double.IsNaN(x) && !double.IsNaN(y) || x == 0 && y < 0) throw new PyError("math domain error");
                if (double.IsInfinity(r) && double.IsFinite(x) && double.IsFinite(y)) throw new PyError("math range error");
                return new PyFloat(r);
            }
            case "fmod":
            {
                Arity(2);
                double x = F(0), y = F(1);
                if (y == 0 && double.IsFinite(x) || double.IsInfinity(x) && !double.IsNaN(y)) throw new PyError("math domain error");
                return new PyFloat(x % y);
            }
            case "hypot":
            {
                if (a.Length == 0) return new PyFloat(0.0);
                double acc = 0;
                foreach (var v in a) { double x = PyNumbers.ToFloat(v); acc += x * x; }
                return new PyFloat(a.Length == 1 ? Math.Abs(PyNumbers.ToFloat(a[0])) : a.Length == 2 ? double.Hypot(F(0), F(1)) : Math.Sqrt(acc));
            }
            case "log":
            {
                if (a.Length is < 1 or > 2) throw new PyError("math.log takes 1 or 2 arguments");
                double num = Log(a[0], Math.Log);
                if (a.Length == 1) return new PyFloat(num);
                double den = Log(a[1], Math.Log);
                if (den == 0) throw new PyError("float division by zero");
                return new PyFloat(num / den);
            }
            case "log10": Arity(1); return new PyFloat(Log(a[0], Math.Log10));
            case "log2": Arity(1); return new PyFloat(Log(a[0], Math.Log2));
            case "floor": Arity(1); return ToInt(a[0], Math.Floor);
            case "ceil": Arity(1); return ToInt(a[0], Math.Ceiling);
            case "trunc": Arity(1); return ToInt(a[0], Math.Truncate);
            case "factorial":
            {
                Arity(1);
                var n = IntArg(a[0]);
                if (n.Sign < 0) throw new PyError("factorial() not defined for negative values");
                if (n > 20000) throw new PyError("factorial argument too large");
                BigInteger r = 1;
                for (int k = 2; k <= (int)n; k++) r *= k;
                return new PyInt(r);
            }
            case "gcd":
            {
                BigInteger g = 0;
                foreach (var v in a) g = BigInteger.GreatestCommonDivisor(g, IntArg(v));
                return new PyInt(g);
            }
            case "isqrt":
            {
                Arity(1);
                var n = IntArg(a[0]);
                if (n.Sign < 0) throw new PyError("isqrt() argument must be nonnegative");
                return new PyInt(ISqrt(n));
            }
        }
        throw new PyError($"math.{name} is not reproduced here");
    }

    private static PyValue Checked(Func<double, double> f, double x)
    {
        double r = f(x);
        if (double.IsNaN(r) && !double.IsNaN(x)) throw new PyError("math domain error");
        if (double.IsInfinity(r) && double.IsFinite(x)) throw new PyError("math range error");
        return new PyFloat(r);
    }

    // CPython's loghelper: ints too large for a float go through their bit length.
    private static double Log(PyValue v, Func<double, double> f)
    {
        if (v is PyInt { Value: var n } && n.GetBitLength() > 1000)
        {
            if (n.Sign <= 0) throw new PyError("math domain error");
            long e = (long)n.GetBitLength() - 60;
            double m = (double)(n >> (int)e);
            return f(m) + e * f(2.0);
        }
        double x = PyNumbers.ToFloat(v);
        if (x <= 0 && !double.IsNaN(x)) throw new PyError("math domain error");
        return f(x);
    }

    private static PyValue ToInt(PyValue v, Func<double, double> f)
    {
        if (v is PyInt or PyBool) return new PyInt(IntArg(v));
        double x = PyNumbers.ToFloat(v);
        if (double.IsNaN(x)) throw new PyError("cannot convert float NaN to integer");
        if (double.IsInfinity(x)) throw new PyError("cannot convert float infinity to integer");
        return new PyInt(new BigInteger(f(x)));
    }

    private static BigInteger IntArg(PyValue v) => v switch
    {
        PyInt i => i.Value,
        PyBool b => b.Value ? 1 : 0,
        _ => throw new PyError("'float' object cannot be interpreted as an integer"),
    };

    private static BigInteger ISqrt(BigInteger n)
    {
        if (n < 2) return n;
        var x = (BigInteger)Math.Sqrt((double)n);
        while (x * x > n) x--;
        while ((x + 1) * (x + 1) <= n) x++;
        return x;
    }
}
