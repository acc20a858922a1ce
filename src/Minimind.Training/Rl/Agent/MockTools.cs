using Minimind.Model.Text;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Agent;

/// <summary>
/// train_agent.py's six mock tools (MOCK_RESULTS over its WEATHER/TIME/EXCHANGE/TRANSLATE/UNIT tables) and their
/// argument checks (CHECK_ARGS), executed deterministically with Python's semantics: a tool that would raise in
/// Python (unknown name, arguments that are not an object, a value float() refuses, an expression eval cannot
/// compute) returns null, which execute_tool's caller turns into the "tool not found" observation.
/// </summary>
public static class MockTools
{
    /// <summary>The tool names, in MiniMind's TOOLS order.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["calculate_math", "unit_converter", "get_current_weather", "get_current_time", "get_exchange_rate", "translate_text"];

    private static readonly Dictionary<string, (string Temp, string Condition)> Weather = new()
    {
        ["北京"] = ("28°C", "晴"), ["上海"] = ("15°C", "多云"), ["广州"] = ("32°C", "闷热"), ["深圳"] = ("30°C", "晴"),
        ["杭州"] = ("22°C", "阴"), ["成都"] = ("18°C", "小雨"), ["武汉"] = ("25°C", "多云"), ["南京"] = ("20°C", "晴"),
        ["西安"] = ("16°C", "大风"), ["重庆"] = ("26°C", "阴"), ["Tokyo"] = ("12°C", "晴"), ["New York"] = ("8°C", "多云"),
        ["London"] = ("5°C", "小雨"), ["Paris"] = ("10°C", "阴"), ["Sydney"] = ("25°C", "晴朗"),
    };

    private static readonly Dictionary<string, string> Time = new()
    {
        ["Asia/Shanghai"] = "2025-03-07 14:30:00", ["America/New_York"] = "2025-03-07 01:30:00", ["Europe/London"] = "2025-03-07 06:30:00",
        ["Asia/Tokyo"] = "2025-03-07 15:30:00", ["Europe/Paris"] = "2025-03-07 07:30:00", ["Australia/Sydney"] = "2025-03-07 17:30:00",
    };

    private static readonly Dictionary<(string, string), double> Exchange = new()
    {
        [("USD", "CNY")] = 7.21, [("EUR", "CNY")] = 7.85, [("GBP", "CNY")] = 9.12, [("JPY", "CNY")] = 0.048,
        [("USD", "EUR")] = 0.92, [("USD", "GBP")] = 0.79, [("CNY", "JPY")] = 20.83, [("AUD", "CNY")] = 4.72,
    };

    private static readonly Dictionary<(string, string), string> Translate = new()
    {
        [("你好世界", "english")] = "Hello World", [("Good morning", "chinese")] = "早上好",
        [("今天天气真好", "english")] = "The weather is nice today", [("I love programming", "chinese")] = "我喜欢编程",
        [("机器学习很有趣", "english")] = "Machine learning is interesting", [("Happy birthday", "chinese")] = "生日快乐",
    };

    private static readonly Dictionary<string, double> Units = new()
    {
        ["km_miles"] = 0.621371, ["miles_km"] = 1.60934, ["kg_pounds"] = 2.20462, ["pounds_kg"] = 0.453592,
        ["meters_feet"] = 3.28084, ["feet_meters"] = 0.3048, ["celsius_fahrenheit"] = 1.8, ["fahrenheit_celsius"] = 0.5556,
    };

    /// <summary><c>execute_tool(name, args)</c>: the result dict, or null where MiniMind's gets None.</summary>
    public static PyDict? Execute(PyValue name, PyValue args)
    {
        if (name is not PyStr { Value: var n } || !Names.Contains(n)) return null;
        try { return args is PyDict a ? Run(n, a) : null; }
        catch (PyError) { return null; }
    }

    private static PyDict Run(string name, PyDict a)
    {
        switch (name)
        {
            case "calculate_math":
            {
                string expr = a.Get("expression", new PyStr("0")).Str()
                    .Replace("^", "**").Replace("×", "*").Replace("÷", "/").Replace("−", "-").Replace("（", "(").Replace("）", ")");
                return PyDict.Of(("result", new PyStr(PyExpression.Eval(expr).Str())));
            }
            case "unit_converter":
            {
                double value = Float(a.Get("value", new PyInt(0)));
                string key = $"{Lower(a.Get("from_unit", new PyStr("")))}_{Lower(a.Get("to_unit", new PyStr("")))}";
                double r = Units.TryGetValue(key, out double f) ? value * f : value * 1;
                return PyDict.Of(("result", new PyFloat(PyFloatFormat.Round(r, 4))));
            }
            case "get_current_weather":
            {
                var loc = a.Get("location", PyValue.None);
                var w = Key(loc) is { } k && Weather.TryGetValue(k, out var hit) ? hit : ("22°C", "晴");
                return PyDict.Of(("city", loc), ("temperature", new PyStr(w.Item1)), ("humidity", new PyStr("65%")), ("condition", new PyStr(w.Item2)));
            }
            case "get_current_time":
            {
                var tz = a.Get("timezone", new PyStr("Asia/Shanghai"));
                string when = Key(tz) is { } k && Time.TryGetValue(k, out var t) ? t : "2025-03-07 14:30:00";
                return PyDict.Of(("datetime", new PyStr(when)), ("timezone", tz));
            }
            case "get_exchange_rate":
            {
                PyValue from = a.Get("from_currency", PyValue.None), to = a.Get("to_currency", PyValue.None);
                var (f, t) = (Key(from), Key(to));   // the tuple key is hashed whole: either part unhashable raises
                double rate = f is not null && t is not null && Exchange.TryGetValue((f, t), out var r) ? r : 1.0;
                return PyDict.Of(("from", from), ("to", to), ("rate", new PyFloat(rate)));
            }
            default: // translate_text
            {
                PyValue text = a.Get("text", PyValue.None), lang = a.Get("target_language", PyValue.None);
                var (x, y) = (Key(text), Key(lang));
                PyValue result = x is not null && y is not null && Translate.TryGetValue((x, y), out var tr) ? new PyStr(tr) : a.Get("text", new PyStr(""));
                return PyDict.Of(("translated_text", result));
            }
        }
    }

    /// <summary><c>CHECK_ARGS[name](args)</c> as a bool; false for arguments that are not an object.</summary>
    public static bool CheckArguments(string name, PyValue args)
    {
        if (args is not PyDict a) return false;
        bool Has(string k) => a.Get(k) is { Truthy: true };
        return name switch
        {
            "calculate_math" => Has("expression"),
            "unit_converter" => a.Get("value") is { } v && v is not PyNone && Has("from_unit") && Has("to_unit"),
            "get_current_weather" => Has("location"),
            "get_current_time" => true,
            "get_exchange_rate" => Has("from_currency") && Has("to_currency"),
            "translate_text" => Has("text") && Has("target_language"),
            _ => false,
        };
    }

    // A dict key lookup: a str matches a str key; other hashable values match nothing; lists and dicts raise TypeError.
    private static string? Key(PyValue v) => v switch
    {
        PyStr s => s.Value,
        PyList or PyDict => throw new PyError("unhashable type"),
        _ => null,
    };

    private static string Lower(PyValue v) => v is PyStr s ? PythonText.Lower(s.Value) : throw new PyError("'lower' of a non-str");

    private static double Float(PyValue v) => v switch
    {
        PyStr s => PyFloatFormat.Parse(s.Value),
        PyInt or PyBool or PyFloat => PyNumbers.ToFloat(v),
        _ => throw new PyError("float() argument must be a string or a real number"),
    };
}
