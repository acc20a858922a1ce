using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Minimind.Model.Chat;
using Minimind.Model.Chat.Jinja;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;

namespace Minimind.Serve;

/// <summary>
/// The OpenAI-compatible server: Kestrel endpoints over a <see cref="BatchScheduler"/> (continuous batching on the
/// rollout engine). <c>POST /v1/chat/completions</c> and <c>/v1/completions</c> (streamed as server-sent events or not),
/// <c>GET /v1/models</c>, <c>GET /health</c>, and the chat page at <c>/</c>. Every refusal is an OpenAI-style JSON error.
/// SIGTERM (or Ctrl+C) drains: no new requests (503), the running and queued ones finish, then <see cref="Run"/> returns.
/// </summary>
public sealed class ChatServer
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly BatchScheduler _scheduler;
    private readonly ChatFormat _format;
    private readonly ServeOptions _options;
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private long _requests;

    /// <summary>A server generating with <paramref name="engine"/> and <paramref name="format"/>'s tokenizer and chat template.</summary>
    public ChatServer(RolloutEngine engine, ChatFormat format, ServeOptions options)
    {
        _format = format;
        _options = options;
        _scheduler = new BatchScheduler(engine, options.MaxQueue);
    }

    /// <summary>Serves until SIGTERM/SIGINT (or <paramref name="stop"/> is cancelled: an in-process server, as
    /// <c>bench serve</c> runs one), drains, and returns 0. <paramref name="started"/> gets the bound address.</summary>
    public int Run(Action<string>? started = null, CancellationToken stop = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = _options.DrainTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = _options.MaxBodyBytes;
            if (_options.Host == "localhost") k.ListenLocalhost(_options.Port);
            else if (IPAddress.TryParse(_options.Host, out var ip)) k.Listen(ip, _options.Port);
            else throw new ArgumentException($"--host '{_options.Host}' is not an IP address (or localhost)");
        });
        using var app = builder.Build();
        app.Use(Authorize);
        app.MapGet("/", Page);
        app.MapGet("/health", ctx => Write(ctx, 200, new JsonObject
        {
            ["status"] = "ok", ["model"] = _options.ModelName, ["running"] = _scheduler.Running, ["queued"] = _scheduler.Queued,
            ["max_batch"] = _scheduler.MaxBatch, ["context"] = _scheduler.Context,
        }));
        app.MapGet("/v1/models", ctx => Write(ctx, 200, new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = _options.ModelName, ["object"] = "model", ["created"] = _created, ["owned_by"] = "minimind" }),
        }));
        app.MapPost("/v1/chat/completions", ctx => Guard(ctx, () => Complete(ctx, chat: true)));
        app.MapPost("/v1/completions", ctx => Guard(ctx, () => Complete(ctx, chat: false)));
        app.MapFallback(ctx => WriteError(ctx, new ApiException(404, $"no endpoint {ctx.Request.Method} {ctx.Request.Path}: see /v1/chat/completions, /v1/completions, /v1/models, /health", code: "not_found")));

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using var stopping = stop.Register(lifetime.StopApplication);
        lifetime.ApplicationStopping.Register(() =>
        {
            _scheduler.BeginDrain();
            _options.Log.WriteLine($"serve: stopping: finishing {_scheduler.Running + _scheduler.Queued} request(s) in flight (up to {_options.DrainTimeout.TotalSeconds:F0} s)");
        });
        lifetime.ApplicationStarted.Register(() =>
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            _options.Log.WriteLine($"serve: listening on {address} (model '{_options.ModelName}', up to {_scheduler.MaxBatch} sequences at once, context {_scheduler.Context})");
            _options.Log.Flush();
            started?.Invoke(address);
        });
        try { app.Run(); }
        finally { _scheduler.Dispose(); }
        _options.Log.WriteLine("serve: stopped");
        return 0;
    }

    // ---- endpoints --------------------------------------------------------------------------------

    private async Task Authorize(HttpContext ctx, RequestDelegate next)
    {
        if (_options.ApiKey is { } key && ctx.Request.Path.StartsWithSegments("/v1"))
        {
            string given = ctx.Request.Headers.Authorization.ToString();
            bool ok = given.StartsWith("Bearer ", StringComparison.Ordinal)
                && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given[7..].Trim()), Encoding.UTF8.GetBytes(key));
            if (!ok)
            {
                await WriteError(ctx, new ApiException(401, given.Length == 0
                    ? "this server needs an API key: send the header 'Authorization: Bearer KEY' (the key given to --api-key)"
                    : "incorrect API key (send 'Authorization: Bearer KEY' with the key given to --api-key)", code: "invalid_api_key"));
                return;
            }
        }
        await next(ctx);
    }

    private static async Task Page(HttpContext ctx)
    {
        using var s = typeof(ChatServer).Assembly.GetManifestResourceStream("Minimind.Serve.index.html")!;
        ctx.Response.ContentType = "text/html; charset=utf-8";
        await s.CopyToAsync(ctx.Response.Body);
    }

    private async Task Guard(HttpContext ctx, Func<Task> handler)
    {
        try { await handler(); }
        catch (ApiException e) when (!ctx.Response.HasStarted) { await WriteError(ctx, e); }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            _options.Log.WriteLine($"serve: {ctx.Request.Path}: the client went away; its generation slot is freed");
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            _options.Log.WriteLine($"serve: {ctx.Request.Path}: {e.GetType().Name}: {e.Message}");
            await WriteError(ctx, new ApiException(500, $"generation failed: {e.Message}", "server_error"));
        }
    }

    private async Task Complete(HttpContext ctx, bool chat)
    {
        var sw = Stopwatch.StartNew();
        var request = CompletionRequest.Parse(await ReadBody(ctx), chat);
        int[] prompt = chat ? ChatPrompt(request) : TextPrompt(request.Prompt!);
        int context = _scheduler.Context;
        if (prompt.Length >= context)
            throw new ApiException(413, $"the prompt has {prompt.Length} tokens; the model's context is {context} tokens (--max-seq-len), which leaves no room for a reply",
                param: chat ? "messages" : "prompt", code: "context_length_exceeded");
        if (request.MaxTokens is int asked && prompt.Length + asked > context)
            throw new ApiException(400, $"max_tokens {asked} + the prompt's {prompt.Length} tokens exceed the model's context of {context} tokens; ask for at most {context - prompt.Length}",
                param: "max_tokens", code: "context_length_exceeded");
        int maxNew = request.MaxTokens ?? Math.Min(8192, context - prompt.Length);
        var sampling = new SamplingOptions
        {
            Greedy = request.Temperature == 0, Temperature = request.Temperature, TopP = request.TopP, TopK = request.TopK, RepetitionPenalty = 1,
        };
        long seed = request.Seed ?? Random.Shared.NextInt64();
        var job = _scheduler.Submit(new GenerationRequest
        {
            Prompt = prompt, Sampler = new Sampler(sampling, Sampler.SeedState(seed)), MaxNewTokens = maxNew,
            StopIds = request.IgnoreEos ? Array.Empty<int>() : new[] { chat ? _format.StopId : _format.Tokenizer.EosId },
        });
        long n = Interlocked.Increment(ref _requests);
        string id = (chat ? "chatcmpl-" : "cmpl-") + n.ToString(CultureInfo.InvariantCulture);
        var reply = new ReplyStream(request.OpenThinking, request.Stop);
        var call = new Call(ctx, id, chat, request, prompt.Length, reply);
        try
        {
            using var left = ctx.RequestAborted.Register(job.Cancel); // a client that goes away frees its slot
            if (request.Stream) await Stream(call, job);
            else await Whole(call, job);
        }
        finally { job.Cancel(); }
        _options.Log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"serve: {id} {(request.Stream ? "streamed" : "answered")}: {prompt.Length} prompt + {call.Generated} completion tokens in {sw.Elapsed.TotalSeconds:F2} s ({call.FinishReason})"));
    }

    // One request being answered.
    private sealed class Call(HttpContext ctx, string id, bool chat, CompletionRequest request, int promptTokens, ReplyStream reply)
    {
        public HttpContext Ctx => ctx;
        public string Id => id;
        public bool Chat => chat;
        public CompletionRequest Request => request;
        public int PromptTokens => promptTokens;
        public ReplyStream Reply => reply;
        public int Generated;
        public string FinishReason = "stop";
    }

    // Feeds the job's tokens through the decoder and the reply's stop strings, passing each batch of deltas on; sets the
    // finish reason and the token count.
    private async Task Generate(Call call, GenerationJob job, Func<List<(bool Reasoning, string Text)>, Task> deltas)
    {
        var decoder = new StreamingDecoder(_format.Tokenizer, skipSpecialTokens: true);
        await foreach (var e in job.Events.ReadAllAsync(call.Ctx.RequestAborted))
        {
            if (call.Reply.Stopped) break;
            call.Generated++;
            bool last = e.Finish != Model.Generation.FinishReason.None;
            string text = e.Finish == Model.Generation.FinishReason.Stop ? "" : decoder.Add(e.Token);
            if (last) text += decoder.Flush();
            var d = call.Reply.Add(text, last);
            if (call.Reply.Stopped) job.Cancel();
            if (d.Count > 0) await deltas(d);
            call.FinishReason = call.Reply.Stopped ? "stop" : e.Finish switch
            {
                Model.Generation.FinishReason.Length or Model.Generation.FinishReason.Context => "length",
                _ => "stop",
            };
        }
    }

    private async Task Whole(Call call, GenerationJob job)
    {
        await Generate(call, job, _ => Task.CompletedTask);
        var usage = Usage(call);
        if (!call.Chat)
        {
            await Write(call.Ctx, 200, Envelope(call, "text_completion", new JsonObject
            {
                ["index"] = 0, ["text"] = call.Reply.Text, ["logprobs"] = null, ["finish_reason"] = call.FinishReason,
            }, usage));
            return;
        }
        var (content, reasoning, tools) = ReplyParser.Parse(call.Reply.Text, call.Id);
        var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
        if (!string.IsNullOrEmpty(reasoning)) message["reasoning_content"] = reasoning;
        if (tools is not null) message["tool_calls"] = ToolCalls(tools, withIndex: false);
        await Write(call.Ctx, 200, Envelope(call, "chat.completion", new JsonObject
        {
            ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = tools is not null ? "tool_calls" : call.FinishReason,
        }, usage));
    }

    private async Task Stream(Call call, GenerationJob job)
    {
        var res = call.Ctx.Response;
        res.StatusCode = 200;
        res.ContentType = "text/event-stream; charset=utf-8";
        res.Headers.CacheControl = "no-cache";
        res.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events through as they come
        string obj = call.Chat ? "chat.completion.chunk" : "text_completion";
        if (call.Chat) await Event(call, Chunk(call, obj, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        try
        {
            await Generate(call, job, async deltas =>
            {
                foreach (var (reasoning, text) in deltas)
                    await Event(call, Chunk(call, obj, call.Chat ? new JsonObject { [reasoning ? "reasoning_content" : "content"] = text } : null, null, text));
            });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Headers are sent: the failure becomes an error event, and the stream still ends with [DONE].
            await Event(call, new JsonObject { ["error"] = new JsonObject { ["message"] = $"generation failed: {e.Message}", ["type"] = "server_error", ["param"] = null, ["code"] = null } });
            await Done(call);
            return;
        }
        string finish = call.FinishReason;
        if (call.Chat)
        {
            var (_, _, tools) = ReplyParser.Parse(call.Reply.Text, call.Id);
            if (tools is not null)
            {
                await Event(call, Chunk(call, obj, new JsonObject { ["tool_calls"] = ToolCalls(tools, withIndex: true) }, null));
                finish = "tool_calls";
            }
            await Event(call, Chunk(call, obj, new JsonObject(), finish));
        }
        else await Event(call, Chunk(call, obj, null, finish, ""));
        if (call.Request.IncludeUsage)
        {
            var usage = Envelope(call, obj, null, Usage(call));
            usage["choices"] = new JsonArray();
            await Event(call, usage);
        }
        await Done(call);
    }

    private static Task Done(Call call) => call.Ctx.Response.WriteAsync("data: [DONE]\n\n", call.Ctx.RequestAborted);

    private static async Task Event(Call call, JsonObject data)
    {
        await call.Ctx.Response.WriteAsync("data: " + data.ToJsonString(Json) + "\n\n", call.Ctx.RequestAborted);
        await call.Ctx.Response.Body.FlushAsync(call.Ctx.RequestAborted);
    }

    private JsonObject Chunk(Call call, string obj, JsonObject? delta, string? finish, string? text = null)
    {
        var choice = new JsonObject { ["index"] = 0 };
        if (call.Chat) choice["delta"] = delta;
        else { choice["text"] = text; choice["logprobs"] = null; }
        choice["finish_reason"] = finish;
        return Envelope(call, obj, choice, null);
    }

    private JsonObject Envelope(Call call, string obj, JsonObject? choice, JsonObject? usage)
    {
        var o = new JsonObject
        {
            ["id"] = call.Id, ["object"] = obj, ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["model"] = _options.ModelName,
            ["choices"] = choice is null ? new JsonArray() : new JsonArray(choice),
        };
        if (usage is not null) o["usage"] = usage;
        return o;
    }

    // completion_tokens counts every sampled token, the end-of-turn token included.
    private static JsonObject Usage(Call call) => new()
    {
        ["prompt_tokens"] = call.PromptTokens, ["completion_tokens"] = call.Generated, ["total_tokens"] = call.PromptTokens + call.Generated,
    };

    private static JsonArray ToolCalls(IReadOnlyList<ToolCall> calls, bool withIndex)
    {
        var a = new JsonArray();
        for (int i = 0; i < calls.Count; i++)
        {
            var c = new JsonObject();
            if (withIndex) c["index"] = i; // streamed tool calls carry their index (OpenAI's chunk format)
            c["id"] = calls[i].Id; c["type"] = "function";
            c["function"] = new JsonObject { ["name"] = calls[i].Name, ["arguments"] = calls[i].Arguments };
            a.Add(c);
        }
        return a;
    }

    // ---- prompts ------------------------------------------------------------------------------------

    // The conversation rendered as MiniMind's server renders it (tools, open_thinking, the generation prompt), tokenized.
    private int[] ChatPrompt(CompletionRequest r)
    {
        string text;
        try
        {
            text = _format.Template.Render(r.Messages!, r.Tools, addGenerationPrompt: true,
                kwargs: new Dictionary<string, object?> { ["open_thinking"] = r.OpenThinking });
        }
        catch (JinjaException e) { throw ApiException.BadField("messages", $"the chat template cannot render these messages: {e.Message}"); }
        return _format.Tokenizer.Encode(text);
    }

    // A plain prompt as `minimind generate --prompt` takes it: bos + text.
    private int[] TextPrompt(string text) => new[] { _format.Tokenizer.BosId }.Concat(_format.Tokenizer.Encode(text)).ToArray();

    // ---- bodies -------------------------------------------------------------------------------------

    private async Task<byte[]> ReadBody(HttpContext ctx)
    {
        using var ms = new MemoryStream();
        try { await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiException(413, $"the request body is larger than this server takes ({_options.MaxBodyBytes:N0} bytes)", code: "request_too_large");
        }
        return ms.ToArray();
    }

    private static async Task Write(HttpContext ctx, int status, JsonObject body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(body.ToJsonString(Json));
    }

    private static Task WriteError(HttpContext ctx, ApiException e) => Write(ctx, e.Status, new JsonObject
    {
        ["error"] = new JsonObject { ["message"] = e.Message, ["type"] = e.Type, ["param"] = e.Param, ["code"] = e.Code },
    });
}
