using System.Text.Json;
using Minimind.Serve;
using Minimind.Tests;

namespace Minimind.Serve.Tests;

/// <summary>
/// <see cref="ReplyParser"/> against MiniMind's own <c>parse_response</c> (scripts/serve_openai_api.py, run by
/// tools/serve/parse_response_fixture.py on 1,000 seeded replies: think blocks closed or lone, well-formed and malformed
/// tool calls, unbalanced tags, non-ASCII and float arguments that Python's json.dumps re-writes).
/// </summary>
public sealed class ReplyParserTests
{
    [Fact]
    public void EqualsMiniMindsParseResponse_OnAThousandSeededReplies()
    {
        var path = Path.Combine(TestEnvironment.Fixtures("serve"), "parse_response.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        int n = 0, calls = 0;
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            var (content, reasoning, tools) = ReplyParser.Parse(text, "x");
            string at = $"case {n}: {JsonSerializer.Serialize(text)}";
            Assert.True(c.GetProperty("content").GetString() == content, $"{at}: content {JsonSerializer.Serialize(content)}");
            var r = c.GetProperty("reasoning");
            Assert.True((r.ValueKind == JsonValueKind.Null ? null : r.GetString()) == reasoning, $"{at}: reasoning {JsonSerializer.Serialize(reasoning)}");
            var want = c.GetProperty("tool_calls");
            if (want.ValueKind == JsonValueKind.Null) Assert.True(tools is null, $"{at}: tool calls where MiniMind finds none");
            else
            {
                Assert.True(tools is not null, $"{at}: no tool calls where MiniMind finds {want.GetArrayLength()}");
                Assert.Equal(want.GetArrayLength(), tools!.Count);
                int i = 0;
                foreach (var w in want.EnumerateArray())
                {
                    var name = w.GetProperty("name");
                    Assert.Equal(name.ValueKind == JsonValueKind.String ? name.GetString() : name.GetRawText(), tools[i].Name);
                    Assert.True(w.GetProperty("arguments").GetString() == tools[i].Arguments, $"{at}: call {i} arguments {tools[i].Arguments}");
                    Assert.StartsWith("call_x_", tools[i].Id);
                    i++; calls++;
                }
            }
            n++;
        }
        Assert.Equal(1000, n);
        Assert.True(calls > 300, $"only {calls} tool calls in the fixture");
    }
}
