using System.Buffers;
using MessagePack;

namespace Minimind.Training;

/// <summary>
/// Everything besides the three flat buffers (weights, AdamW m and v) that a resumed run needs to
/// continue bit for bit: counters, the fixed schedule length, data position, seeds, hyper-parameters
/// and the per-step loss log. Stored as <c>state.msgpack</c> in each resume-state folder.
/// Checkpoints are only ever taken at optimizer-step boundaries, so no partial accumulation window
/// (no half-summed gradient) ever needs saving.
/// </summary>
public sealed class TrainingState
{
    /// <summary>Layout version of this record.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Architecture fields (see <see cref="ArchSignature"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Arch { get; set; } = Array.Empty<KeyValuePair<string, string>>();
    /// <summary>Optimizer steps completed.</summary>
    public long OptimizerStep { get; set; }
    /// <summary>Optimizer steps the LR schedule spans (fixed at the start of the run).</summary>
    public long TotalSteps { get; set; }
    /// <summary>Epochs the run was started with.</summary>
    public int Epochs { get; set; }
    /// <summary>Epoch of the next micro-batch (0-based).</summary>
    public int Epoch { get; set; }
    /// <summary>Micro-batches already consumed in <see cref="Epoch"/> (MiniMind's 'step').</summary>
    public long MicroStepInEpoch { get; set; }
    /// <summary>Tokens with a target (non-padding) trained on so far.</summary>
    public long TokensSeen { get; set; }
    /// <summary>Run seed (model init and the per-epoch shuffle, see <see cref="DataOrder"/>).</summary>
    public long Seed { get; set; }
    /// <summary>Number of data-parallel ranks the state was saved with (also MiniMind's step rescaling).</summary>
    public int WorldSize { get; set; } = 1;
    /// <summary>Rows per micro-batch.</summary>
    public int BatchSize { get; set; }
    /// <summary>Micro-batches per optimizer step on each rank.</summary>
    public int AccumulationSteps { get; set; }
    /// <summary>G = world size × accumulation steps: micro-batches per optimizer step over all ranks (0 in older states: take AccumulationSteps × WorldSize).</summary>
    public int MicroBatchesPerStep { get; set; }
    /// <summary>Tokens per row.</summary>
    public int SeqLen { get; set; }
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; set; }
    /// <summary>Gradient-norm clip (0 = off).</summary>
    public double GradClip { get; set; }
    /// <summary>Samples in the training data (a different count refuses to resume: the order would differ).</summary>
    public long DataCount { get; set; }
    /// <summary>Where the data came from (informational).</summary>
    public string DataDescription { get; set; } = "";
    /// <summary>SHA-256 of every sample's rows in index order (<see cref="DataFingerprint"/>): a resume onto other rows, or the
    /// same rows in another order, is refused. Empty in states written before it was recorded.</summary>
    public string DataHash { get; set; } = "";
    /// <summary>Backend the run used ("cpu", "cuda", ...); bit-exactness holds for the same one.</summary>
    public string Device { get; set; } = "";
    /// <summary>AdamW β1.</summary>
    public float Beta1 { get; set; }
    /// <summary>AdamW β2.</summary>
    public float Beta2 { get; set; }
    /// <summary>AdamW ε.</summary>
    public float Eps { get; set; }
    /// <summary>AdamW weight decay.</summary>
    public float WeightDecay { get; set; }
    /// <summary>AdamW's step counter.</summary>
    public long AdamStep { get; set; }
    /// <summary>Loss of every optimizer step so far (mean over its micro-batches), index = step − 1.</summary>
    public List<float> Losses { get; set; } = new();
    /// <summary>Loss of the next micro-batch under the saved weights (the resume check); NaN when the run had ended.</summary>
    public float NextBatchLoss { get; set; } = float.NaN;

    /// <summary>Autocast precision of the run ("fp32", "bf16", "fp16"); a resume with another one is refused.</summary>
    public string Dtype { get; set; } = "fp32";
    /// <summary>fp16 loss scale (<see cref="GradScaler.Scale"/>; 1 when scaling is off).</summary>
    public float ScalerScale { get; set; } = 1f;
    /// <summary>fp16 good steps since the scale last changed (<see cref="GradScaler.GrowthTracker"/>).</summary>
    public int ScalerGrowthTracker { get; set; }
    /// <summary>Optimizer steps skipped because the fp16 gradients overflowed.</summary>
    public long SkippedSteps { get; set; }

    /// <summary>A copy that the run's further steps do not change (the loss log copied too).</summary>
    public TrainingState Clone()
    {
        var c = (TrainingState)MemberwiseClone();
        c.Losses = new List<float>(Losses);
        return c;
    }

    /// <summary>Encodes the state as a MessagePack map.</summary>
    public byte[] Serialize()
    {
        var buf = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buf);
        w.WriteMapHeader(31);
        w.Write("format_version"); w.Write(CurrentFormatVersion);
        w.Write("arch"); w.WriteMapHeader(Arch.Count);
        foreach (var kv in Arch) { w.Write(kv.Key); w.Write(kv.Value); }
        w.Write("optimizer_step"); w.Write(OptimizerStep);
        w.Write("total_steps"); w.Write(TotalSteps);
        w.Write("epochs"); w.Write(Epochs);
        w.Write("epoch"); w.Write(Epoch);
        w.Write("micro_step_in_epoch"); w.Write(MicroStepInEpoch);
        w.Write("tokens_seen"); w.Write(TokensSeen);
        w.Write("seed"); w.Write(Seed);
        w.Write("world_size"); w.Write(WorldSize);
        w.Write("batch_size"); w.Write(BatchSize);
        w.Write("accumulation_steps"); w.Write(AccumulationSteps);
        w.Write("micro_batches_per_step"); w.Write(MicroBatchesPerStep);
        w.Write("seq_len"); w.Write(SeqLen);
        w.Write("learning_rate"); w.Write(LearningRate);
        w.Write("grad_clip"); w.Write(GradClip);
        w.Write("data_count"); w.Write(DataCount);
        w.Write("data"); w.Write(DataDescription);
        w.Write("data_hash"); w.Write(DataHash);
        w.Write("device"); w.Write(Device);
        w.Write("beta1"); w.Write(Beta1);
        w.Write("beta2"); w.Write(Beta2);
        w.Write("eps"); w.Write(Eps);
        w.Write("weight_decay"); w.Write(WeightDecay);
        w.Write("adam_step"); w.Write(AdamStep);
        w.Write("losses"); w.WriteArrayHeader(Losses.Count);
        foreach (var l in Losses) w.Write(l);
        w.Write("next_batch_loss"); w.Write(NextBatchLoss);
        w.Write("dtype"); w.Write(Dtype);
        w.Write("scaler_scale"); w.Write(ScalerScale);
        w.Write("scaler_growth_tracker"); w.Write(ScalerGrowthTracker);
        w.Write("skipped_steps"); w.Write(SkippedSteps);
        w.Flush();
        return buf.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a state; throws InvalidDataException naming <paramref name="source"/> when it is not one.</summary>
    public static TrainingState Deserialize(byte[] data, string source)
    {
        var s = new TrainingState();
        int version = 0;
        try
        {
            var r = new MessagePackReader(data);
            int n = r.ReadMapHeader();
            for (int i = 0; i < n; i++)
            {
                switch (r.ReadString())
                {
                    case "format_version": version = r.ReadInt32(); break;
                    case "arch":
                        {
                            int m = r.ReadMapHeader();
                            var list = new List<KeyValuePair<string, string>>(m);
                            for (int j = 0; j < m; j++) list.Add(new(r.ReadString() ?? "", r.ReadString() ?? ""));
                            s.Arch = list;
                            break;
                        }
                    case "optimizer_step": s.OptimizerStep = r.ReadInt64(); break;
                    case "total_steps": s.TotalSteps = r.ReadInt64(); break;
                    case "epochs": s.Epochs = r.ReadInt32(); break;
                    case "epoch": s.Epoch = r.ReadInt32(); break;
                    case "micro_step_in_epoch": s.MicroStepInEpoch = r.ReadInt64(); break;
                    case "tokens_seen": s.TokensSeen = r.ReadInt64(); break;
                    case "seed": s.Seed = r.ReadInt64(); break;
                    case "world_size": s.WorldSize = r.ReadInt32(); break;
                    case "batch_size": s.BatchSize = r.ReadInt32(); break;
                    case "accumulation_steps": s.AccumulationSteps = r.ReadInt32(); break;
                    case "micro_batches_per_step": s.MicroBatchesPerStep = r.ReadInt32(); break;
                    case "seq_len": s.SeqLen = r.ReadInt32(); break;
                    case "learning_rate": s.LearningRate = r.ReadDouble(); break;
                    case "grad_clip": s.GradClip = r.ReadDouble(); break;
                    case "data_count": s.DataCount = r.ReadInt64(); break;
                    case "data": s.DataDescription = r.ReadString() ?? ""; break;
                    case "data_hash": s.DataHash = r.ReadString() ?? ""; break;
                    case "device": s.Device = r.ReadString() ?? ""; break;
                    case "beta1": s.Beta1 = r.ReadSingle(); break;
                    case "beta2": s.Beta2 = r.ReadSingle(); break;
                    case "eps": s.Eps = r.ReadSingle(); break;
                    case "weight_decay": s.WeightDecay = r.ReadSingle(); break;
                    case "adam_step": s.AdamStep = r.ReadInt64(); break;
                    case "losses":
                        {
                            int m = r.ReadArrayHeader();
                            s.Losses = new List<float>(m);
                            for (int j = 0; j < m; j++) s.Losses.Add(r.ReadSingle());
                            break;
                        }
                    case "next_batch_loss": s.NextBatchLoss = r.ReadSingle(); break;
                    case "dtype": s.Dtype = r.ReadString() ?? "fp32"; break;
                    case "scaler_scale": s.ScalerScale = r.ReadSingle(); break;
                    case "scaler_growth_tracker": s.ScalerGrowthTracker = r.ReadInt32(); break;
                    case "skipped_steps": s.SkippedSteps = r.ReadInt64(); break;
                    default: r.Skip(); break;
                }
            }
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException)
        {
            throw new InvalidDataException($"{source}: not a valid training state: {e.Message}", e);
        }
        if (version < 1 || version > CurrentFormatVersion)
            throw new InvalidDataException($"{source}: training-state format version {version} is not supported (this build reads {CurrentFormatVersion})");
        return s;
    }
}
