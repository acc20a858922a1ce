using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Commands;

/// <summary><c>minimind generate</c>: continues a prompt with a MiniMind checkpoint (KV cache, sampling, streaming text).</summary>
public sealed class GenerateCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "generate";

    /// <inheritdoc/>
    public string Summary => "Continue a prompt with a MiniMind checkpoint (KV cache, greedy or sampled, streaming)";

    /// <inheritdoc/>
    public string Help => """
        Usage: minimind generate --weights FILE.pth (--prompt TEXT | --prompt-ids 1,2,3) [options]

        Loads a MiniMind checkpoint of any generation, encodes the prompt (bos + text, as MiniMind's
        pretrain eval does), and generates with a KV cache: the prompt is prefilled once, then one token
        per step. Text streams to stdout as it is produced; timing goes to stderr. Stops at the eos id,
        after --max-new-tokens, or at the context length.

        Options:
          --weights FILE         checkpoint (.pth; a config.json beside it is read)
          --tokenizer SPEC       tokenizer.json, a folder holding one, or 'byte'
                                 (default: tokenizer.json beside the weights, else the one recorded in a
                                 file this project wrote; not needed with --prompt-ids)
          --prompt TEXT          prompt text
          --prompt-ids IDS       prompt as comma-separated token ids (used as is, no bos added)
          --no-bos               do not put the bos token before --prompt text
          --max-new-tokens N     tokens to generate (default 128)
          --temperature X        default 0.85      --top-k N   default 50 (0 = off)
          --top-p X              default 0.85 (1 = off)
          --repetition-penalty X default 1.0 (positive logits of seen ids divided, negative multiplied)
          --seed N               sampling seed (default 42)
          --greedy               always take the most likely token
          --eos-id N             stop id (default: the tokenizer's eos, else 2; -1 = never stop)
          --print-ids            print the generated ids space-separated as the last line of stdout
          --device D             auto | cuda | cpu | ilgpu-cpu (default cpu)

        """ + "\n" + ModelOptions.HelpText + "\n" + """

        (--top-k here is the sampling top-k; a MoE model's experts per token come from config.json/the preset.)

        Examples:
          minimind generate --weights out/pretrain_512.pth --tokenizer model/ --prompt "你好" --greedy
          minimind generate --weights out/full_sft_512.pth --arch minimind2 --prompt-ids 1,314,42 --print-ids
        """;

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        string weights = args.String("weights") ?? throw new UsageException("--weights is required");
        string? prompt = args.String("prompt");
        string? promptIds = args.String("prompt-ids");
        string? tokSpec = args.String("tokenizer");
        bool noBos = args.Flag("no-bos");
        int maxNew = args.Int("max-new-tokens", 128);
        var sampling = new SamplingOptions
        {
            Temperature = (float)args.Double("temperature", 0.85),
            TopK = args.Int("top-k", 50),
            TopP = (float)args.Double("top-p", 0.85),
            RepetitionPenalty = (float)args.Double("repetition-penalty", 1.0),
            Seed = args.Int("seed", 42),
            Greedy = args.Flag("greedy"),
        };
        int? eosOpt = args.IntOrNull("eos-id");
        bool printIds = args.Flag("print-ids");
        string device = args.Choice("device", "cpu", BackendFactory.Devices);
        var config = ModelOptions.Parse(args, weights, out var sd, moeTopK: false);
        args.EnsureAllUsed();
        if ((prompt is null) == (promptIds is null)) throw new UsageException("give exactly one of --prompt and --prompt-ids");
        if (maxNew <= 0) throw new UsageException("--max-new-tokens must be positive");
        try { sampling.Validate(); } catch (ArgumentException e) { throw new UsageException(e.Message); }

        if (tokSpec is null)
        {
            var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weights))!, "tokenizer.json");
            tokSpec = File.Exists(beside) ? beside : ModelOptions.RecordedTokenizer(sd);
        }
        ITokenizer? tok = tokSpec is null ? null : TokenizerLoader.Load(tokSpec);
        int[] ids;
        if (promptIds is not null)
        {
            try { ids = promptIds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
            catch (FormatException) { throw new UsageException($"--prompt-ids '{promptIds}' is not a comma-separated list of integers"); }
        }
        else
        {
            if (tok is null) throw new UsageException("--prompt needs a tokenizer: pass --tokenizer (no tokenizer.json beside the weights)");
            var body = tok.Encode(prompt!);
            ids = noBos ? body : new[] { tok.BosId }.Concat(body).ToArray();
        }
        if (ids.Length == 0) throw new UsageException("the prompt is empty");
        int eos = eosOpt ?? tok?.EosId ?? 2;
        int context = Math.Min(config.MaxSeqLen, ids.Length + maxNew);

        using var backend = BackendFactory.Create(device);
        Console.Error.WriteLine(BackendFactory.Describe(backend));
        Console.Error.WriteLine($"model: {ModelOptions.Describe(config)}");
        using var model = MiniMindModel.Create(config, backend, 1, context);
        model.LoadStateDict(sd!);

        var decoder = tok is null ? null : new StreamingDecoder(tok);
        var outIds = new List<int>();
        var sw = Stopwatch.StartNew();
        double firstTokenMs = 0;
        foreach (var id in TextGenerator.Generate(model, ids, maxNew, new Sampler(sampling), eos))
        {
            if (outIds.Count == 0) firstTokenMs = sw.Elapsed.TotalMilliseconds;
            outIds.Add(id);
            if (decoder is not null) { Console.Out.Write(decoder.Add(id)); Console.Out.Flush(); }
        }
        if (decoder is not null) Console.Out.WriteLine(decoder.Flush());
        double total = sw.Elapsed.TotalSeconds;
        double decodeRate = outIds.Count > 1 ? (outIds.Count - 1) / Math.Max(1e-9, total - firstTokenMs / 1000) : 0;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{outIds.Count} tokens in {total:F2} s (prefill of {ids.Length} tokens + first token {firstTokenMs:F0} ms, then {decodeRate:F1} tokens/s)"));
        if (printIds || decoder is null) Console.Out.WriteLine(string.Join(' ', outIds));
        return 0;
    }
}
