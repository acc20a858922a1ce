using System.Text;

namespace Minimind.Model.Chat.Jinja;

/// <summary>
/// A parsed Jinja template rendered as HuggingFace's <c>apply_chat_template</c> renders chat templates:
/// jinja2's <c>ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)</c> with loop controls,
/// <c>raise_exception</c>, <c>namespace</c> and HF's <c>tojson</c>. Values are Python-like: null (None),
/// <see cref="JinjaUndefined"/>, bool, long, double, string, <c>List&lt;object?&gt;</c> and
/// <c>OrderedDictionary&lt;string, object?&gt;</c> (see <see cref="JinjaJson"/> to build them from JSON).
/// Constructs outside the supported subset are refused at parse or render time with a message naming them.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly List<Stmt> _body;

    /// <summary>Name used in error messages (a file path, or a file and field).</summary>
    public string Name { get; }

    private JinjaTemplate(List<Stmt> body, string name) { _body = body; Name = name; }

    /// <summary>Parses <paramref name="source"/>; throws <see cref="JinjaException"/> naming <paramref name="name"/> and the line.</summary>
    public static JinjaTemplate Parse(string source, string name) => new(JinjaParser.Parse(source, name), name);

    /// <summary>Renders with the given top-level variables.</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        var sb = new StringBuilder();
        var scope = new JinjaScope(null);
        foreach (var (k, v) in variables) scope.Set(k, v);
        new JinjaEvaluator(Name, sb).Run(_body, scope);
        return sb.ToString();
    }
}

/// <summary>Variables of one frame; for-loop bodies get their own (jinja2 does not leak loop assignments).</summary>
internal sealed class JinjaScope(JinjaScope? parent)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s is not null; s = s.Parent)
            if (s._vars.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _vars[name] = value;

    public JinjaScope? Parent { get; } = parent;
}
