using System.Diagnostics;
using Minimind.Checkpoint;
using Minimind.Model;

namespace Minimind.Cli.Commands;

/// <summary><c>minimind convert IN OUT [--dtype f32|f16|bf16] [--strip-prefix]</c>: rewrites a .pth in torch's zip format.</summary>
public sealed class ConvertCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "convert";

    /// <inheritdoc/>
    public string Summary => "Rewrite a .pth (zip, f16/bf16, no prefixes), or export it as safetensors, a HuggingFace folder or GGUF";

    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string?> DType = Opt.ChoiceOrNull("dtype",
        "store floating-point weights in this type (f16/bf16 round to nearest even, as torch's .half()/.bfloat16())", "f32", "f16", "bf16")
        .DefaultIs("keep each tensor's type").Sample("f16");
    /// <summary><c>--strip-prefix</c>.</summary>
    public static readonly CliOption<bool> StripPrefix = Opt.Flag("strip-prefix", "drop '_orig_mod.' (torch.compile) and 'module.' (DDP) key prefixes, in any combination");
    /// <summary><c>--merge-lora</c>.</summary>
    public static readonly CliOption<string?> MergeLora = Opt.String("merge-lora", "LORA.pth", null,
        "fold a LoRA file (train --stage lora, or MiniMind's save_lora) into IN as MiniMind's merge_lora: W + B·A on every adapted linear; OUT holds no .lora. keys").Sample("lora_medical_512.pth");

    /// <summary><c>--to</c>.</summary>
    public static readonly CliOption<string?> To = Opt.ChoiceOrNull("to", "target format", ConvertExport.Targets)
        .DefaultIs("from OUT's extension (.gguf, .safetensors), else pth").Sample("hf");
    /// <summary><c>--tokenizer</c>: the files copied into an HF folder / embedded in a GGUF.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("tokenizer.json beside IN, else the one IN records (hf: written into the folder; gguf: embedded)");

    /// <summary>Everything <c>minimind convert</c> accepts.</summary>
    public static readonly OptionTable Table = new("convert",
        new[]
        {
            "convert IN OUT [--dtype f32|f16|bf16] [--strip-prefix] [--merge-lora LORA.pth]",
            "convert IN OUT.safetensors [--dtype ...] [--strip-prefix] [architecture options]",
            "convert IN DIR --to hf [--tokenizer DIR|byte] [--dtype ...] [architecture options]",
            "convert IN OUT.gguf [--tokenizer DIR|byte] [--dtype f32|f16|bf16] [architecture options]",
        },
        """
        Reads IN (zip or legacy .pth) and writes OUT in the zip format of torch >= 1.6, loadable with
        torch.load(OUT, weights_only=True) (torch 1.13's weights_only refuses Python floats such as an
        optimizer's lr or a saved loss, in IN as in OUT; torch >= 2.0 accepts them). The write is atomic:
        OUT is replaced only when complete.
        Tied weights (shared storages) and views stay tied; non-float tensors are copied unchanged.
        For a resume file ({'model': ..., 'optimizer': ..., ...}) only the 'model' state dict is
        converted and renamed; everything else is copied as is.
        IN may also be a .safetensors file or a HuggingFace folder.
        --to hf writes what MiniMind's scripts/convert_model.py writes: minimind3 as Qwen3ForCausalLM (MoE:
        Qwen3MoeForCausalLM, transformers 5's fused experts), minimind-v1/minimind2/minimind2-hf dense as
        LlamaForCausalLM (q/k rows permuted to Llama's RoPE layout where needed); config.json,
        model.safetensors (tied head left out) and the tokenizer files; default dtype f16, as the script.
        OUT.gguf is for llama.cpp/ollama: minimind3 as qwen3, minimind3 MoE as qwen3moe, minimind-v1/
        minimind2/minimind2-hf dense as llama; tokenizer, special tokens and chat template in the metadata;
        default dtype f16 (norms stay f32); minimind-v1/minimind2/minimind2-hf MoE as bailingmoe.
        The tokenizer: --tokenizer (a folder, a tokenizer.json, or 'byte' for the built-in model), else the
        tokenizer.json beside IN, else the one IN records.
        Every output describes its model: IN's architecture record is carried into a .pth or .safetensors
        (and through --merge-lora); an HF folder's config.json and a GGUF file's metadata are written from it.
        For hf/gguf, and for a .pth/.safetensors when architecture options are given or a config.json
        describes IN (e.g. an HF folder converted back), the architecture is resolved as generate resolves it
        (record, config.json, shapes, options; what none of them gives is refused with the flags to add) and
        recorded in OUT. An IN without a record gives an OUT without one, and convert says so.
        """,
        new[] { new OptionGroup("Options", DType, StripPrefix, MergeLora, To, Tokenizer), ModelOptions.Architecture },
        new[]
        {
            "convert old_legacy.pth new.pth", "convert out/pretrain_512.pth out/pretrain_512_fp16.pth --dtype f16 --strip-prefix",
            "convert out/full_sft_512.pth out/lora_medical_merged_512.pth --merge-lora out/lora_medical_512.pth",
            "convert out/full_sft_768.pth minimind-3 --to hf --tokenizer model/",
            "convert out/full_sft_768.pth minimind-3.gguf --tokenizer model/ --dtype bf16",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind convert</c> command line asks for.</summary>
    public sealed record Settings(string Input, string Output, TorchDType? DType, bool Strip, string To = "pth", string? Tokenizer = null,
        Minimind.Model.ModelConfig? Config = null, string? MergeLora = null);

    /// <summary>
    /// Binds and validates a command line. For hf/gguf, for architecture options, and for an IN that a config.json
    /// describes, also opens IN (<paramref name="source"/>) and resolves its architecture (<see cref="Settings.Config"/>),
    /// which OUT then records; otherwise IN's own record (if any) is carried over as is.
    /// </summary>
    public static Settings Bind(ArgParser args, out CheckpointSource? source)
    {
        string input = args.Positional("IN");
        string output = args.Positional("OUT");
        var dtype = args.Get(DType) is { } d ? TorchDTypes.ParseShort(d) : (TorchDType?)null;
        bool strip = args.Get(StripPrefix);
        string to = args.Get(To) ?? ConvertExport.FromName(output);
        string? tok = args.Get(Tokenizer);
        Minimind.Model.ModelConfig? config = null;
        source = null;
        if (to is "hf" or "gguf" || ModelOptions.AnyGiven(args) || CheckpointSource.ConfigJsonFor(input) is not null)
        {
            source = ModelOptions.Open(input);
            config = ModelOptions.Resolve(args, source);
        }
        string? mergeLora = args.Get(MergeLora);
        if (mergeLora is not null && to != "pth") throw new UsageException("--merge-lora writes a .pth; merge first, then convert the merged file --to " + to);
        args.EnsureAllUsed();
        return new Settings(input, output, dtype, strip, to, tok, config, mergeLora);
    }

    /// <summary>Binds a command line (see <see cref="Bind(ArgParser, out CheckpointSource?)"/>).</summary>
    public static Settings Bind(ArgParser args) => Bind(args, out _);

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var settings = Bind(args, out var source);
        if (settings.To is "hf" or "gguf") return ConvertExport.Run(settings, source!);
        var (input, output, dtype, strip, mergeLora) = (settings.Input, settings.Output, settings.DType, settings.Strip, settings.MergeLora);
        // IN == OUT is safe: the new file is written beside it and renamed over it only when complete.
        var sw = Stopwatch.StartNew();
        var format = source?.Format ?? CheckpointFormats.Detect(input);
        if (format == CheckpointFormat.Gguf) throw new InvalidDataException(CheckpointFormats.GgufIsNotACheckpoint(input));
        var pth = source?.Pth ?? (format == CheckpointFormat.Pth ? PthReader.Read(input) : null);
        object root;
        Dictionary<string, byte[]> extras;
        if (pth is not null)
        {
            root = pth.Root ?? throw new InvalidDataException($"{input}: the checkpoint holds None");
            extras = new(pth.Extras, StringComparer.Ordinal);
        }
        else
        {
            var sd = source is null ? StateDict.Read(input, format) : FileKeys(source.Weights);
            root = sd.ToRoot();
            extras = new(sd.Extras, StringComparer.Ordinal);
        }
        long inBytes = Directory.Exists(input) ? 0 : new FileInfo(input).Length;
        string? recordedTokenizer = extras.TryGetValue(ArchitectureRecord.RecordName, out var inRecord) ? ArchitectureRecord.Decode(inRecord, input).Tokenizer : null;
        if (mergeLora is not null)
        {
            var lora = StateDict.Read(mergeLora);
            var merged = Minimind.Model.Lora.LoraMerge.Merge(StateDict.FromRoot(root, input), lora, out int n);
            Console.Out.WriteLine($"merged {n} LoRA adapters of {mergeLora} into {input}");
            root = merged.ToRoot();
            // The adapters' file records the model they were trained on: the base's own record wins, the LoRA's fills in.
            if (inRecord is null && lora.Extras.TryGetValue(ArchitectureRecord.RecordName, out var loraRecord))
            {
                extras[ArchitectureRecord.RecordName] = loraRecord;
                recordedTokenizer = ArchitectureRecord.Decode(loraRecord, mergeLora).Tokenizer;
            }
        }
        if (settings.Config is { } config)
            extras[ArchitectureRecord.RecordName] = ArchitectureRecord.Encode(config, settings.Tokenizer ?? recordedTokenizer ?? ConvertExport.TokenizerBeside(input));
        var converted = Convert(root, dtype, strip, input, out int tensors);
        bool described = extras.ContainsKey(ArchitectureRecord.RecordName);
        if (settings.To == "safetensors")
        {
            var records = extras.Where(kv => kv.Key.EndsWith(SafetensorsWriter.RecordSuffix, StringComparison.Ordinal)).ToList();
            foreach (var other in extras.Keys.Except(records.Select(r => r.Key)))
                Console.Error.WriteLine($"note: {input}'s extra record '{other}' is not text and has no place in a safetensors file; it is not copied");
            SafetensorsWriter.Write(output, StateDict.FromRoot(converted, input), SafetensorsWriter.Metadata(records));
        }
        else PthWriter.Write(output, converted, extras);
        long outBytes = new FileInfo(output).Length;
        string inFormat = pth is null ? format.Describe() : pth.Format == PthFormat.Zip ? "zip" : "legacy";
        string outFormat = settings.To == "safetensors" ? "safetensors" : "zip";
        Console.Out.WriteLine($"converted {input} ({inFormat}, {tensors} state-dict tensors) -> {output} ({outFormat}{(dtype is { } d ? ", " + d.ShortName() : "")}{(strip ? ", prefixes stripped" : "")}{(described ? ", architecture recorded" : "")}): {inBytes:N0} -> {outBytes:N0} bytes in {sw.Elapsed.TotalSeconds:F2} s");
        if (!described && CheckpointShapes.Generations(StateDict.FromRoot(converted, input).WithNormalizedKeys()).Count > 0)
            Console.Error.WriteLine($"note: {input} does not record its architecture, so {output} does not either: loading it will need the architecture options " +
                "(give them to this command, e.g. --arch minimind2 --n-heads 8, to write the record)");
        return 0;
    }

    // The state dict under the keys the file spells (a source's keys are normalised): convert strips prefixes only when asked.
    private static StateDict FileKeys(StateDict normalized)
    {
        var sd = new StateDict { SourcePath = normalized.SourcePath, Extras = normalized.Extras };
        foreach (var k in normalized.Keys) sd.Add(normalized.FileKey(k), normalized[k]);
        return sd;
    }

    /// <summary>The converted object tree (the state dict itself, or a resume dict whose 'model' is converted).</summary>
    public static object Convert(object root, TorchDType? dtype, bool strip, string source, out int tensors)
    {
        var cache = new Dictionary<TorchStorage, TorchStorage>(ReferenceEqualityComparer.Instance);
        if (IsStateDict(root)) return ConvertStateDict((PickleDict)root, dtype, strip, cache, source, out tensors);
        if (root is PickleDict d && d.TryGetValue("model", out var m) && m is PickleDict md && IsStateDict(md))
        {
            var copy = new PickleDict { IsOrderedDict = d.IsOrderedDict };
            foreach (var kv in d) copy[kv.Key] = kv.Value;
            copy["model"] = ConvertStateDict(md, dtype, strip, cache, source, out tensors);
            return copy;
        }
        if (dtype is not null || strip)
            throw new InvalidDataException($"{source}: no state dict found to convert (the root is neither a dict of tensors nor a resume dict with a 'model' entry); drop --dtype/--strip-prefix to copy it as is");
        tensors = 0;
        return root;
    }

    private static bool IsStateDict(object o) => o is PickleDict d && d.Count > 0 && d.All(kv => kv.Key is string && kv.Value is TorchTensor);

    private static PickleDict ConvertStateDict(PickleDict sd, TorchDType? dtype, bool strip, Dictionary<TorchStorage, TorchStorage> cache, string source, out int tensors)
    {
        var r = new PickleDict { IsOrderedDict = true };
        tensors = 0;
        foreach (var kv in sd)
        {
            var key = (string)kv.Key;
            var t = (TorchTensor)kv.Value!;
            if (strip) key = StateDictLoader.NormalizeKey(key);
            if (r.ContainsKey(key)) throw new InvalidDataException($"{source}: keys '{kv.Key}' and another both become '{key}' after --strip-prefix");
            r[key] = dtype is { } dt && t.DType.IsFloatingPoint() && t.DType != dt ? Cast(t, dt, cache) : t;
            tensors++;
        }
        return r;
    }

    // Converts a whole storage once and rebuilds the same view on it, so ties and views survive the cast.
    private static TorchTensor Cast(TorchTensor t, TorchDType dt, Dictionary<TorchStorage, TorchStorage> cache)
    {
        if (!cache.TryGetValue(t.Storage, out var st))
        {
            long n = t.Storage.ByteLength / t.DType.ElementSize();
            var whole = new TorchTensor(t.Storage, t.DType, 0, new[] { checked((int)n) }, new long[] { 1 });
            st = TorchTensor.FromFloat32(whole.ToFloat32(), whole.Shape, dt).Storage;
            cache[t.Storage] = st;
        }
        return new TorchTensor(st, dt, t.StorageOffset, (int[])t.Shape.Clone(), (long[])t.Stride.Clone(), t.RequiresGrad);
    }
}
