using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Minimind.Model.Data;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Agent;

/// <summary>
/// The rows of <c>minimind train --stage agent</c> without <c>--data</c>, as agent_rl.jsonl lines
/// (<c>{"conversations": [system with tools, user, assistant], "gt": [...]}</c>): a question answered by one of the
/// six mock tools, that tool and one other offered, the answer the tool's table gives as the ground truth. Generated
/// deterministically from <see cref="Seed"/>.
/// </summary>
public static class BuiltinAgentRows
{
    /// <summary>Rows in the default set.</summary>
    public const int DefaultCount = 96;
    /// <summary>Seed of the default set.</summary>
    public const ulong Seed = 0x746F6F6C75736521; // "tooluse!"

    // train_agent.py's TOOLS, one per mock tool (name, description, parameters JSON)
    private static readonly (string Name, string Description, string Parameters)[] Tools =
    {
        ("calculate_math", "计算数学表达式", """{"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}"""),
        ("unit_converter", "单位换算", """{"type": "object", "properties": {"value": {"type": "number"}, "from_unit": {"type": "string"}, "to_unit": {"type": "string"}}, "required": ["value", "from_unit", "to_unit"]}"""),
        ("get_current_weather", "获取天气", """{"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}"""),
        ("get_current_time", "获取时间", """{"type": "object", "properties": {"timezone": {"type": "string", "default": "Asia/Shanghai"}}, "required": []}"""),
        ("get_exchange_rate", "查询汇率", """{"type": "object", "properties": {"from_currency": {"type": "string"}, "to_currency": {"type": "string"}}, "required": ["from_currency", "to_currency"]}"""),
        ("translate_text", "翻译文本", """{"type": "object", "properties": {"text": {"type": "string"}, "target_language": {"type": "string"}}, "required": ["text", "target_language"]}"""),
    };

    private static readonly string[] Cities = { "Tokyo", "London", "Paris", "Sydney", "New York", "北京", "上海" };
    private static readonly string[] Zones = { "Asia/Tokyo", "Europe/London", "Europe/Paris", "Australia/Sydney", "America/New_York" };
    private static readonly (string From, string To)[] Pairs = { ("USD", "CNY"), ("EUR", "CNY"), ("GBP", "CNY"), ("USD", "EUR"), ("AUD", "CNY") };
    private static readonly (string From, string To, string Name)[] Units = { ("km", "miles", "kilometres"), ("kg", "pounds", "kilograms"), ("meters", "feet", "metres") };
    private static readonly (string Text, string Language)[] Phrases = { ("Good morning", "chinese"), ("I love programming", "chinese"), ("Happy birthday", "chinese"), ("你好世界", "english") };

    /// <summary>The rows, one JSON line each.</summary>
    public static IReadOnlyList<string> Create(int count = DefaultCount, ulong seed = Seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var rng = new SplitMix64(seed);
        var rows = new string[count];
        for (int i = 0; i < count; i++)
        {
            int tool = i % Tools.Length;
            var (question, call, answer, gt) = Question(tool, ref rng);
            int other = (tool + 1 + rng.Next(Tools.Length - 1)) % Tools.Length;
            var offered = new JsonArray(Tool(tool), Tool(other));
            var row = new JsonObject
            {
                ["conversations"] = new JsonArray(
                    new JsonObject { ["role"] = "system", ["content"] = "Use tools.", ["tools"] = offered.ToJsonString() },
                    new JsonObject { ["role"] = "user", ["content"] = question },
                    new JsonObject { ["role"] = "assistant", ["content"] = $"<tool_call>{call}</tool_call> {answer}" }),
                ["gt"] = new JsonArray(gt),
            };
            rows[i] = row.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        }
        return rows;
    }

    private static JsonObject Tool(int k) => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = Tools[k].Name, ["description"] = Tools[k].Description, ["parameters"] = JsonNode.Parse(Tools[k].Parameters) },
    };

    // The question, the call a good answer makes, the answer's text and the ground-truth value (the mock tool's result).
    private static (string Question, string Call, string Answer, JsonNode Gt) Question(int tool, ref SplitMix64 rng)
    {
        string Call(string name, JsonObject args) => new JsonObject { ["name"] = name, ["arguments"] = args }.ToJsonString();
        switch (Tools[tool].Name)
        {
            case "calculate_math":
            {
                int a = 2 + rng.Next(30), b = 2 + rng.Next(30), c = rng.Next(50);
                int v = a * b + c;
                return ($"What is {a}*{b}+{c}?", Call("calculate_math", new() { ["expression"] = $"{a}*{b}+{c}" }), $"{a}*{b}+{c} = {v}.", JsonValue.Create(v));
            }
            case "unit_converter":
            {
                var u = Units[rng.Next(Units.Length)];
                int value = 1 + rng.Next(50);
                var result = MockTools.Execute(new PyStr("unit_converter"), PyDict.Of(("value", new PyInt(value)), ("from_unit", new PyStr(u.From)), ("to_unit", new PyStr(u.To))))!;
                double r = ((PyFloat)result.Get("result")!).Value;
                string text = PyJson.Dumps(new PyFloat(r));
                return ($"{value} {u.Name} in {u.To}?", Call("unit_converter", new() { ["value"] = value, ["from_unit"] = u.From, ["to_unit"] = u.To }),
                    $"{value} {u.From} is {text} {u.To}.", JsonValue.Create(r));
            }
            case "get_current_weather":
            {
                string city = Cities[rng.Next(Cities.Length)];
                string temp = ((PyStr)MockTools.Execute(new PyStr("get_current_weather"), PyDict.Of(("location", new PyStr(city))))!.Get("temperature")!).Value;
                return ($"What is the weather in {city}?", Call("get_current_weather", new() { ["location"] = city }), $"It is {temp} in {city}.", JsonValue.Create(temp));
            }
            case "get_current_time":
            {
                string zone = Zones[rng.Next(Zones.Length)];
                string when = ((PyStr)MockTools.Execute(new PyStr("get_current_time"), PyDict.Of(("timezone", new PyStr(zone))))!.Get("datetime")!).Value;
                return ($"What time is it in {zone}?", Call("get_current_time", new() { ["timezone"] = zone }), $"It is {when} in {zone}.", JsonValue.Create(when));
            }
            case "get_exchange_rate":
            {
                var p = Pairs[rng.Next(Pairs.Length)];
                double rate = ((PyFloat)MockTools.Execute(new PyStr("get_exchange_rate"), PyDict.Of(("from_currency", new PyStr(p.From)), ("to_currency", new PyStr(p.To))))!.Get("rate")!).Value;
                return ($"Exchange rate {p.From} to {p.To}?", Call("get_exchange_rate", new() { ["from_currency"] = p.From, ["to_currency"] = p.To }),
                    $"1 {p.From} = {rate.ToString(CultureInfo.InvariantCulture)} {p.To}.", JsonValue.Create(rate));
            }
            default:
            {
                var (text, language) = Phrases[rng.Next(Phrases.Length)];
                string translated = ((PyStr)MockTools.Execute(new PyStr("translate_text"), PyDict.Of(("text", new PyStr(text)), ("target_language", new PyStr(language))))!.Get("translated_text")!).Value;
                return ($"Translate '{text}' into {language}.", Call("translate_text", new() { ["text"] = text, ["target_language"] = language }), translated, JsonValue.Create(translated));
            }
        }
    }
}
