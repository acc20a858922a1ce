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
    public static string RequireTokenizerFolder(string version) =>
        Path.GetDirectoryName(Tokenizer.TokenizerTestPaths.RequireShared(version, "tokenizer_config.json", "chat-template reference test"))!;

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
