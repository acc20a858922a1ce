using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 inside the test process, answering each POST with what
/// <see cref="Answer"/> returns for its body: status, body, and a delay before answering. Raw sockets, so the
/// tests can send anything (wrong JSON, no JSON, a 500, nothing at all).
/// </summary>
internal sealed class TestRewardServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private int _requests;

    /// <summary>(request body, request number from 1) → (status, body, delay).</summary>
    public Func<string, int, (int Status, string Body, TimeSpan Delay)> Answer { get; set; } = (_, _) => (200, "{\"score\": 0}", TimeSpan.Zero);

    /// <summary>The bodies received, in arrival order.</summary>
    public List<string> Bodies { get; } = new();

    /// <summary>POSTs received.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>http://127.0.0.1:port/score</summary>
    public Uri Url { get; }

    public TestRewardServer()
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/score");
        _ = Task.Run(AcceptLoop);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                while (true)
                {
                    string? body = await ReadRequest(stream);
                    if (body is null) return;
                    int n = Interlocked.Increment(ref _requests);
                    lock (Bodies) Bodies.Add(body);
                    var (status, answer, delay) = Answer(body, n);
                    if (delay > TimeSpan.Zero) await Task.Delay(delay, _stop.Token);
                    var bytes = Encoding.UTF8.GetBytes(answer);
                    var head = $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Status")}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(bytes, _stop.Token);
                }
            }
            catch (Exception) { /* the client went away or the server stopped */ }
        }
    }

    // Headers up to the blank line, then Content-Length bytes of body; null at end of stream.
    private static async Task<string?> ReadRequest(NetworkStream stream)
    {
        var buf = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0) return null;
            buf.Add(one[0]);
            int c = buf.Count;
            if (c >= 4 && buf[c - 4] == '\r' && buf[c - 3] == '\n' && buf[c - 2] == '\r' && buf[c - 1] == '\n') break;
        }
        string head = Encoding.ASCII.GetString(buf.ToArray());
        int length = 0;
        foreach (var line in head.Split("\r\n"))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
        var body = new byte[length];
        int read = 0;
        while (read < length)
        {
            int r = await stream.ReadAsync(body.AsMemory(read));
            if (r == 0) return null;
            read += r;
        }
        return Encoding.UTF8.GetString(body);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
