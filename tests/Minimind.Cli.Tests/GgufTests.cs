using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;
using Minimind.Model.Tokenizer;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// `minimind convert W.pth model.gguf` checked in real llama.cpp: tools/gguf/greedy.mjs loads the file with npm
/// node-llama-cpp's prebuilt CPU build and its greedy continuation of a fixed prompt must equal
/// `minimind generate --greedy` token for token (and its tokenization of the prompt ours).
/// </summary>
public sealed class GgufTests
{
    private const string Prompt = "The moon 你好, said the river.";
    private const int NewTokens = 16;
    private static string ToolDir => Path.Combine(ModelTestPaths.RepoRoot, "tools", "gguf");

    // tiny models of each generation; the embedding is scaled up so the logits have a spread that float error cannot reorder
    public static TheoryData<string, bool, string, string> Cases() => new()
    {
        { "minimind3", false, "v3", "f32" },
        { "minimind3", true, "v3", "f32" },
        { "minimind2", false, "v1", "f32" },
        { "minimind2-hf", false, "v1", "f32" },
        { "minimind-v1", false, "v1", "f32" },
        { "minimind3", false, "v3", "f16" },
    };

    private static void RequireLlamaCpp()
    {
        TestEnvironment.RequireTool(File.Exists(Path.Combine(ToolDir, "node_modules", "node-llama-cpp", "package.json")),
            "npm node-llama-cpp is not installed (cd tools/gguf && npm ci; .ci/run does this): the llama.cpp check is skipped");
        Skip.If(TestEnvironment.FindUp(Path.Combine("shared", "minimind", "v3")) is null, "shared/minimind (MiniMind's tokenizers) not found: the llama.cpp check is skipped");
    }

    private static (int, string, string) Node(params string[] args) => TestEnvironment.RunNode("gguf", args);

