namespace Minimind.Checkpoint;

/// <summary>
/// Moves weights between a <see cref="StateDict"/> and a model's flat float32 buffer laid out by a
/// <see cref="ParameterTable"/> — <c>model.load_state_dict</c> and <c>model.state_dict()</c>.
/// </summary>
public static class StateDictLoader
{
    private static readonly string[] Prefixes = { "_orig_mod.", "module." };

    /// <summary>Strips any sequence of <c>_orig_mod.</c> (torch.compile) and <c>module.</c> (DDP) prefixes.</summary>
    public static string NormalizeKey(string key)
    {
        bool again = true;
        while (again)
        {
            again = false;
            foreach (var p in Prefixes)
                if (key.StartsWith(p, StringComparison.Ordinal) && key.Length > p.Length) { key = key[p.Length..]; again = true; }
        }
        return key;
    }

    /// <summary>
    /// Copies every checkpoint tensor whose (normalised) key and shape match a table entry into
    /// <paramref name="dest"/>, converting any dtype to float32. Tied keys write the same storage.
    /// With <paramref name="strict"/>, any missing, unexpected or shape-mismatched key throws
    /// <see cref="StateDictLoadException"/> before anything is written; otherwise such keys are
    /// skipped and listed in the report (PyTorch raises on size mismatches even when not strict).
    /// </summary>
    public static LoadReport Load(StateDict sd, ParameterTable table, Span<float> dest, bool strict)
    {
        if (dest.Length < table.TotalElements)
            throw new ArgumentException($"destination holds {dest.Length} floats but the parameter table needs {table.TotalElements}", nameof(dest));
        var normalized = sd.WithNormalizedKeys();
        var loaded = new List<string>();
        var missing = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var plan = new List<(ParameterEntry e, TorchTensor t)>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in table.Entries)
        {
            if (!normalized.TryGetValue(e.Name, out var t)) { missing.Add(e.Name); continue; }
            used.Add(e.Name);
            if (!t.Shape.AsSpan().SequenceEqual(e.Shape)) { mismatched.Add(new ShapeMismatch(e.Name, t.Shape, e.Shape)); continue; }
            plan.Add((e, t));
        }
        var unexpected = normalized.Keys.Where(k => !used.Contains(k)).Select(normalized.FileKey).ToList();
        var report = new LoadReport { Loaded = loaded, Missing = missing, Unexpected = unexpected, Mismatched = mismatched, Renamed = normalized.Renamed };
        if (strict && !report.IsComplete) throw new StateDictLoadException(report.ErrorText(sd.SourcePath), report);
        // Tied keys name one offset. Copied one after another, the last tensor for an offset is what stays there,
        // so only that one is read (a tied pair that shares its storage is read once).
        var last = new Dictionary<long, (ParameterEntry e, TorchTensor t)>();
        foreach (var (e, t) in plan) { last[e.Offset] = (e, t); loaded.Add(e.Name); }
        var copies = last.Values;
        Copy(copies, dest);
        return report;
    }

    /// <summary>Elements per piece of the parallel copy: 4 MiB of float32, small enough to balance two to four threads.</summary>
    internal const int PieceElements = 1 << 20;

    // One copy out of the page cache nearly fills memory bandwidth with one core; more threads add 10-25 % to float32
    // reads here, and float16/bfloat16 conversion is compute that scales with cores: contiguous tensors are cut
    // into pieces and copied in parallel.
    // Strided views (rare in state dicts) are copied one at a time, so at most one extra copy of a tensor
    // is held. Every offset appears once in copies, so the pieces never overlap.
    private static void Copy(IEnumerable<(ParameterEntry e, TorchTensor t)> copies, Span<float> dest)
    {
        var pieces = new List<(TorchTensor t, long first, long destOffset, int count)>();
        var serial = new List<(ParameterEntry e, TorchTensor t)>();
        foreach (var (e, t) in copies)
        {
            if (!t.IsContiguous) { serial.Add((e, t)); continue; }
            for (long first = 0; first < e.Numel; first += PieceElements)
                pieces.Add((t, first, e.Offset + first, (int)Math.Min(PieceElements, e.Numel - first)));
        }
        int threads = Math.Clamp(Environment.ProcessorCount, 1, 4);
        if (threads == 1 || pieces.Count < 2)
            foreach (var (t, first, at, n) in pieces) t.CopyRangeToFloat32(first, dest.Slice(checked((int)at), n));
        else
        {
            unsafe
            {
                fixed (float* p = dest)
                {
                    nint basePtr = (nint)p;
                    try
                    {
                        Parallel.For(0, pieces.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
                        {
                            var (t, first, at, n) = pieces[i];
                            t.CopyRangeToFloat32(first, new Span<float>((float*)basePtr + at, n));
                        });
                    }
                    catch (AggregateException ae) when (ae.InnerExceptions.Count > 0)
                    {
                        // Callers catch the reader's own exceptions (PthFormatException, IOException), not the wrapper.
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
                    }
                }
            }
        }
        foreach (var (e, t) in serial) t.CopyToFloat32(dest.Slice(checked((int)e.Offset), checked((int)e.Numel)));
    }

    /// <summary>
    /// Builds a state dict (table order, tied keys included) from the flat buffer, stored as
    /// <paramref name="dtype"/> (f32, f16, bf16 or f64). A tied key gets its own tensor object over
    /// its owner's storage, so <c>torch.load</c> sees the two tied, as after <c>torch.save(model.state_dict())</c>.
    /// </summary>
    public static StateDict Export(ParameterTable table, ReadOnlySpan<float> src, TorchDType dtype)
    {
        if (src.Length < table.TotalElements)
            throw new ArgumentException($"source holds {src.Length} floats but the parameter table needs {table.TotalElements}", nameof(src));
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"cannot export weights as {dtype.TorchName()}", nameof(dtype));
        var sd = new StateDict();
        var owners = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        foreach (var e in table.Entries)
        {
            TorchTensor t;
            if (e.TiedTo is { } owner && owners.TryGetValue(owner, out var o)) t = o.Alias();
            else
            {
                t = TorchTensor.FromFloat32(src.Slice(checked((int)e.Offset), checked((int)e.Numel)).ToArray(), e.Shape, dtype);
                owners[e.Name] = t;
            }
            sd.Add(e.Name, t);
        }
        return sd;
    }
}
