using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// <c>train --stage grpo|ppo|agent --log-rollouts FILE</c> and <c>--debug-mode</c>: the logged ids decode to the logged
/// texts (the byte tokenizer's rule by hand, and Python's UTF-8 decoder in the replay); MiniMind's own model code and
/// GRPO/CISPO formulas, and train_agent.py's own rl_train_epoch, run on the logged ids, rewards and old log-probs and the
/// step's starting weights, give the logged loss (tools/rl/rollout_replay.py); ppo's logged advantages and returns are
/// GAE recomputed by hand in float64 from the logged rewards and values; a SIGKILL and --resume leave a log equal byte
/// for byte to an uninterrupted run's (grpo, ppo, agent); under mpirun rank 0 writes every rank's rollouts.
/// </summary>
public sealed class RolloutLogTests
{
    private static readonly string Mirror = Environment.GetEnvironmentVariable("MM_MINIMIND_REPO") ?? "/work/.mirror/jingyaogong+minimind/repo";

    // A minimind-3 model small enough for the tests (MiniMind's model code loads it), pretrained enough on the built-in
    // corpus that its completions vary in length (so rewards and advantages differ), and eight RLAIF prompts.
    private static readonly Lazy<(string Weights, string Prompts)> Rlaif = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "mm-rollout-base-" + Guid.NewGuid().ToString("N")[..8]);
        TrainDataSourceTests.Run("train", "--device", "cpu", "--arch", "minimind3", "--dim", "32", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2",
            "--vocab-size", "259", "--max-steps", "60", "--learning-rate", "3e-3", "--save-dtype", "f32", "--out-dir", dir);
        var prompts = Path.Combine(dir, "rlaif.jsonl");
        File.WriteAllLines(prompts, new[]
        {
            "Tell me a short story about a cat.", "What is the capital of France?", "Explain rain in one sentence.", "Write a haiku about the sea.",
            "How do I boil an egg?", "Name three colors.", "Why is the sky blue?", "Give me a tip for sleeping well.",
        }.Select(q => JsonSerializer.Serialize(new { conversations = new object[] { new { role = "user", content = q }, new { role = "assistant", content = "" } } })));
        return (Path.Combine(dir, "pretrain_32.pth"), prompts);
    });

    // GRPO on the RLAIF prompts (byte tokenizer; prompts well under --max-seq-len), a step folder kept per step.
    private static string[] RlaifArgs(string outDir, string log, string lossType, int steps, double beta = 0.1) => new[]
    {
        "train", "--stage", "grpo", "--device", "cpu", "--data", Rlaif.Value.Prompts, "--tokenizer", "byte", "--from-weight", Rlaif.Value.Weights,
        "--loss-type", lossType, "--beta", beta.ToString("R", CultureInfo.InvariantCulture), "--save-dtype", "f32", "--save-interval", "1", "--keep-last", "5", "--max-gen-len", "24", "--max-seq-len", "256",
        "--batch-size", "2", "--num-generations", "4", "--learning-rate", "1e-2", "--seed", "7", "--max-steps", steps.ToString(CultureInfo.InvariantCulture),
        "--out-dir", outDir, "--log-rollouts", log,
    };

    private static List<JsonElement> Lines(string path) =>
        File.ReadAllLines(path).Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.Clone(); }).ToList();

    // The step losses of the metrics jsonl.
    private static Dictionary<long, float> StepLosses(string metrics) => Lines(metrics)
        .Where(e => e.TryGetProperty("loss", out _)).ToDictionary(e => e.GetProperty("step").GetInt64(), e => e.GetProperty("loss").GetSingle());

    // The byte tokenizer's decode, by its rule: ids 0-255 are UTF-8 bytes; 256-258 are <pad>, <|im_start|>, <|im_end|>.
    private static string ByteDecode(IEnumerable<int> ids, bool skipSpecial)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
            if (id < 256) bytes.Add((byte)id);
            else if (!skipSpecial) bytes.AddRange(Encoding.UTF8.GetBytes(id switch { 256 => "<pad>", 257 => "<|im_start|>", _ => "<|im_end|>" }));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    // The arguments with each flag's value replaced.
    private static string[] With(string[] args, params (string Flag, string Value)[] values)
    {
        var a = args.ToArray();
        foreach (var (flag, value) in values) a[Array.IndexOf(a, flag) + 1] = value;
        return a;
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    // A logged float is written as the exact double of a float32: parsing it as a double and narrowing changes nothing.
    private static void AssertFloat32(JsonElement e, string what)
    {
        double d = e.GetDouble();
        Assert.True((double)(float)d == d, $"{what}: {e.GetRawText()} is not exactly a float32 value");
    }

    [Fact]
    public void LogHoldsEveryPromptOnce_IdsDecodeToTheText_FloatsExact_AndTheDebugPrintIsMiniMinds()
    {
        using var d = new TempDir();
        string log = Path.Combine(d.Path, "logs", "rollouts.jsonl");
        var args = With(StageKillResumeTests.Args("grpo", d.Path).Concat(new[] { "--log-rollouts", log, "--debug-mode", "--debug-interval", "2" }).ToArray(), ("--max-steps", "3"));
        var o = TrainDataSourceTests.Run(args);
        var lines = Lines(log);
        // batch 4 x accumulation 2: eight prompts per step, micro-batches 2s and 2s+1 of the epoch, each prompt once
        Assert.Equal(3 * 8, lines.Count);
        var losses = StepLosses(Path.Combine(StageKillResumeTests.Root("grpo", d.Path) + "_metrics.jsonl"));
        for (int step = 1; step <= 3; step++)
        {
            var s = lines.Where(l => l.GetProperty("step").GetInt64() == step).ToList();
            Assert.Equal(new long[] { 2 * step - 2, 2 * step - 2, 2 * step - 2, 2 * step - 2, 2 * step - 1, 2 * step - 1, 2 * step - 1, 2 * step - 1 },
                s.Select(l => l.GetProperty("micro_batch").GetInt64()));
            Assert.Equal(new[] { 0, 1, 2, 3, 0, 1, 2, 3 }, s.Select(l => l.GetProperty("index").GetInt32()));
            Assert.All(s, l => Assert.Equal(0, l.GetProperty("rank").GetInt32()));
            // the step's loss is the mean of its micro-batches' (in float64, as the loop takes it)
            var mb = s.Where(l => l.GetProperty("index").GetInt32() == 0).Select(l => l.GetProperty("micro_batch_loss").GetSingle()).ToArray();
            Assert.Equal(losses[step], (float)((mb[0] + (double)mb[1]) / 2));
        }
        foreach (var l in lines)
        {
            var prompt = Ints(l.GetProperty("prompt_ids"));
            Assert.Equal(ByteDecode(prompt, skipSpecial: false), l.GetProperty("prompt_text").GetString());
            Assert.StartsWith("<|im_start|>user\n", l.GetProperty("prompt_text").GetString());
            AssertFloat32(l.GetProperty("micro_batch_loss"), "micro_batch_loss");
            var completions = l.GetProperty("completions").EnumerateArray().ToList();
            Assert.Equal(6, completions.Count); // --num-generations
            foreach (var c in completions)
            {
                var ids = Ints(c.GetProperty("ids"));
                Assert.Equal(ByteDecode(ids, skipSpecial: true), c.GetProperty("text").GetString());
                Assert.Equal(ids.Length, c.GetProperty("mask").GetArrayLength());
                Assert.Equal(ids.Length, c.GetProperty("old_logprobs").GetArrayLength());
                // the mask: every token up to and including the first eos (258)
                int eos = Array.IndexOf(ids, 258);
                Assert.Equal(ids.Select((_, i) => eos < 0 || i <= eos ? 1.0 : 0.0), c.GetProperty("mask").EnumerateArray().Select(x => x.GetDouble()));
                foreach (var x in c.GetProperty("old_logprobs").EnumerateArray()) { AssertFloat32(x, "old_logprobs"); Assert.True(x.GetDouble() <= 0); }
                AssertFloat32(c.GetProperty("reward"), "reward");
                AssertFloat32(c.GetProperty("advantage"), "advantage");
                // a built-in task's reward is its verdict
                Assert.Equal(c.GetProperty("reward").GetDouble(), c.GetProperty("reward_parts").GetProperty("task").GetDouble());
            }
        }
        // --debug-mode --debug-interval 2: MiniMind's print of step 2 only, rank 0's micro-batches (both, here) with the logged rewards
        Assert.DoesNotContain("[DEBUG] step=1,", o);
        Assert.DoesNotContain("[DEBUG] step=3,", o);
        Assert.Equal(8, o.Split('\n').Count(x => x.StartsWith("[DEBUG] step=2, sample[", StringComparison.Ordinal)));
        Assert.Contains($"{new string('=', 30)} [DEBUG] sample[3] CONTEXT_BEGIN {new string('=', 30)}", o);
        var first = lines.First(l => l.GetProperty("step").GetInt64() == 2).GetProperty("completions")[5];
        Assert.Contains($"{new string('=', 29)} [DEBUG] gen[5] RESPONSE_END {new string('=', 29)}\n[DEBUG] gen[5] reward=" +
            first.GetProperty("reward").GetDouble().ToString("F4", CultureInfo.InvariantCulture), o.Replace("\r\n", "\n"));

        // A fresh run (another folder) into the same log would mix two runs: refused, naming the file.
        var again = StageKillResumeTests.Args("grpo", Path.Combine(d.Path, "other")).Concat(new[] { "--log-rollouts", log }).ToArray();
        var (code, refused) = CliProcess.Run(again);
        Assert.NotEqual(0, code);
        Assert.Contains("already holds rollouts", refused);
        Assert.Equal(3 * 8, Lines(log).Count);
        // the flags are the RL stages' alone
        (code, refused) = CliProcess.Run("train", "--stage", "sft", "--log-rollouts", log);
        Assert.Equal(2, code);
        Assert.Contains("--log-rollouts belongs to --stage grpo", refused);
    }

    // tools/rl/rollout_replay.py on step `step` of the RLAIF model's run `run` in `outDir` (two lines, one per prompt): the
    // step's starting weights are the --from-weight file, then the trained buffer of the step folder before it; `stage`
    // adds the stage's settings. The logged texts decode and the logged floats are float32 values.
    private static JsonElement Replay(string outDir, string log, string run, int step, Dictionary<string, object> stage)
    {
        var spec = new Dictionary<string, object>
        {
            ["log"] = log, ["step"] = step, ["reference"] = Rlaif.Value.Weights,
            ["policy"] = step == 1 ? Rlaif.Value.Weights : Path.Combine(outDir, "checkpoints", run, $"step_{step - 1:D6}", "model.f32"),
            ["config"] = new Dictionary<string, object> { ["hidden_size"] = 32, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["vocab_size"] = 259 },
            ["pad"] = 256, ["eos"] = 258, ["epsilon"] = 0.2, ["epsilon_high"] = 5.0, ["byte_tokenizer"] = true,
        };
        foreach (var (k, v) in stage) spec[k] = v;
        var specPath = Path.Combine(outDir, $"spec{step}.json");
        File.WriteAllText(specPath, JsonSerializer.Serialize(spec));
        using var r = JsonDocument.Parse(TestPaths.RunPython(Path.Combine(TestPaths.RepoRoot, "tools", "rl", "rollout_replay.py"), specPath, Mirror));
        var res = r.RootElement.Clone();
        Assert.Equal(2, res.GetProperty("lines").GetInt32());
        Assert.Equal(0, res.GetProperty("decode_mismatches").GetInt32());
        Assert.Equal(0, res.GetProperty("not_float32").GetInt32());
        return res;
    }

    // Python's len() of a text: code points.
    private static int PyLen(string s) => s.EnumerateRunes().Count();

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static bool Close(double logged, double expected, double tol) => Math.Abs(logged - expected) <= tol * (1 + Math.Abs(expected));

    [Fact]
    public void PpoLog_IdsDecode_AdvantagesAndReturnsAreGaeByHand_AndTheDebugPrintIsMiniMinds()
    {
        using var d = new TempDir();
        string log = Path.Combine(d.Path, "rollouts.jsonl");
        // RLAIF prompts: MiniMind's rule terms give rewards that differ (the built-in tasks' verdicts are all 0 for this model)
        var o = TrainDataSourceTests.Run("train", "--stage", "ppo", "--device", "cpu", "--data", Rlaif.Value.Prompts, "--tokenizer", "byte",
            "--from-weight", Rlaif.Value.Weights, "--save-dtype", "f32", "--log-interval", "1", "--max-gen-len", "24", "--max-seq-len", "256", "--batch-size", "2",
            "--learning-rate", "1e-3", "--seed", "7", "--max-steps", "3", "--out-dir", d.Path, "--log-rollouts", log, "--debug-mode", "--debug-interval", "2");
        var lines = Lines(log);
        Assert.Equal(3 * 2, lines.Count);
        var losses = StepLosses(Path.Combine(d.Path, "checkpoints", "ppo_actor_32_metrics.jsonl"));
        const double gamma = 1.0, lam = 0.95; // train_ppo.py's defaults
        bool anyReward = false;
        for (int step = 1; step <= 3; step++)
        {
            var s = lines.Where(l => l.GetProperty("step").GetInt64() == step).ToList();
            Assert.Equal(new[] { 0, 1 }, s.Select(l => l.GetProperty("index").GetInt32()));
            // one rollout batch per step: its loss is the step's
            Assert.All(s, l => Assert.Equal(losses[step], l.GetProperty("micro_batch_loss").GetSingle()));
            // GAE by hand (float64): the reward on the last counted token, V = 0 past the response, then whitening over every counted token of the batch
            var rows = s.Select(l => l.GetProperty("completions")[0]).ToList();
            var raw = new List<(double[] Adv, double[] Mask)>();
            foreach (var c in rows)
            {
                var ids = Ints(c.GetProperty("ids"));
                Assert.Equal(ByteDecode(ids, skipSpecial: true), c.GetProperty("text").GetString());
                double[] mask = Doubles(c.GetProperty("mask")), v = Doubles(c.GetProperty("values")), ret = Doubles(c.GetProperty("returns"));
                int eos = Array.IndexOf(ids, 258), len = eos < 0 ? ids.Length : eos + 1;
                Assert.Equal(ids.Select((_, i) => i < len ? 1.0 : 0.0), mask);
                foreach (var name in new[] { "values", "advantages", "returns", "old_logprobs" })
                    foreach (var x in c.GetProperty(name).EnumerateArray()) AssertFloat32(x, name);
                double reward = c.GetProperty("reward").GetDouble();
                anyReward |= reward != 0;
                var adv = new double[ids.Length];
                double last = 0;
                for (int t = ids.Length - 1; t >= 0; t--)
                {
                    double r = t == len - 1 ? reward : 0, next = t + 1 < ids.Length ? v[t + 1] : 0;
                    last = r + gamma * next - v[t] + gamma * lam * last;
                    adv[t] = last;
                    Assert.True(Close(ret[t], adv[t] + v[t], 1e-5), $"step {step} return[{t}] {ret[t]} vs {adv[t] + v[t]} by hand");
                }
                raw.Add((adv, mask));
            }
            double count = raw.Sum(x => x.Mask.Sum()), mean = raw.Sum(x => x.Adv.Zip(x.Mask, (a, m) => a * m).Sum()) / count;
            double var = raw.Sum(x => x.Adv.Zip(x.Mask, (a, m) => (a - mean) * (a - mean) * m).Sum()) / count;
            for (int k = 0; k < rows.Count; k++)
            {
                var logged = Doubles(rows[k].GetProperty("advantages"));
                for (int t = 0; t < logged.Length; t++)
                {
                    double byHand = (raw[k].Adv[t] - mean) / Math.Sqrt(var + 1e-8) * raw[k].Mask[t];
                    Assert.True(Close(logged[t], byHand, 1e-4), $"step {step} row {k} advantage[{t}] {logged[t]} vs {byHand} by hand");
                }
            }
        }
        Assert.True(anyReward, "every reward is 0: the reward's place in GAE is not tested");
        // --debug-mode: train_ppo.py's print of step 2 only, its prompt length and response length in characters
        Assert.DoesNotContain("[DEBUG] step=1,", o);
        Assert.DoesNotContain("[DEBUG] step=3,", o);
        var first = lines.First(l => l.GetProperty("step").GetInt64() == 2);
        var c0 = first.GetProperty("completions")[0];
        Assert.Contains($"[DEBUG] prompt_len={first.GetProperty("prompt_ids").GetArrayLength()}, response_len={PyLen(c0.GetProperty("text").GetString()!)}\n" +
            $"{new string('=', 28)} [DEBUG] sample[0] RESPONSE_BEGIN {new string('=', 28)}\n{c0.GetProperty("text").GetString()}\n", o.Replace("\r\n", "\n"));
        Assert.Contains($"[DEBUG] reward={c0.GetProperty("reward").GetDouble().ToString("F4", CultureInfo.InvariantCulture)}", o);
    }

    [Fact]
    public void AgentLog_IdsDecode_SpansTileTheMask_RewardsAndAdvantagesByHand_AndTheDebugPrintIsMiniMinds()
    {
        using var d = new TempDir();
        string log = Path.Combine(d.Path, "rollouts.jsonl");
        var args = With(StageKillResumeTests.Args("agent", d.Path).Concat(new[] { "--log-rollouts", log, "--debug-mode", "--debug-interval", "2" }).ToArray(), ("--max-steps", "3"));
        var o = TrainDataSourceTests.Run(args).Replace("\r\n", "\n");
        var lines = Lines(log);
        Assert.Equal(3 * 8, lines.Count); // batch 4 x accumulation 2 rows per step, each once
        foreach (var l in lines)
        {
            string prompt = l.GetProperty("prompt_text").GetString()!;
            Assert.Equal(ByteDecode(Ints(l.GetProperty("prompt_ids")), skipSpecial: false), prompt);
            Assert.Equal(JsonValueKind.Array, l.GetProperty("gt").ValueKind);
            var completions = l.GetProperty("completions").EnumerateArray().ToList();
            Assert.Equal(4, completions.Count); // --num-generations
            var rewards = completions.Select(c => c.GetProperty("reward").GetDouble()).ToArray();
            double mean = rewards.Average(), std = Math.Sqrt(rewards.Average(r => (r - mean) * (r - mean)));
            for (int j = 0; j < completions.Count; j++)
            {
                var c = completions[j];
                var ids = Ints(c.GetProperty("ids"));
                Assert.Equal(ByteDecode(ids, skipSpecial: false), c.GetProperty("text").GetString());
                // its own first-turn prompt: the row's conversation, rendered with its own thinking draw
                string own = ByteDecode(Ints(c.GetProperty("prompt_ids")), skipSpecial: false);
                Assert.StartsWith(prompt[..prompt.LastIndexOf("<|im_start|>assistant", StringComparison.Ordinal)], own);
                var mask = Doubles(c.GetProperty("mask"));
                var old = Doubles(c.GetProperty("old_logprobs"));
                Assert.Equal(ids.Length, mask.Length);
                Assert.Equal(ids.Length, old.Length);
                // turn spans hold the model's tokens (mask 1), observation spans the template's and tools' (mask 0, old log-prob 0); together they tile the ids
                var spans = c.GetProperty("turns").EnumerateArray().Select(x => (A: x[0].GetInt32(), B: x[1].GetInt32(), M: 1.0))
                    .Concat(c.GetProperty("observations").EnumerateArray().Select(x => (A: x[0].GetInt32(), B: x[1].GetInt32(), M: 0.0))).OrderBy(x => x.A).ThenBy(x => x.B).ToList();
                int at = 0;
                foreach (var (a, b, m) in spans)
                {
                    Assert.Equal(at, a);
                    for (int t = a; t < b; t++) { Assert.Equal(m, mask[t]); Assert.True(m == 1 ? old[t] <= 0 : old[t] == 0); }
                    at = b;
                }
                Assert.Equal(ids.Length, at);
                // each turn's text is its span decoded (the eos it stopped at is not in the ids)
                var turns = c.GetProperty("turns").EnumerateArray().Select(x => ByteDecode(ids[x[0].GetInt32()..x[1].GetInt32()], skipSpecial: true));
                Assert.Equal(c.GetProperty("turn_texts").EnumerateArray().Select(x => x.GetString()), turns);
                // the reward: train_agent.py's sum of its parts (repetition penalty subtracted), clipped to ±3; the group advantage by hand
                var p = c.GetProperty("reward_parts");
                double sum = p.GetProperty("tag_penalty").GetDouble() + p.GetProperty("length").GetDouble() + p.GetProperty("think").GetDouble() + p.GetProperty("think_close").GetDouble() + p.GetProperty("reward_model").GetDouble()
                    + p.GetProperty("tool_alignment").GetDouble() + p.GetProperty("ground_truth").GetDouble() + p.GetProperty("unfinished").GetDouble()
                    - p.GetProperty("repetition_penalty").GetDouble();
                Assert.True(Close(rewards[j], Math.Clamp(sum, -3, 3), 1e-6), $"reward {rewards[j]} vs its parts {sum}");
                Assert.True(Close(c.GetProperty("advantage").GetDouble(), (rewards[j] - mean) / (std + 1e-4), 1e-5), "advantage");
                foreach (var x in c.GetProperty("old_logprobs").EnumerateArray()) AssertFloat32(x, "old_logprobs");
            }
        }
        // --debug-mode: train_agent.py's print of step 2 only: per row its gt, per rollout its final context and packed span
        Assert.DoesNotContain("[DEBUG] step=1,", o);
        Assert.DoesNotContain("[DEBUG] step=3,", o);
        Assert.Equal(8, o.Split('\n').Count(x => x.StartsWith("[DEBUG] step=2, gt[", StringComparison.Ordinal)));
        var first = lines.First(l => l.GetProperty("step").GetInt64() == 2);
        var c0 = first.GetProperty("completions")[0];
        int plen = c0.GetProperty("prompt_ids").GetArrayLength(), slen = plen + c0.GetProperty("ids").GetArrayLength(); // no cut at --max-total-len here
        Assert.True(slen <= 256, "precondition: the rollout fits --max-total-len");
        Assert.Contains($"[DEBUG] gen[0][0] prompt_len={plen}, seq_len={slen}\n{new string('=', 28)} [DEBUG] gen[0][0] COMPLETION_BEGIN [{plen}:{slen}] {new string('=', 28)}\n" +
            $"{c0.GetProperty("text").GetString()}\n{new string('=', 29)} [DEBUG] gen[0][0] COMPLETION_END {new string('=', 29)}\n" +
            $"[DEBUG] gen[0][0] reward={c0.GetProperty("reward").GetDouble().ToString("F4", CultureInfo.InvariantCulture)}\n{new string('=', 100)}\n", o);
    }

    // train_agent.py's own rl_train_epoch (tools/rl/model_check.py agent_step) on the logged rollouts, rewards and old log-probs.
    [SkippableFact]
    public void AgentLoggedLossEqualsMiniMindsRlTrainEpochFromTheLoggedRollouts()
    {
        Skip.IfNot(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        Skip.IfNot(Directory.Exists(Mirror), $"MiniMind's git repository is not at {Mirror} (set MM_MINIMIND_REPO to a clone of jingyaogong/minimind)");
        using var d = new TempDir();
        string log = Path.Combine(d.Path, "rollouts.jsonl");
        const int steps = 4; // the first steps' rewards are all equal here (no update): later ones start away from the reference
        TrainDataSourceTests.Run("train", "--stage", "agent", "--device", "cpu", "--tokenizer", "byte", "--from-weight", Rlaif.Value.Weights,
            "--loss-type", "cispo", "--beta", "0.1", "--save-dtype", "f32", "--save-interval", "1", "--log-interval", "1", "--keep-last", "5", "--max-gen-len", "24",
            "--batch-size", "2", "--num-generations", "4", "--learning-rate", "1e-2", "--seed", "7", "--max-steps", steps.ToString(CultureInfo.InvariantCulture),
            "--out-dir", d.Path, "--log-rollouts", log);
        var losses = StepLosses(Path.Combine(d.Path, "checkpoints", "agent_32_metrics.jsonl"));
        double largest = 0;
        for (int step = 1; step <= steps; step++)
        {
            var res = Replay(d.Path, log, "agent_32", step, new() { ["stage"] = "agent", ["loss_type"] = "cispo", ["beta"] = 0.1, ["max_total_len"] = 256 });
            Assert.Equal(0, res.GetProperty("spans_mismatches").GetInt32());
            var mb = Assert.Single(res.GetProperty("micro_batches").EnumerateArray().ToList());
            string at = $"agent step {step}: {mb.GetRawText()}";
            double logged = mb.GetProperty("logged_loss").GetDouble(), replayed = mb.GetProperty("replayed_loss").GetDouble();
            Assert.True(Math.Abs(logged - replayed) <= 1e-6 + 1e-4 * Math.Abs(replayed), at);
            Assert.Equal(losses[step], (float)logged); // one micro-batch per step: the step's loss
            largest = Math.Max(largest, Math.Abs(replayed));
        }
        Assert.True(largest > 1e-3, $"the largest replayed loss is {largest:g3}: the comparison would be vacuous");
    }

    // GRPO's clipped term at ratio 1 is −A, whose batch mean is 0 (advantages sum to zero per group): its loss is the
    // β-weighted KL alone, so that case runs with β = 1 to keep the compared value well above fp32 noise.
    [SkippableTheory]
    [InlineData("cispo", 0.1, 1e-3)]
    [InlineData("grpo", 1.0, 1e-4)]
    public void LoggedLossEqualsMiniMindsReplayFromTheLoggedRollouts(string lossType, double beta, double smallest)
    {
        Skip.IfNot(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        Skip.IfNot(Directory.Exists(Mirror), $"MiniMind's git repository is not at {Mirror} (set MM_MINIMIND_REPO to a clone of jingyaogong/minimind)");
        using var d = new TempDir();
        string log = Path.Combine(d.Path, "rollouts.jsonl");
        const int steps = 3; // step 1's rewards are all equal here (no update), step 2's are not: step 3 starts away from the reference
        TrainDataSourceTests.Run(RlaifArgs(d.Path, log, lossType, steps, beta));
        var losses = StepLosses(Path.Combine(d.Path, "checkpoints", "grpo_32_metrics.jsonl"));
        double largest = 0;
        for (int step = 1; step <= steps; step++)
        {
            var res = Replay(d.Path, log, "grpo_32", step, new() { ["loss_type"] = lossType, ["beta"] = beta });
            foreach (var mb in res.GetProperty("micro_batches").EnumerateArray())
            {
                string at = $"{lossType} step {step}: {mb.GetRawText()}";
                // MiniMind masks a sampled pad token out of attention (full_mask = outputs != pad), which this run must not contain
                Assert.True(mb.GetProperty("pad_tokens_sampled").GetInt32() == 0, "precondition: " + at);
                Assert.True(mb.GetProperty("mask_equal").GetBoolean(), at);
                Assert.True(mb.GetProperty("advantages_max_diff").GetDouble() < 1e-6, at);
                Assert.True(mb.GetProperty("max_old_logprob_diff").GetDouble() < 1e-4, at);
                double logged = mb.GetProperty("logged_loss").GetDouble(), replayed = mb.GetProperty("replayed_loss").GetDouble();
                Assert.True(Math.Abs(logged - replayed) <= 1e-6 + 1e-4 * Math.Abs(replayed), at);
                Assert.Equal(losses[step], (float)logged); // one micro-batch per step: the step's loss
                largest = Math.Max(largest, Math.Abs(replayed));
            }
        }
        Assert.True(largest > smallest, $"the largest replayed loss is {largest:g3}: the comparison would be vacuous");
    }

    [Theory]
    [InlineData("grpo", 8)] // batch 4 x accumulation 2
    [InlineData("ppo", 4)] // batch 4, one rollout batch per step
    [InlineData("agent", 8)] // multi-turn rollouts: batch 4 x accumulation 2
    public void SigkillAndResume_LogHoldsEachStepOnce_AndEqualsTheUninterruptedRunsByteForByte(string stage, int linesPerStep)
    {
        using var d = new TempDir();
        const int total = 40; // room for a loaded machine to run past step 8 before the kill lands
        // the 96 built-in agent rows make 12 steps an epoch: four epochs hold the 40 steps
        string[] Args(string outDir) => With(StageKillResumeTests.Args(stage, outDir).Concat(new[] { "--log-rollouts", Path.Combine(outDir, "rollouts.jsonl"), "--epochs", "4" }).ToArray(),
            ("--max-steps", total.ToString(CultureInfo.InvariantCulture)), ("--save-interval", "5"), ("--keep-last", "3"));
        string outA = Path.Combine(d.Path, "a"), outB = Path.Combine(d.Path, "b");
        string logA = Path.Combine(outA, "rollouts.jsonl");
        // SIGKILL once step 8 is logged and the save at 5 has been written (saves end in the background): the log then
        // holds steps that no checkpoint holds
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(TestPaths.CliDll);
        foreach (var x in Args(outA)) psi.ArgumentList.Add(x);
        var metrics = StageKillResumeTests.Root(stage, outA) + "_metrics.jsonl";
        using (var run = Process.Start(psi)!)
        {
            _ = run.StandardOutput.ReadToEndAsync();
            _ = run.StandardError.ReadToEndAsync();
            var sw = Stopwatch.StartNew();
            while (!run.HasExited && sw.Elapsed < TimeSpan.FromMinutes(5))
            {
                if (TensorBoardTests.LoggedSteps(metrics) >= 8 && TensorBoardTests.LoggedSteps(metrics, "save") >= 5) break;
                Thread.Sleep(10);
            }
            Assert.False(run.HasExited, "the run ended before it could be killed");
            run.Kill(entireProcessTree: true);
            run.WaitForExit();
        }
        long killedAt = Lines(logA).Max(l => l.GetProperty("step").GetInt64());
        Assert.InRange(killedAt, 8, total - 1);
        // and a line cut short mid-write (the kill could land there too)
        var bytes = File.ReadAllBytes(logA);
        File.AppendAllBytes(logA, bytes.AsSpan(0, 100).ToArray());
        TrainDataSourceTests.Run(Args(outA).Append("--resume").ToArray());
        TrainDataSourceTests.Run(Args(outB)); // uninterrupted

        var resumed = File.ReadAllLines(logA);
        var expected = File.ReadAllLines(Path.Combine(outB, "rollouts.jsonl"));
        var steps = resumed.Select(l => { using var j = JsonDocument.Parse(l); return j.RootElement.GetProperty("step").GetInt64(); }).ToList();
        Assert.Equal(Enumerable.Range(1, total).SelectMany(s => Enumerable.Repeat((long)s, linesPerStep)), steps); // each step once, in order
        Assert.Equal(expected.Length, resumed.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(expected[i] == resumed[i], $"line {i + 1} (step {steps[i]}) differs from the uninterrupted run's");
        Assert.Equal(File.ReadAllBytes(Path.Combine(outB, "rollouts.jsonl")), File.ReadAllBytes(logA));
    }

    [SkippableFact]
    public void UnderMpirun_RankZeroWritesBothRanksRollouts()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var d = new TempDir();
        string log = Path.Combine(d.Path, "rollouts.jsonl");
        var args = RlaifArgs(d.Path, log, "cispo", 2).Concat(new[] { "--accumulation-steps", "1" }).ToArray();
        var o = MpiRun.Start(new[] { args, args }).Finish();
        Assert.Contains("data parallel: world size 2", o);
        var lines = Lines(log);
        var losses = StepLosses(Path.Combine(d.Path, "checkpoints", "grpo_32_metrics.jsonl"));
        Assert.Equal(2 * 2 * 2, lines.Count); // 2 steps x 2 ranks x batch 2, each once
        for (int step = 1; step <= 2; step++)
        {
            var s = lines.Where(l => l.GetProperty("step").GetInt64() == step).ToList();
            Assert.Equal(new[] { 0, 0, 1, 1 }, s.Select(l => l.GetProperty("rank").GetInt32()));
            Assert.Equal(new long[] { 2 * step - 2, 2 * step - 2, 2 * step - 1, 2 * step - 1 }, s.Select(l => l.GetProperty("micro_batch").GetInt64()));
            Assert.Equal(4, s.Select(l => l.GetProperty("sample").GetInt32()).Distinct().Count());
            // rank 1's lines carry its own micro-batch: the step's loss is the mean of both ranks' (float64, rank order)
            var mb = s.Where(l => l.GetProperty("index").GetInt32() == 0).Select(l => l.GetProperty("micro_batch_loss").GetSingle()).ToArray();
            Assert.Equal(losses[step], (float)((mb[0] + (double)mb[1]) / 2));
        }
    }
}
