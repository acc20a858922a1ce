using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Chat.Jinja;

namespace Minimind.Model.Tests.Chat;

/// <summary>
/// Every case of tests/fixtures/chat/cases.json rendered here equals, byte for byte, Python jinja2 configured as
/// HuggingFace transformers (tools/chat/render_cases.py) and — where the two reference renderers agree —
/// npm @huggingface/jinja; where Python raises, we raise too. Token ids of the v1/v3 renderings equal HF
/// tokenizers' (npm tokenizers). Written by tools/chat/make_fixtures.js.
/// </summary>
public sealed class ChatTemplateReferenceTests
{
    public static IEnumerable<object[]> CaseNames()
    {
        using var doc = ChatTestPaths.Json("cases.json");
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! }).ToList();
    }

    private static (JsonElement Case, JsonElement Expected) Load(string name)
    {
        var cases = ChatTestPaths.Json("cases.json").RootElement.GetProperty("cases");
        var expected = ChatTestPaths.Json("templates.json").RootElement.GetProperty("cases");
        return (cases.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name),
                expected.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name));
    }

    private static string Render(JsonElement c)
    {
        if (c.TryGetProperty("template_source", out var src))
        {
            var vars = (OrderedDictionary<string, object?>)JinjaJson.FromJson(c.GetProperty("vars"))!;
            return JinjaTemplate.Parse(src.GetString()!, "case").Render(vars.ToDictionary(p => p.Key, p => p.Value));
        }
        var format = ChatTestPaths.Format(c.GetProperty("template").GetString()!);
        var kwargs = (OrderedDictionary<string, object?>)JinjaJson.FromJson(c.GetProperty("kwargs"))!;
        return format.Template.Render((List<object?>)JinjaJson.FromJson(c.GetProperty("messages"))!, JinjaJson.FromJson(c.GetProperty("tools")),
            c.GetProperty("add_generation_prompt").GetBoolean(), kwargs.ToDictionary(p => p.Key, p => p.Value));
    }

    [SkippableTheory]
    [MemberData(nameof(CaseNames))]
    public void Rendering_equals_python_jinja2_and_hf_jinja(string name)
    {
        var (c, e) = Load(name);
        var pyError = e.GetProperty("python_error");
        if (pyError.ValueKind == JsonValueKind.String)
        {
            var ex = Assert.Throws<JinjaException>(() => Render(c));
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
            return;
        }
        string expected = e.GetProperty("python").GetString()!;
        string actual = Render(c);
        Assert.Equal(expected, actual);
        if (e.GetProperty("same").GetBoolean()) Assert.Equal(e.GetProperty("hf_jinja").GetString(), actual);
        if (e.TryGetProperty("ids", out var ids))
        {
            var format = ChatTestPaths.Format(c.GetProperty("template").GetString()!);
            Assert.Equal(ids.EnumerateArray().Select(x => x.GetInt32()).ToArray(), format.Tokenizer.Encode(actual));
        }
    }

    [Fact]
    public void Builtin_template_fixture_is_the_shipped_template()
    {
        // The fixture file (what tools/chat's reference renderers read) is the expected value; the shipped constant the actual.
        string shipped = ChatTemplate.BuiltinSource;
        Assert.Equal(File.ReadAllText(Path.Combine(ChatTestPaths.Fixtures, "builtin.jinja")), shipped);
    }

    [Fact]
    public void Real_templates_differ_from_hf_jinja_only_where_documented()
    {
        // @huggingface/jinja 0.5.11 ignores the argument of strip('\n')/lstrip('\n') and prints JSON floats as JS
        // numbers (1.0 -> 1, 1e-07 -> 1e-7); it renders an empty message list where Python raises. README lists these.
        var differ = ChatTestPaths.Json("templates.json").RootElement.GetProperty("cases").EnumerateArray()
            .Where(c => !c.GetProperty("same").GetBoolean() && !c.GetProperty("name").GetString()!.StartsWith("syn-"))
            .Select(c => c.GetProperty("name").GetString()).OrderBy(n => n).ToArray();
        Assert.Equal(new[] { "v3-empty", "v3-tools", "v3-tools-no-system", "v3-ws-content", "v3-ws-reasoning" }, differ);
    }

    [Theory]
    [InlineData("{% macro m() %}{% endmacro %}", "macro")]
    [InlineData("{% raw %}x{% endraw %}", "raw")]
    [InlineData("{% generation %}x{% endgeneration %}", "generation")]
    [InlineData("{{ x | selectattr('a') }}", "selectattr")]
    [InlineData("{{ x is divisibleby(3) }}", "divisibleby")]
    [InlineData("{% if x %}", "endif")]
    public void Unsupported_constructs_are_refused_by_name(string source, string construct)
    {
        var ex = Assert.Throws<JinjaException>(() => JinjaTemplate.Parse(source, "t.jinja").Render(new Dictionary<string, object?> { ["x"] = new List<object?>() }));
        Assert.Contains(construct, ex.Message);
        Assert.Contains("t.jinja:1", ex.Message);
    }
}