    internal static string TinyModel(string dir, string arch, bool moe)
    {
        var c = ModelConfig.Preset(arch) with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 6400, MaxSeqLen = 128, UseMoe = moe, HiddenDim = 128 };
        using var be = new CpuBackend();
        using var m = MiniMindModel.Create(c, be, 1, 8);
        m.InitRandom(11);
        var sd = m.ExportStateDict();
        var emb = c.HfKeys ? "model.embed_tokens.weight" : "tok_embeddings.weight";
        // sharper attention (q, k ×4) and blocks that outweigh the embedding in the residual (o, down ×4): otherwise a tied
        // head just repeats the last token, and the continuation must depend on positions for a wrong RoPE layout to show
        static bool Any(string k, params string[] parts) => parts.Any(k.Contains);
        static float Scale(string k, string emb) => k == emb ? 25f
            : Any(k, "wq.", "wk.", "q_proj.", "k_proj.", "wo.", "o_proj.", "w2.", "down_proj.") ? 4f : 1f;
        var res = new StateDict();
        foreach (var (k, t) in sd)
            res.Add(k, Scale(k, emb) == 1f ? t : TorchTensor.FromFloat32(t.ToFloat32().Select(x => x * Scale(k, emb)).ToArray(), t.Shape));
        var head = c.HfKeys ? "lm_head.weight" : "output.weight";
        res.Add(head, res[emb].Alias());
        var pth = Path.Combine(dir, $"{arch}{(moe ? "_moe" : "")}.pth");
        PthWriter.WriteStateDict(pth, res);
        return pth;
    }

    internal static string[] ArchArgs(string arch, bool moe) =>
        new[] { "--arch", arch, "--n-heads", "4", "--hidden-dim", "128", "--max-seq-len", "128" }.Concat(moe ? new[] { "--use-moe" } : Array.Empty<string>()).ToArray();

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void LlamaCppGreedyContinuationEqualsOurs(string arch, bool moe, string tokenizer, string dtype)
    {
        RequireLlamaCpp();
        var tokDir = TestEnvironment.FindUp(Path.Combine("shared", "minimind", tokenizer))!;
        var dir = ModelTestPaths.TempDir();
        try
        {
            var pth = TinyModel(dir, arch, moe);
            var gguf = Path.Combine(dir, "model.gguf");
            var (code, so, se) = CliProcess.Exec(null, new[] { "convert", pth, gguf, "--tokenizer", tokDir, "--dtype", dtype }.Concat(ArchArgs(arch, moe)).ToArray());
            Assert.True(code == 0, so + se);
            var gen = new[] { "generate", "--weights", pth, "--tokenizer", tokDir, "--prompt", Prompt, "--greedy", "--max-new-tokens", NewTokens.ToString(), "--eos-id", "-1", "--print-ids" };
            if (dtype == "f16")
            {
                // the reference runs the same f16-rounded weights (llama.cpp computes in f32 from them)
                var half = Path.Combine(dir, "half.pth");
                (code, so, se) = CliProcess.Exec(null, "convert", pth, half, "--dtype", "f16");
                Assert.True(code == 0, so + se);
                gen[2] = half;
            }
            (code, so, se) = CliProcess.Exec(null, gen.Concat(ArchArgs(arch, moe)).ToArray());
            Assert.True(code == 0, so + se);
            var ours = so.Trim().Split('\n')[^1].Split(' ').Select(int.Parse).ToArray();
            Assert.Equal(NewTokens, ours.Length);

            var (nc, nout, nerr) = Node("greedy.mjs", gguf, Prompt, NewTokens.ToString());
            Assert.True(nc == 0, nout + nerr);
            var r = JsonDocument.Parse(nout.Trim().Split('\n')[^1]).RootElement;
            var tok = BpeTokenizer.FromFile(Path.Combine(tokDir, "tokenizer.json"));
            Assert.Equal(new[] { tok.BosId }.Concat(tok.Encode(Prompt)), r.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(ours, r.GetProperty("generated").EnumerateArray().Select(e => e.GetInt32()));
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void Yarn_LlamaCppGreedyContinuationPastTheOriginalContextEqualsOurs()
    {
        RequireLlamaCpp();
        var tokDir = TestEnvironment.FindUp(Path.Combine("shared", "minimind", "v3"))!;
        var dir = ModelTestPaths.TempDir();
        try
        {
            // an original context of 16 tokens: the prompt (~15 tokens) and 32 new ones run well past it
            var yarn = new[] { "--rope-scaling", "yarn", "--rope-factor", "4", "--rope-original-max", "16" };
            var arch = ArchArgs("minimind3", false);
            var pth = TinyModel(dir, "minimind3", false);
            var gguf = Path.Combine(dir, "yarn.gguf");
            var (code, so, se) = CliProcess.Exec(null, new[] { "convert", pth, gguf, "--tokenizer", tokDir }.Concat(arch).Concat(yarn).ToArray());
            Assert.True(code == 0, so + se);
            var f = GgufFile.Read(gguf);
            Assert.Equal("yarn", f.Get("qwen3.rope.scaling.type")!.Value);
            Assert.Equal(4.0, (double)f.Get("qwen3.rope.scaling.factor")!.Value);
            Assert.Equal(16L, Convert.ToInt64(f.Get("qwen3.rope.scaling.original_context_length")!.Value));
            Assert.Equal(1 / (1 + 0.1 * Math.Log(4)), (double)f.Get("qwen3.rope.scaling.attn_factor")!.Value, 6);

            int[] Ours(params string[] extra)
            {
                var gen = new[] { "generate", "--weights", pth, "--tokenizer", tokDir, "--prompt", Prompt, "--greedy", "--max-new-tokens", "32", "--eos-id", "-1", "--print-ids" };
                var (c, o, e) = CliProcess.Exec(null, gen.Concat(arch).Concat(extra).ToArray());
                Assert.True(c == 0, o + e);
                return o.Trim().Split('\n')[^1].Split(' ').Select(int.Parse).ToArray();
            }
            var ours = Ours(yarn);
            Assert.NotEqual(Ours(), ours); // the scaling changes the continuation, so a GGUF that lost it would show

            var (nc, nout, nerr) = Node("greedy.mjs", gguf, Prompt, "32");
            Assert.True(nc == 0, nout + nerr);
            var r = JsonDocument.Parse(nout.Trim().Split('\n')[^1]).RootElement;
            Assert.True(r.GetProperty("prompt_ids").GetArrayLength() > 8);
            Assert.Equal(ours, r.GetProperty("generated").EnumerateArray().Select(e => e.GetInt32()));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TheFileHoldsTheMetadataLlamaCppNeeds_AndGenerationsItCannotRunAreRefused()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var shared = TestEnvironment.FindUp(Path.Combine("shared", "minimind", "v3"));
            var pth = TinyModel(dir, "minimind3", true);
            var gguf = Path.Combine(dir, "m.gguf");
            if (shared is not null)
            {
                var (code, so, se) = CliProcess.Exec(null, new[] { "convert", pth, gguf, "--tokenizer", shared, "--dtype", "bf16" }.Concat(ArchArgs("minimind3", true)).ToArray());
                Assert.True(code == 0, so + se);
                var f = GgufFile.Read(gguf);
                Assert.Equal("qwen3moe", f.Get("general.architecture")!.Value);
                foreach (var k in new[] { "context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count", "attention.head_count_kv",
                                          "attention.layer_norm_rms_epsilon", "rope.freq_base", "expert_count", "expert_used_count" })
                    Assert.NotNull(f.Get("qwen3moe." + k));
                Assert.Equal(1e6, (double)f.Get("qwen3moe.rope.freq_base")!.Value);
                Assert.Equal(6400, ((object[])f.Get("tokenizer.ggml.tokens")!.Value).Length);
                Assert.Equal("<|im_start|>", ((object[])f.Get("tokenizer.ggml.tokens")!.Value)[(long)f.Get("tokenizer.ggml.bos_token_id")!.Value]);
                var gate = f.Tensors.Single(t => t.Name == "blk.0.ffn_gate_exps.weight");
                Assert.Equal(new long[] { 64, 128, 4 }, gate.Dims); // ggml order: PyTorch's [E, out, in] reversed
                Assert.Equal("bf16", gate.TypeName);
                Assert.Equal("f32", f.Tensors.Single(t => t.Name == "blk.0.attn_norm.weight").TypeName);
                // the values are the source's, rounded once to bf16
                var src = StateDict.Read(pth)["model.layers.0.mlp.experts.1.gate_proj.weight"].ToFloat32();
                var all = f.ReadFloat32(gate);
                var bf = TorchTensor.FromFloat32(src, new[] { src.Length }, TorchDType.BF16).ToFloat32();
                Assert.Equal(bf, all.AsSpan(src.Length, src.Length).ToArray());
            }
            var moe2 = TinyModel(dir, "minimind2", true);
            var (c2, _, e2) = CliProcess.Exec(null, new[] { "convert", moe2, Path.Combine(dir, "x.gguf"), "--tokenizer", shared ?? dir }.Concat(ArchArgs("minimind2", true)).ToArray());
            Assert.NotEqual(0, c2);
            if (shared is not null) Assert.Contains("shared expert", e2);
            Assert.False(File.Exists(Path.Combine(dir, "x.gguf")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
