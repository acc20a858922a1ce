namespace Minimind.Serve;

/// <summary>One parsed <c>&lt;tool_call&gt;{json}&lt;/tool_call&gt;</c>: OpenAI's <c>{"id", "type": "function", "function":
/// {"name", "arguments"}}</c>, the arguments a JSON string.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);
