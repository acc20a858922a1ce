namespace Minimind.Serve;

/// <summary>How <c>minimind serve</c> listens and what it admits.</summary>
public sealed record ServeOptions
{
    /// <summary>Address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port (MiniMind's server uses 8998); 0 picks a free one (printed at start).</summary>
    public int Port { get; init; } = 8998;
    /// <summary>The model id reported by <c>/v1/models</c> and in every response.</summary>
    public string ModelName { get; init; } = "minimind";
    /// <summary>Bearer key every <c>/v1/*</c> request must carry (null: none).</summary>
    public string? ApiKey { get; init; }
    /// <summary>Requests that may wait for a generation slot; more get 429.</summary>
    public int MaxQueue { get; init; } = 64;
    /// <summary>Largest request body in bytes (Content-Length or chunked); larger gets 413.</summary>
    public long MaxBodyBytes { get; init; } = 4 << 20;
    /// <summary>How long SIGTERM waits for in-flight requests before closing them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Where the server reports its address and each request (stderr by default).</summary>
    public TextWriter Log { get; init; } = Console.Error;
}
