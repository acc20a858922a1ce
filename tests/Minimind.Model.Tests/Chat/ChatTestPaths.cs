using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Tokenizer;
using Minimind.Tests;

namespace Minimind.Model.Tests.Chat;

/// <summary>tests/fixtures/chat and MiniMind's tokenizer folders (../shared/minimind), with a visible skip when absent.</summary>
internal static class ChatTestPaths
{
    /// <summary>tests/fixtures/chat.</summary>
    public static string Fixtures { get; } = TestEnvironment.Fixtures("chat");

    /// <summary>shared/minimind/<paramref name="version"/> (skips the test when absent).</summary>
    public static string RequireTokenizerFolder(string version)
    {
        var shared = TestEnvironment.FindUp(Path.Combine("shared", "minimind"));
        Skip.If(shared is null, "shared/minimind (MiniMind's tokenizer files) not found above " + AppContext.BaseDirectory + "; chat-template reference test skipped");
        var dir = Path.Combine(shared!, version);
        Skip.IfNot(File.Exists(Path.Combine(dir, "tokenizer_config.json")), dir + "/tokenizer_config.json not found; test skipped");
        return dir;
    }

    private static readonly Dictionary<string, ChatFormat> _formats = new();

    /// <summary>The chat format of "v1", "v3" (MiniMind's real files; skips when absent) or "builtin" (byte tokenizer).</summary>
    public static ChatFormat Format(string name)
    {
        string spec = name == "builtin" ? "byte" : RequireTokenizerFolder(name);
        lock (_formats)
        {
            if (!_formats.TryGetValue(name, out var f)) _formats[name] = f = ChatFormat.Load(spec);
            return f;
        }
    }

    /// <summary>Parses a fixture JSON file.</summary>
    public static JsonDocument Json(string file) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures, file)));
}
