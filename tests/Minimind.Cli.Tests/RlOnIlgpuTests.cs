using System.Globalization;
using System.Text.Json;
using Minimind.Checkpoint.Resume;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The RL stages (grpo, ppo, agent) as a whole on the ILGPU backend (<c>--device ilgpu-cpu</c>, its CPU simulator: the
/// same kernels a GPU runs, every lane a thread): a step samples the CPU backend's rollouts for the same seed (the same
/// completion ids, per-token log-probs and rewards, read from <c>--log-rollouts</c>) and its loss on them is the CPU's to
/// fp32 tolerance; and a run of two steps equals one step then <c>--resume</c> for the second, bit for bit.
/// </summary>
public sealed class RlOnIlgpuTests
{
    // The kernels sum in different orders (ILGPU's tiled GEMM and flash attention vs the CPU's blocks): logits agree to a
    // few fp32 ulps of their magnitude, log-probs and losses to well under 1e-4.
    private const double Tolerance = 1e-4;

    // Four RLAIF prompts for grpo (two steps of 2): the built-in tasks' reward (a right answer) is 0 for every completion of the tiny
    // base, so its advantages and loss would be 0 on any backend; MiniMind's rule rewards (length 20-800 characters)
    // differ between completions of up to 24 bytes that stop early and those that do not.
    private static readonly Lazy<string> Rlaif = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), "mm-rl-ilgpu-" + Guid.NewGuid().ToString("N")[..8] + ".jsonl");
        File.WriteAllLines(path, new[] { "Tell me a short story about a cat.", "What is the capital of France?", "Name three colors.", "Why is the sky blue?" }.Select(q =>
            JsonSerializer.Serialize(new { conversations = new object[] { new { role = "user", content = q }, new { role = "assistant", content = "" } } })));
        return path;
    });

    // A small run of the stage from the stage tests' pretrained base: 2 prompts (grpo: the RLAIF ones; ppo, agent: the
    // built-in tasks and tool-use rows, whose critic values and agent rewards already vary), 2 samples each (ppo: 1), up
    // to 8 new tokens (grpo: 24), a step folder per step.
    private static string[] Args(string stage, string device, string outDir, int steps)
    {
        var a = new List<string>
        {
            "train", "--stage", stage, "--device", device, "--from-weight", StageKillResumeTests.Base.Value, "--max-seq-len", "128",
            "--batch-size", "2", "--accumulation-steps", "1", "--max-gen-len", stage == "grpo" ? "24" : "8", "--max-steps", steps.ToString(CultureInfo.InvariantCulture),
            "--save-interval", "1", "--keep-last", "3", "--log-interval", "1", "--save-dtype", "f32", "--seed", "5", "--learning-rate", "1e-3",
            "--out-dir", outDir, "--log-rollouts", Path.Combine(outDir, "rollouts.jsonl"),
        };
        if (stage != "ppo") a.AddRange(new[] { "--num-generations", "2" });
        if (stage == "grpo") a.AddRange(new[] { "--data", Rlaif.Value, "--tokenizer", "byte" });
        return a.ToArray();
    }

    private static List<JsonElement> Lines(string path) =>
        File.ReadAllLines(path).Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.Clone(); }).ToList();

    private static float[] Floats(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetSingle()).ToArray();
    private static int[] Ints(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static void Close(double want, double got, string what) =>
        Assert.True(Math.Abs(want - got) <= Tolerance * Math.Max(1, Math.Abs(want)), $"{what}: cpu {want:R}, ilgpu {got:R}");

    [Theory]
    [InlineData("grpo")]
    [InlineData("ppo")]
    [InlineData("agent")]
    public void AStepOnIlgpuSamplesTheCpuRolloutsAndGivesTheirLoss(string stage)
    {
        using var cpu = new TempDir();
        using var ilgpu = new TempDir();
        TrainDataSourceTests.Run(Args(stage, "cpu", cpu.Path, 1));
        var o = TrainDataSourceTests.Run(Args(stage, "ilgpu-cpu", ilgpu.Path, 1));
        Assert.Contains("saved step 1", o);
        var want = Lines(Path.Combine(cpu.Path, "rollouts.jsonl"));
        var got = Lines(Path.Combine(ilgpu.Path, "rollouts.jsonl"));
        Assert.Equal(2, want.Count); // one line per prompt of the step
        Assert.Equal(want.Count, got.Count);
        int tokens = 0;
        for (int p = 0; p < want.Count; p++)
        {
            Assert.Equal(Ints(want[p], "prompt_ids"), Ints(got[p], "prompt_ids"));
            Close(want[p].GetProperty("micro_batch_loss").GetDouble(), got[p].GetProperty("micro_batch_loss").GetDouble(), $"{stage} micro-batch loss");
            var wc = want[p].GetProperty("completions").EnumerateArray().ToList();
            var gc = got[p].GetProperty("completions").EnumerateArray().ToList();
            Assert.Equal(wc.Count, gc.Count);
            for (int c = 0; c < wc.Count; c++)
            {
                string what = $"{stage} prompt {p} completion {c}";
                var ids = Ints(wc[c], "ids");
                Assert.True(ids.SequenceEqual(Ints(gc[c], "ids")), $"{what}: ilgpu sampled other tokens than cpu");
                Assert.Equal(Floats(wc[c], "mask"), Floats(gc[c], "mask"));
                Assert.Equal(wc[c].GetProperty("reward").GetDouble(), gc[c].GetProperty("reward").GetDouble());
                var (wl, gl) = (Floats(wc[c], "old_logprobs"), Floats(gc[c], "old_logprobs"));
                Assert.Equal(wl.Length, gl.Length);
                for (int t = 0; t < wl.Length; t++) Close(wl[t], gl[t], $"{what} token {t} log-prob");
                if (stage == "ppo")
                {
                    var (wv, gv) = (Floats(wc[c], "values"), Floats(gc[c], "values"));
                    for (int t = 0; t < wv.Length; t++) Close(wv[t], gv[t], $"{what} token {t} critic value");
                }
                tokens += ids.Length;
            }
        }
        Assert.True(tokens > 0, "no tokens were sampled");
        // the step's logged loss (the metrics jsonl) too
        double StepLoss(string dir) => Lines(Directory.GetFiles(Path.Combine(dir, "checkpoints"), "*_metrics.jsonl").Single())
            .Single(e => e.TryGetProperty("loss", out _) && e.GetProperty("step").GetInt64() == 1).GetProperty("loss").GetDouble();
        double loss = StepLoss(cpu.Path);
        Assert.True(loss != 0, $"{stage}: the cpu step's loss is 0, nothing to compare"); // equal rewards and policy = reference
        Close(loss, StepLoss(ilgpu.Path), $"{stage} step loss");
    }

    [Theory]
    [InlineData("grpo")]
    [InlineData("ppo")]
    [InlineData("agent")]
    public void OnIlgpuTwoStepsEqualOneStepThenResume(string stage)
    {
        using var d = new TempDir();
        var args = Args(stage, "ilgpu-cpu", d.Path, 2);
        TrainDataSourceTests.Run(args);
        var root = StageKillResumeTests.Root(stage, d.Path);
        var step2 = Path.Combine(root, ResumeStore.FolderName(2));
        // every state file (weights, AdamW moments, counters, rollout key; ppo's critic and its AdamW), not the manifest
        // (it records when the folder was written)
        var files = Directory.GetFiles(step2).Where(f => Path.GetFileName(f) != ResumeStore.ManifestFileName)
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        Assert.Contains("state.msgpack", files.Keys);
        Assert.Contains("rollout_rng.bin", files.Keys);
        if (stage == "ppo") Assert.Contains("critic_adam_m.f32", files.Keys);
        // forget step 2: the resume starts a new process from step 1's folder and takes step 2 again
        Directory.Delete(step2, recursive: true);
        var o = TrainDataSourceTests.Run(args.Append("--resume").ToArray());
        Assert.Contains($"resumed from {Path.Combine(root, ResumeStore.FolderName(1))}", o);
        Assert.Contains("saved step 2", o);
        Assert.DoesNotContain("DIFFERENT", o);
        var differ = files.Where(f => !f.Value.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(step2, f.Key)))).Select(f => f.Key).ToList();
        Assert.True(differ.Count == 0, $"{stage} on ilgpu: {string.Join(", ", differ)} after the resume differ from the uninterrupted run");
    }
}
