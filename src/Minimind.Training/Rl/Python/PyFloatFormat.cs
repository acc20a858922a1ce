using Minimind.Model.Text;
using System.Globalization;
using System.Numerics;

namespace Minimind.Training.Rl.Python;

/// <summary>
/// Python's float parsing and rounding: <c>float(s)</c> of a string and <c>round(x, n)</c> (correctly rounded on the
/// exact binary value, half to even); <c>repr(x)</c> is <see cref="Minimind.Model.Chat.Jinja.PyFormat.FloatRepr"/>.
/// </summary>
public static class PyFloatFormat
{
    /// <summary>
    /// Python's <c>float(s)</c>: surrounding whitespace stripped; a sign; "inf", "infinity" or "nan" in any case; or
    /// digits (any Unicode decimal digit, '_' between digits) with an optional fraction and exponent.
    /// </summary>
    public static double Parse(string text)
    {
        string s = PythonText.Strip(text);
        string bad = $"could not convert string to float: '{text}'";
        if (s.Length == 0) throw new PyError(bad);
        int i = 0;
        bool neg = false;
        if (s[0] is '+' or '-') { neg = s[0] == '-'; i = 1; }
        string rest = s[i..].ToLowerInvariant();
        if (rest is "inf" or "infinity") return neg ? double.NegativeInfinity : double.PositiveInfinity;
        if (rest == "nan") return double.NaN;
        var ascii = new System.Text.StringBuilder(neg ? "-" : "");
        bool digitsBefore = false, digitsAfter = false, lastDigit = false;
        int state = 0; // 0 integer part, 1 fraction, 2 exponent sign, 3 exponent digits
        bool expDigits = false;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            int d = char.IsDigit(c) ? (int)char.GetNumericValue(c) : -1;
            if (d >= 0)
            {
                ascii.Append((char)('0' + d));
                if (state == 0) digitsBefore = true; else if (state == 1) digitsAfter = true; else { state = 3; expDigits = true; }
                lastDigit = true;
                continue;
            }
            if (c == '_' && lastDigit && i + 1 < s.Length && char.IsDigit(s[i + 1])) { lastDigit = false; continue; }
            lastDigit = false;
            if (c == '.' && state == 0) { state = 1; ascii.Append('.'); continue; }
            if (c is 'e' or 'E' && state <= 1 && (digitsBefore || digitsAfter)) { state = 2; ascii.Append('e'); continue; }
            if (c is '+' or '-' && state == 2 && !expDigits && (ascii[^1] == 'e')) { ascii.Append(c); continue; }
            throw new PyError(bad);
        }
        if (!(digitsBefore || digitsAfter) || (state >= 2 && !expDigits)) throw new PyError(bad);
        return double.Parse(ascii.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary><c>round(x, ndigits)</c> for a float: the exact binary value rounded half-to-even at 10^−ndigits, read back correctly rounded.</summary>
    public static double Round(double x, int ndigits)
    {
        if (double.IsNaN(x) || double.IsInfinity(x) || x == 0) return x;
        // x = m · 2^e exactly
        long bits = BitConverter.DoubleToInt64Bits(x);
        int rawExp = (int)((bits >> 52) & 0x7FF);
        long frac = bits & 0xFFFFFFFFFFFFFL;
        BigInteger m = rawExp == 0 ? frac : frac | (1L << 52);
        int e = (rawExp == 0 ? 1 : rawExp) - 1075;
        // N = round(|x| · 10^ndigits) as a ratio num/den
        BigInteger num = m * BigInteger.Pow(10, Math.Max(ndigits, 0)), den = BigInteger.Pow(10, Math.Max(-ndigits, 0));
        if (e >= 0) num <<= e; else den <<= -e;
        var q = BigInteger.DivRem(num, den, out var rem);
        int cmp = (rem * 2).CompareTo(den);
        if (cmp > 0 || (cmp == 0 && !q.IsEven)) q += 1;
        string text = q.ToString(CultureInfo.InvariantCulture) + "e" + (-ndigits).ToString(CultureInfo.InvariantCulture);
        double r = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (double.IsInfinity(r)) throw new PyError("rounded value too large to represent");
        return x < 0 ? -r : r;
    }
}
