using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Tests;

/// <summary>`minimind eval` and `minimind generate` on a small random model with the byte tokenizer.</summary>
public sealed class CliEvalGenerateTests
{
    private static ModelConfig Small => ModelConfig.Preset("minimind2") with { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 64 };

    [Fact]
    public void Eval_PrintsTokenWeightedLossAndPerplexity_OfTheRows()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            using var model = MiniMindModel.Create(Small, be, 1, 15);
            model.InitRandom(5);
            var weights = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(weights, model.ExportStateDict());
            var texts = new[] { "hello world", "a longer line of text that will be truncated at sixteen", "xy" };
            var data = Path.Combine(dir, "d.jsonl");
            File.WriteAllLines(data, texts.Select(t => $"{{\"text\": \"{t}\"}}"));
            var (code, stdout, stderr) = CliProcess.Exec(null, "eval", "--weights", weights, "--arch", "minimind2", "--n-heads", "4", "--data", data, "--tokenizer", "byte",
                "--max-seq-len", "16", "--batch-size", "2");
            Assert.True(code == 0, stderr);
            var m = Regex.Match(stdout, @"loss ([0-9.]+) perplexity ([0-9.]+) \((\d+) tokens");
            Assert.True(m.Success, stdout);
            double loss = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);

            // reference: every row's logits, log-softmax in float64, mean over the non-pad targets
            var tok = new ByteTokenizer();
            double sum = 0; int n = 0;
            foreach (var t in texts)
            {
                var row = new int[16];
                PretrainRow.Build(tok.Encode(t), tok.BosId, tok.EosId, tok.PadId, row);
                var inputs = new int[15]; var targets = new int[15];
                PretrainRow.Shift(row, tok.PadId, inputs, targets);
                var logits = model.Logits(inputs, 1, 15);
                for (int i = 0; i < 15; i++)
                {
                    if (targets[i] == Batch.IgnoreIndex) continue;
                    var r = logits.AsSpan(i * 259, 259);
                    double max = double.NegativeInfinity; foreach (var v in r) max = Math.Max(max, v);
                    double z = 0; foreach (var v in r) z += Math.Exp(v - max);
                    sum += max + Math.Log(z) - r[targets[i]]; n++;
                }
            }
            Assert.Equal(n, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
            Assert.InRange(loss, sum / n - 1e-4, sum / n + 1e-4);
            Assert.InRange(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Math.Exp(sum / n) * 0.999, Math.Exp(sum / n) * 1.001);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Generate_StreamsText_AndTheIdsDecodeToIt()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            using var model = MiniMindModel.Create(Small, be, 1, 8);
            model.InitRandom(9);
            var weights = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(weights, model.ExportStateDict());
            var (code, stdout, stderr) = CliProcess.Exec(null, "generate", "--weights", weights, "--arch", "minimind2", "--n-heads", "4", "--tokenizer", "byte", "--prompt", "hi",
                "--max-new-tokens", "12", "--temperature", "1.0", "--top-k", "0", "--top-p", "1", "--seed", "3", "--eos-id", "-1", "--print-ids");
            Assert.True(code == 0, stderr);
            var lines = stdout.TrimEnd('\n').Split('\n');
            var ids = lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            Assert.Equal(12, ids.Length);
            var text = string.Join('\n', lines[..^1]);
            Assert.Equal(new ByteTokenizer().Decode(ids), text);
            // same seed, same tokens
            var again = CliProcess.Exec(null, "generate", "--weights", weights, "--arch", "minimind2", "--n-heads", "4", "--tokenizer", "byte", "--prompt", "hi",
                "--max-new-tokens", "12", "--temperature", "1.0", "--top-k", "0", "--top-p", "1", "--seed", "3", "--eos-id", "-1", "--print-ids");
            Assert.Equal(stdout, again.stdout);
        }
        finally { Directory.Delete(dir, true); }
    }
}
