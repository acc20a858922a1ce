using Minimind.Checkpoint;
using Minimind.Model;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// MiniMind's own resume file (trainer_utils.lm_checkpoint, <c>*_resume.pth</c>):
/// <c>{'model': state_dict (float16), 'optimizer': torch.optim.AdamW.state_dict(), 'epoch', 'step',
/// 'world_size', 'wandb_id', 'scaler'}</c>. 'step' counts micro-batches done in 'epoch'. The AdamW
/// state is keyed by the index in <c>model.parameters()</c>, which is the owner order of the
/// <see cref="ParameterTable"/> (a tied weight appears once).
/// </summary>
public static class MinimindResumeFile
{
    /// <summary>What a MiniMind resume file holds, as flat buffers in the model's layout.</summary>
    public sealed record Contents(float[] Weights, float[] M, float[] V, long AdamStep, int Epoch, long Step, int WorldSize,
        float Beta1, float Beta2, float Eps, float WeightDecay, PickleDict? Scaler = null);

    /// <summary>Writes the file atomically from the snapshot <paramref name="p"/> of the trained parameters; weights stored as
    /// <paramref name="modelDtype"/> (MiniMind uses float16); 'scaler' is <paramref name="scaler"/> (a GradScaler state_dict:
    /// empty for a disabled one, as a bf16 run's); <paramref name="extras"/> are extra archive records (the architecture record).</summary>
    public static void Write(string path, ParametersSnapshot p, TrainingState s, TorchDType modelDtype, double currentLr, PickleDict scaler,
        IEnumerable<KeyValuePair<string, byte[]>>? extras = null)
    {
        var (table, weights, m, v, adam) = (p.Table, p.Weights, p.M, p.V, p.AdamW);
        var state = new PickleDict();
        var ids = new List<object?>();
        long i = 0;
        foreach (var e in table.Owners)
        {
            int off = checked((int)e.Offset), len = checked((int)e.Numel);
            state[i] = new PickleDict
            {
                ["step"] = TorchTensor.FromFloat32(new[] { (float)p.AdamStep }, Array.Empty<int>()),
                ["exp_avg"] = TorchTensor.FromFloat32(m.AsSpan(off, len).ToArray(), e.Shape),
                ["exp_avg_sq"] = TorchTensor.FromFloat32(v.AsSpan(off, len).ToArray(), e.Shape),
            };
            ids.Add(i);
            i++;
        }
        var group = new PickleDict
        {
            ["lr"] = currentLr, ["betas"] = new object?[] { Exact(adam.Beta1), Exact(adam.Beta2) }, ["eps"] = Exact(adam.Eps),
            ["weight_decay"] = Exact(adam.WeightDecay), ["amsgrad"] = false, ["foreach"] = null, ["maximize"] = false,
            ["capturable"] = false, ["differentiable"] = false, ["fused"] = null, ["params"] = ids,
        };
        var root = new PickleDict
        {
            ["model"] = StateDictLoader.Export(table, weights, modelDtype).ToRoot(),
            ["optimizer"] = new PickleDict { ["state"] = state, ["param_groups"] = new List<object?> { group } },
            ["epoch"] = (long)s.Epoch,
            ["step"] = s.MicroStepInEpoch / Math.Max(1, s.WorldSize), // MiniMind's step is per rank
            ["world_size"] = (long)s.WorldSize,
            ["wandb_id"] = null,
            // A disabled GradScaler (bf16/fp32 runs) saves an empty dict.
            ["scaler"] = scaler,
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        PthWriter.Write(path, root, extras);
    }

    // torch writes the Python floats it was given (0.9, 1e-8); the float32 copies here widen to 0.8999999761581421,
    // so the shortest decimal that round-trips the float32 is what the user wrote and what torch would store.
    private static double Exact(float f) => double.Parse(f.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a MiniMind resume file for a model laid out by <paramref name="table"/>. A 'model' that does not fit the table
    /// (keys missing, left over or of other shapes) is refused as the wrong architecture, naming the fields that differ from
    /// <paramref name="config"/> when its shapes tell them.
    /// </summary>
    public static Contents Read(string path, ParameterTable table, TextWriter log, ModelConfig? config = null)
    {
        var root = PthReader.Read(path).Root as PickleDict ?? throw new InvalidDataException($"{path}: not a MiniMind resume file (the root is not a dict)");
        foreach (var key in new[] { "model", "optimizer", "epoch", "step" })
            if (!root.ContainsKey(key)) throw new InvalidDataException($"{path}: not a MiniMind resume file (no '{key}' entry)");
        var weights = new float[table.TotalElements];
        var model = StateDict.FromRoot(root["model"], path);
        var report = StateDictLoader.Load(model, table, weights, strict: false);
        if (!report.IsComplete) throw new InvalidDataException(WrongArchitecture(path, model, report, config));
        var opt = root["optimizer"] as PickleDict ?? throw new InvalidDataException($"{path}: 'optimizer' is not a dict");
        var state = opt.TryGetValue("state", out var so) && so is PickleDict sd ? sd : throw new InvalidDataException($"{path}: 'optimizer' has no 'state' dict");
        var groups = opt.TryGetValue("param_groups", out var go) && go is List<object?> gl && gl.Count > 0 && gl[0] is PickleDict g0 ? g0
            : throw new InvalidDataException($"{path}: 'optimizer' has no 'param_groups'");
        if (gl.Count != 1) throw new InvalidDataException($"{path}: the optimizer has {gl.Count} parameter groups; MiniMind's pretraining uses one");
        var m = new float[table.TotalElements];
        var v = new float[table.TotalElements];
        long adamStep = -1;
        var owners = table.Owners.ToList();
        if (state.Count > 0 && state.Count != owners.Count)
            throw new InvalidDataException($"{path}: the optimizer holds state for {state.Count} parameters, the model has {owners.Count}");
        for (int i = 0; i < owners.Count && state.Count > 0; i++)
        {
            var e = owners[i];
            if (!state.TryGetValue((long)i, out var po) || po is not PickleDict ps)
                throw new InvalidDataException($"{path}: optimizer state has no entry {i} ({e.Name})");
            var ea = Tensor(ps, "exp_avg", path, i, e);
            var eq = Tensor(ps, "exp_avg_sq", path, i, e);
            ea.CopyToFloat32(m.AsSpan(checked((int)e.Offset), checked((int)e.Numel)));
            eq.CopyToFloat32(v.AsSpan(checked((int)e.Offset), checked((int)e.Numel)));
            long st = ps.TryGetValue("step", out var so2) ? so2 switch
            {
                TorchTensor t => (long)t.Item(),
                long l => l,
                double d => (long)d,
                _ => throw new InvalidDataException($"{path}: optimizer state {i} has a 'step' of type {so2?.GetType().Name}"),
            } : throw new InvalidDataException($"{path}: optimizer state {i} has no 'step'");
            if (adamStep >= 0 && st != adamStep) throw new InvalidDataException($"{path}: optimizer parameters have different step counts ({adamStep} and {st})");
            adamStep = st;
        }
        var betas = groups.TryGetValue("betas", out var bo) && bo is object?[] { Length: 2 } bt ? (Num(bt[0]), Num(bt[1])) : (0.9, 0.999);
        double eps = groups.TryGetValue("eps", out var eo) ? Num(eo) : 1e-8, wd = groups.TryGetValue("weight_decay", out var wo) ? Num(wo) : 0.01;
        return new Contents(weights, m, v, Math.Max(0, adamStep), (int)Num(root["epoch"]), (long)Num(root["step"]),
            root.TryGetValue("world_size", out var ws) && ws is long w ? (int)w : 1, (float)betas.Item1, (float)betas.Item2, (float)eps, (float)wd,
            root.TryGetValue("scaler", out var sc) && sc is PickleDict scd ? scd : null);
    }

    // "wrong architecture" with the fields the file's shapes give (CheckpointShapes) against this run's, else the keys that did not fit.
    private static string WrongArchitecture(string path, StateDict model, LoadReport report, ModelConfig? config)
    {
        string fields = "";
        if (config is { } cfg)
        {
            try
            {
                var file = CheckpointShapes.Infer(cfg, model, new HashSet<string>());
                var diffs = ArchSignature.Differences(ArchSignature.Of(file), ArchSignature.Of(cfg));
                if (diffs.Count > 0) fields = ": " + string.Join("; ", diffs.Select(d => d.Replace(", requested ", ", this run ", StringComparison.Ordinal).Replace(": checkpoint ", ": file ", StringComparison.Ordinal)));
            }
            catch (Exception) { } // best effort: the shapes may not describe a whole model (LoRA adapters); the keys below still say what did not fit
        }
        return $"{path}: wrong architecture for this run{fields}. Its 'model' does not fit ({report.Missing.Count} parameters missing, " +
            $"{report.Unexpected.Count} left over, {report.Mismatched.Count} of other shapes: {report}). Resume with the architecture flags the file was trained with";
    }

    private static TorchTensor Tensor(PickleDict ps, string key, string path, int i, ParameterEntry e)
    {
        if (!ps.TryGetValue(key, out var o) || o is not TorchTensor t) throw new InvalidDataException($"{path}: optimizer state {i} ({e.Name}) has no tensor '{key}'");
        if (!t.Shape.AsSpan().SequenceEqual(e.Shape)) throw new InvalidDataException($"{path}: optimizer state {i} '{key}' has shape {t.ShapeText}, parameter {e.Name} is {e.ShapeText}");
        return t;
    }

    private static double Num(object? o) => o switch
    {
        long l => l, double d => d, int i => i, bool b => b ? 1 : 0, TorchTensor t => t.Item(),
        _ => throw new InvalidDataException($"expected a number, found {o?.GetType().Name ?? "None"}"),
    };
}
