namespace Minimind.Model.Chat.Jinja;

/// <summary>
/// Jinja's <c>Undefined</c>: prints as empty, is false, iterates as empty; attribute access, arithmetic and
/// ordering on it fail as jinja2's default <c>Undefined</c> does. <see cref="Name"/> is what was looked up.
/// </summary>
public sealed class JinjaUndefined
{
    /// <summary>What was looked up (for error messages).</summary>
    public string Name { get; }
    /// <summary>Creates an undefined value for <paramref name="name"/>.</summary>
    public JinjaUndefined(string name) => Name = name;
    /// <inheritdoc/>
    public override string ToString() => "";
}

/// <summary>The object <c>namespace(...)</c> returns: attributes assignable with <c>{% set ns.x = ... %}</c>.</summary>
internal sealed class JinjaNamespace
{
    public readonly Dictionary<string, object?> Attrs = new(StringComparer.Ordinal);
}

/// <summary>A callable value (bound method, global function) taking positional and keyword arguments.</summary>
internal sealed class JinjaCallable(string name, Func<List<object?>, List<(string Name, object? Value)>, object?> call)
{
    public string Name { get; } = name;
    public object? Invoke(List<object?> args, List<(string Name, object? Value)> kwargs) => call(args, kwargs);
}

/// <summary>The <c>loop</c> variable of a for loop.</summary>
internal sealed class JinjaLoop(List<object?> items)
{
    public int Index0;
    public object? Get(string attr) => attr switch
    {
        "index0" => (long)Index0,
        "index" => (long)(Index0 + 1),
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new JinjaUndefined("loop.previtem"),
        "nextitem" => Index0 + 1 < items.Count ? items[Index0 + 1] : new JinjaUndefined("loop.nextitem"),
        "depth" => 1L,
        "depth0" => 0L,
        _ => new JinjaUndefined("loop." + attr),
    };
}
