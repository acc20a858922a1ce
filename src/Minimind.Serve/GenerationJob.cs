using System.Threading.Channels;
using Minimind.Model.Generation;

namespace Minimind.Serve;

/// <summary>
/// One request's life in the <see cref="BatchScheduler"/>: queued, then a sequence of the engine, its sampled tokens
/// delivered through <see cref="Events"/> as the batch steps (the channel completes when the sequence stops, or with an
/// exception when it could not run). <see cref="Cancel"/> (a client that went away, a stop string) frees its slot at the
/// next step.
/// </summary>
public sealed class GenerationJob
{
    private readonly Channel<TokenEvent> _events = Channel.CreateUnbounded<TokenEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Action<GenerationJob> _onCancel;
    private volatile bool _cancelled;

    internal GenerationJob(GenerationRequest request, Action<GenerationJob> onCancel)
    {
        Request = request;
        _onCancel = onCancel;
    }

    /// <summary>What the engine runs.</summary>
    public GenerationRequest Request { get; }
    /// <summary>The sampled tokens, in order; completes when the sequence stops.</summary>
    public ChannelReader<TokenEvent> Events => _events.Reader;
    /// <summary>True once <see cref="Cancel"/> was called.</summary>
    public bool IsCancelled => _cancelled;

    internal ChannelWriter<TokenEvent> Writer => _events.Writer;

    /// <summary>Stops generating (between two steps) and frees the sequence; what was sampled so far stays readable.</summary>
    public void Cancel()
    {
        if (_cancelled) return;
        _cancelled = true;
        _onCancel(this);
    }
}
