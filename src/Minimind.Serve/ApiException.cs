namespace Minimind.Serve;

/// <summary>
/// A request the server refuses: the HTTP status and the OpenAI-style error body it answers with
/// (<c>{"error": {"message", "type", "param", "code"}}</c>), never a stack trace.
/// </summary>
public sealed class ApiException(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null)
    : Exception(message)
{
    /// <summary>The HTTP status (400, 401, 404, 413, 429, 503).</summary>
    public int Status { get; } = status;
    /// <summary>OpenAI's error type (<c>invalid_request_error</c>, <c>authentication_error</c>, ...).</summary>
    public string Type { get; } = type;
    /// <summary>The request field at fault, if one is.</summary>
    public string? Param { get; } = param;
    /// <summary>A machine-readable code (<c>context_length_exceeded</c>, <c>invalid_api_key</c>, ...).</summary>
    public string? Code { get; } = code;

    /// <summary>400 naming the field.</summary>
    public static ApiException BadField(string param, string message) => new(400, message, param: param);
}
