namespace Minimind.Kernels;

/// <summary>Argument checks every backend makes the same way, so their errors read alike.</summary>
internal static class OpChecks
{
    /// <summary>Throws unless <paramref name="value"/> ≥ 0, naming the op and the argument.</summary>
    public static void NonNegative(int value, string op, string name)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, $"{op}: {name} must be >= 0, got {value}");
    }

    /// <summary>The MoE dispatch/combine ops' common arguments (tokens, dim ≥ 0; k &gt; 0); returns tokens·k, the assignment count.</summary>
    public static int MoeAssignments(string op, int tokens, int k, int dim)
    {
        NonNegative(tokens, op, nameof(tokens)); NonNegative(dim, op, nameof(dim));
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"{op}: k must be > 0, got {k}");
        return tokens * k;
    }
}
