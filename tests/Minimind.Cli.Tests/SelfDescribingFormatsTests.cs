using System.Globalization;
using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Model.Tokenizer;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Issue 19, "every file describes its model": a model converted to every format (.pth f32, safetensors, a HuggingFace
/// folder, a merged LoRA) and back generates the source's greedy ids with no flags at all; a file that does not say
/// what it is is refused with the flags to add. The reference is the source .pth, whose record is in turn checked
/// against the architecture spelled out by hand. Sources: the built-in run (trained by the binary) and tiny
/// sensitive models of minimind-v1, minimind2, minimind3 dense and MoE, minimind2 MoE, each recording the byte tokenizer.
/// </summary>
public sealed class SelfDescribingFormatsTests
{
    private const string Prompt = "The moon 你好, said";

    public static TheoryData<string> Sources() => new() { "builtin", "minimind-v1", "minimind2", "minimind3", "minimind3-moe", "minimind2-moe" };

    // The built-in run as the README's first command trains it (about half a minute; pretrain_64.pth, byte tokenizer,
    // minimind-v1 layout), once for all tests of this class and GrpoDemoTests; a shorter run only predicts spaces.
    internal static readonly Lazy<string> Builtin = new(() =>
    {
        var dir = ModelTestPaths.TempDir();
        var (code, so, se) = CliProcess.Exec(null, "train", "--device", "cpu", "--out-dir", dir);
        Assert.True(code == 0, so + se);
        return Path.Combine(dir, "pretrain_64.pth");
    });

    // The architecture of each source, and the same spelled out as flags (the hand-given truth a record must equal).
    private static (ModelConfig Config, string[] Flags) Architecture(string name)
    {
        var c = name == "builtin"
            ? ModelConfig.Preset("minimind-v1") with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 128 }
            : ModelConfig.Preset(name.Replace("-moe", "")) with
            {
                Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 128, HiddenDim = 128, UseMoe = name.EndsWith("-moe"),
            };
        // minimind3's shapes give everything but θ and eps: far-from-default ones show a file that lost its record
        if (c.Generation == ModelGeneration.MiniMind3) c = c with { RopeTheta = 50f, NormEps = 1e-5f };
        var flags = new List<string>
        {
            "--arch", c.Arch, "--dim", "64", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--vocab-size", "259",
            "--hidden-dim", c.EffectiveHiddenDim.ToString(CultureInfo.InvariantCulture), "--max-seq-len", "128",
            "--rope-theta", c.RopeTheta.ToString("R", CultureInfo.InvariantCulture), "--norm-eps", c.NormEps.ToString("R", CultureInfo.InvariantCulture),
            "--tokenizer", "byte",
        };
        if (c.UseMoe) flags.Add("--use-moe");
        return (c, flags.ToArray());
    }

    private static string Source(string dir, string name) =>
        name == "builtin" ? Builtin.Value : TinyModels.Write(Path.Combine(dir, name + ".pth"), Architecture(name).Config, "byte");

    private static (int Code, string Stdout, string Stderr) Cli(params string[] args) => CliProcess.Exec(null, args);

    private static void Ok(params string[] args)
    {
        var (code, so, se) = Cli(args);
        Assert.True(code == 0, $"minimind {string.Join(' ', args)} exited {code}:\n{so}{se}");
    }

    // generate's greedy ids (the last line of stdout) for the text prompt: the tokenizer must come from the file too.
    private static string Ids(string weights, params string[] flags)
    {
        var args = new[] { "generate", "--weights", weights, "--prompt", Prompt, "--greedy", "--max-new-tokens", "12", "--eos-id", "-1", "--print-ids" };
        var (code, so, se) = Cli(args.Concat(flags).ToArray());
        Assert.True(code == 0, $"generate --weights {weights} {string.Join(' ', flags)} exited {code}:\n{so}{se}");
        return so.Trim().Split('\n')[^1].Trim();
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void EveryFormatAndBack_GeneratesTheSourcesIds_WithNoFlags(string name)
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var (config, flags) = Architecture(name);
            var src = Source(dir, name);
            var expected = Ids(src);
            Assert.Equal(12, expected.Split(' ').Length);
            Assert.Equal(expected, Ids(src, flags)); // the record says what the hand-written flags say
            string P(string f) => Path.Combine(dir, f);

            var outputs = new List<(string What, string Path)>();
            Ok("convert", src, P("f32.pth"), "--dtype", "f32");
            outputs.Add((".pth --dtype f32", P("f32.pth")));
            Ok("convert", src, P("w.safetensors"));
            outputs.Add((".safetensors", P("w.safetensors")));
            Ok("convert", P("w.safetensors"), P("from_safetensors.pth"));
            outputs.Add((".safetensors -> .pth", P("from_safetensors.pth")));
            if (!(config.UseMoe && config.Generation != ModelGeneration.MiniMind3)) // MiniMind's convert_model.py has no class for those
            {
                Ok("convert", src, P("hf"), "--to", "hf", "--dtype", "f32");
                outputs.Add(("HF folder", P("hf")));
                Ok("convert", P("hf"), P("from_hf.pth"));
                outputs.Add(("HF folder -> .pth", P("from_hf.pth")));
                Ok("convert", P("hf"), P("from_hf.safetensors"));
                outputs.Add(("HF folder -> .safetensors", P("from_hf.safetensors")));
            }
            foreach (var (what, path) in outputs)
                Assert.True(expected == Ids(path), $"{name} as {what} generates other ids than the source: {Ids(path)} vs {expected}");

            // merged LoRA: a different model, so its reference is the merged file with the architecture spelled out
            Ok("convert", src, P("merged.pth"), "--merge-lora", TinyModels.WriteLora(P("lora.pth"), config));
            Assert.Equal(Ids(P("merged.pth"), flags), Ids(P("merged.pth")));
            Assert.NotEqual(expected, Ids(P("merged.pth"))); // the adapters did change the model
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AMergedLoRA_OfABaseWithoutARecord_TakesTheLoRAsRecord()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var (config, flags) = Architecture("minimind2");
            var bare = TinyModels.Write(Path.Combine(dir, "base.pth"), config); // no record
            var lora = new StateDict();
            foreach (var (k, t) in StateDict.Read(TinyModels.WriteLora(Path.Combine(dir, "l.pth"), config))) lora.Add(k, t);
            ArchitectureRecord.Attach(lora, config, "byte"); // as the trainer saves a LoRA: the base model's record
            PthWriter.WriteStateDict(Path.Combine(dir, "lora.pth"), lora);
            var merged = Path.Combine(dir, "merged.pth");
            Ok("convert", bare, merged, "--merge-lora", Path.Combine(dir, "lora.pth"));
            Assert.Equal(Ids(merged, flags), Ids(merged));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AFileThatDoesNotSayWhatItIs_IsRefusedWithTheFlagsToAdd_AndLoadsWithThem()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            // 2024/minimind2 keys: neither the generation nor the query heads can be read off the file
            var (c2, flags2) = Architecture("minimind2");
            var legacy = TinyModels.Write(Path.Combine(dir, "legacy.pth"), c2);
            var (code, _, err) = Cli("generate", "--weights", legacy, "--prompt-ids", "257,84", "--greedy");
            Assert.Equal(2, code);
            Assert.Contains("does not say which model it is", err);
            Assert.Contains("Add --arch minimind-v1|minimind2 --n-heads N", err);
            Assert.Contains("'layers.0.attention.wk.weight' holds 32 rows", err);
            // the flags the message asks for are enough
            string[] named = { "--arch", "minimind2", "--n-heads", "4", "--hidden-dim", "128", "--tokenizer", "byte" };
            Assert.Equal(Ids(TinyModels.Write(Path.Combine(dir, "described.pth"), c2, "byte")), Ids(legacy, named));
            Assert.Equal(Ids(legacy, flags2), Ids(legacy, named));
            // the same through train --from-weight and convert --to gguf
            (code, _, err) = Cli("train", "--from-weight", legacy, "--max-steps", "1", "--out-dir", Path.Combine(dir, "run"));
            Assert.Equal(2, code);
            Assert.Contains("--arch minimind-v1|minimind2 --n-heads N", err);
            (code, _, err) = Cli("convert", legacy, Path.Combine(dir, "x.gguf"), "--tokenizer", "byte");
            Assert.Equal(2, code);
            Assert.Contains("--n-heads N", err);
            Assert.False(File.Exists(Path.Combine(dir, "x.gguf")));
            // a plain rewrite keeps the tensors and says the output will not describe itself either; with the flags it does
            (code, _, err) = Cli("convert", legacy, Path.Combine(dir, "copy.pth"));
            Assert.Equal(0, code);
            Assert.Contains("does not record its architecture", err);
            Ok(new[] { "convert", legacy, Path.Combine(dir, "recorded.pth") }.Concat(named).ToArray());
            Assert.Equal(Ids(legacy, named), Ids(Path.Combine(dir, "recorded.pth")));

            // minimind2-hf keys: the generation is known, the heads are not
            var hf = TinyModels.Write(Path.Combine(dir, "hf.pth"), ModelConfig.Preset("minimind2-hf") with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 128, HiddenDim = 128 });
            (code, _, err) = Cli("generate", "--weights", hf, "--prompt-ids", "257,84", "--greedy");
            Assert.Equal(2, code);
            Assert.Contains("Add --n-heads N (minimind2-hf's default: --n-heads 8)", err);
            Assert.DoesNotContain("--arch", err.Split("Add ")[1].Split('(')[0]);

            // minimind3 keys: q_norm gives the heads, the keys the generation: it loads as MiniMind's own code would
            var (c3, _) = Architecture("minimind3");
            var v3 = TinyModels.Write(Path.Combine(dir, "v3.pth"), c3 with { RopeTheta = 1e6f, NormEps = 1e-6f });
            Assert.Equal(Ids(TinyModels.Write(Path.Combine(dir, "v3r.pth"), c3 with { RopeTheta = 1e6f, NormEps = 1e-6f }, "byte")), Ids(v3, "--tokenizer", "byte"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ArchOnAFileWithARecord_SaysTheRecordIsSetAside_NotThatItIsMissing()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var (c2, _) = Architecture("minimind2");
            var described = TinyModels.Write(Path.Combine(dir, "described.pth"), c2, "byte");
            // --arch of the file's own family: the record is set aside, the heads stay open
            var (code, _, err) = Cli("convert", described, Path.Combine(dir, "o.safetensors"), "--arch", "minimind2");
            Assert.Equal(2, code);
            Assert.Contains($"{described} carries an architecture record (minimind2: --arch minimind2 --dim 64 --n-layers 2 --n-heads 4 --n-kv-heads 2 --vocab-size 259", err);
            Assert.Contains("which --arch sets aside", err);
            Assert.Contains("Drop --arch to load the file as recorded", err);
            Assert.DoesNotContain("no architecture record", err);
            // --arch of another family's keys is refused too, never recorded over keys that are not its own
            (code, _, err) = Cli("convert", described, Path.Combine(dir, "o.safetensors"), "--arch", "minimind3");
            Assert.Equal(2, code);
            Assert.Contains("--arch minimind3 does not fit", err);
            Assert.Contains("are minimind-v1 or minimind2's", err);
            Assert.False(File.Exists(Path.Combine(dir, "o.safetensors")));
            // dropping --arch loads it as recorded
            Assert.Equal(0, Cli("convert", described, Path.Combine(dir, "o.safetensors")).Code);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AGgufFile_IsNamedAsGguf_WhereAWeightFileIsExpected()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var gguf = Path.Combine(dir, "m.gguf");
            Ok("convert", Source(dir, "minimind2"), gguf);
            foreach (var args in new[]
            {
                new[] { "generate", "--weights", gguf, "--prompt-ids", "1" },
                new[] { "chat", "--weights", gguf },
                new[] { "convert", gguf, Path.Combine(dir, "x.pth") },
                new[] { "train", "--from-weight", gguf, "--max-steps", "1", "--out-dir", Path.Combine(dir, "run") },
            })
            {
                var (code, _, err) = Cli(args);
                Assert.Equal(1, code);
                Assert.Contains($"{gguf} is a GGUF file (llama.cpp's format)", err);
                Assert.Contains("run it with llama.cpp", err);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void InspectAndGenerate_SayTheSameAboutABrokenSafetensorsHeader()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var good = Path.Combine(dir, "good.safetensors");
            Ok("convert", Source(dir, "minimind2"), good);
            var bytes = File.ReadAllBytes(good);
            var broken = new Dictionary<string, byte[]>
            {
                ["json"] = bytes[..8].Concat("{\"x\":"u8.ToArray()).Concat(bytes[13..]).ToArray(),
                ["length"] = BitConverter.GetBytes(10_000_000L).Concat(bytes[8..]).ToArray(),
                ["tiling"] = bytes[..^100],
            };
            foreach (var (what, content) in broken)
            {
                var path = Path.Combine(dir, what + ".safetensors");
                File.WriteAllBytes(path, content);
                var (c1, _, inspect) = Cli("inspect", path);
                var (c2, _, generate) = Cli("generate", "--weights", path, "--prompt-ids", "1");
                Assert.Equal((1, 1), (c1, c2));
                string Message(string err, string cmd) => err.Trim().Replace($"minimind {cmd}: error: ", "");
                Assert.Equal(Message(inspect, "inspect"), Message(generate, "generate"));
                Assert.Contains("safetensors", Message(inspect, "inspect"));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    // ---- the built-in byte-tokenizer model as GGUF and as a HuggingFace folder (issue 19 item 6) -------------------

    private static (int, string, string) Node(string area, params string[] args) => TestEnvironment.RunNode(area, args);

    private static readonly string[] Texts = { Prompt, "<|im_start|>user\nhi<|im_end|>\n", "é\u00a0\t\n  x", "" + (char)0x7f + "👍" };

    [SkippableFact]
    public void TheBuiltinModelsHfTokenizer_IsTheByteTokenizer_InHfTokenizers_AndHere_AndChatOnTheFolderEqualsThePth()
    {
        TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("tokenizer", "tokenizers"),
            "npm tokenizers is not installed (cd tools/tokenizer && npm install; .ci/run does this): the HF tokenizers check is skipped");
        var dir = ModelTestPaths.TempDir();
        try
        {
            var hf = Path.Combine(dir, "hf");
            Ok("convert", Builtin.Value, hf, "--to", "hf", "--dtype", "f32"); // the tokenizer comes from the .pth's record
            var json = Path.Combine(hf, "tokenizer.json");
            var (code, so, se) = Node("tokenizer", "encode.js", json, Texts[0], Texts[1], Texts[2], Texts[3]);
            Assert.True(code == 0, so + se);
            var r = JsonDocument.Parse(so.Trim().Split('\n')[^1]).RootElement;
            var chat = new ByteTokenizer(chatMarkers: true);
            var ours = BpeTokenizer.FromFile(json);
            Assert.Equal(259, r.GetProperty("vocab_size").GetInt32());
            int i = 0;
            foreach (var ids in r.GetProperty("ids").EnumerateArray())
            {
                var hfIds = ids.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                Assert.Equal(chat.Encode(Texts[i]), hfIds);
                Assert.Equal(chat.Encode(Texts[i]), ours.Encode(Texts[i]));
                i++;
            }
            Assert.Equal((257, 258, 256), (ours.BosId, ours.EosId, ours.PadId));
            Assert.Equal(Texts[1], r.GetProperty("decoded")[1].GetString());

            // generate and chat on the folder (config.json, tokenizer.json, template in tokenizer_config.json) equal the .pth
            Assert.Equal(Ids(Builtin.Value), Ids(hf));
            var turns = "hi\nwhat is 2 + 3?\n";
            var a = CliProcess.Exec(turns, "chat", "--weights", Builtin.Value, "--greedy", "--max-new-tokens", "16");
            var b = CliProcess.Exec(turns, "chat", "--weights", hf, "--greedy", "--max-new-tokens", "16");
            Assert.True(a.code == 0 && b.code == 0, a.stderr + b.stderr);
            Assert.Equal(a.stdout, b.stdout);
            Assert.Equal(2, a.stdout.Trim('\n').Split('\n').Length);
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void TheBuiltinModelAsGguf_LlamaCppTokenizesAndGeneratesAsWeDo()
    {
        TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("gguf", "node-llama-cpp"),
            "npm node-llama-cpp is not installed (cd tools/gguf && npm ci; .ci/run does this): the llama.cpp check is skipped");
        var dir = ModelTestPaths.TempDir();
        try
        {
            var gguf = Path.Combine(dir, "builtin.gguf");
            Ok("convert", Builtin.Value, gguf, "--dtype", "f32"); // no --tokenizer: 'byte' is in the record
            var (code, so, se) = Node("gguf", "greedy.mjs", gguf, Prompt, "12");
            Assert.True(code == 0, so + se);
            var r = JsonDocument.Parse(so.Trim().Split('\n')[^1]).RootElement;
            var tok = new ByteTokenizer();
            Assert.Equal(new[] { tok.BosId }.Concat(tok.Encode(Prompt)), r.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(Ids(Builtin.Value), string.Join(' ', r.GetProperty("generated").EnumerateArray().Select(e => e.GetInt32())));
            // --tokenizer byte, as --help lists it, names the same tokenizer
            Ok("convert", Builtin.Value, Path.Combine(dir, "b2.gguf"), "--dtype", "f32", "--tokenizer", "byte");
            Assert.Equal(File.ReadAllBytes(gguf).Length, File.ReadAllBytes(Path.Combine(dir, "b2.gguf")).Length);
        }
        finally { Directory.Delete(dir, true); }
    }
}
