using System.Globalization;
using Minimind.Model.Text;

namespace Minimind.Training.Rl.Logging;

/// <summary>Which MiniMind script's <c>--debug_mode</c> print a stage reproduces.</summary>
public enum RolloutConsoleForm
{
    /// <summary>train_grpo.py: per prompt its context, then each generation's response and reward.</summary>
    Grpo,
    /// <summary>train_ppo.py: per prompt its context, prompt and response lengths, its one response and reward.</summary>
    Ppo,
}

/// <summary>
/// MiniMind's human-readable rollout print (<c>--debug_mode --debug_interval N</c> of train_grpo.py and train_ppo.py),
/// line for line: the same banners, indices per micro-batch and rewards to four decimals.
/// </summary>
public static class RolloutConsole
{
    private static string Bar(int n) => new('=', n);

    /// <summary>Prints <paramref name="batch"/> of optimizer step <paramref name="step"/> in <paramref name="form"/>.</summary>
    public static void Write(TextWriter w, long step, RolloutBatchRecord batch, RolloutConsoleForm form)
    {
        for (int i = 0; i < batch.Prompts.Count; i++)
        {
            var p = batch.Prompts[i];
            w.WriteLine($"[DEBUG] step={step}, sample[{i}]");
            w.WriteLine(new string('-', 100));
            w.WriteLine($"{Bar(30)} [DEBUG] sample[{i}] CONTEXT_BEGIN {Bar(30)}");
            w.WriteLine(p.PromptText);
            w.WriteLine($"{Bar(31)} [DEBUG] sample[{i}] CONTEXT_END {Bar(31)}");
            if (form == RolloutConsoleForm.Ppo)
            {
                var c = p.Completions[0];
                w.WriteLine($"[DEBUG] prompt_len={p.PromptIds.Length}, response_len={PythonText.Length(c.Text)}");
                w.WriteLine($"{Bar(28)} [DEBUG] sample[{i}] RESPONSE_BEGIN {Bar(28)}");
                w.WriteLine(c.Text);
                w.WriteLine($"{Bar(29)} [DEBUG] sample[{i}] RESPONSE_END {Bar(29)}");
                w.WriteLine($"[DEBUG] reward={Reward(c.Reward)}");
            }
            else
                for (int j = 0; j < p.Completions.Count; j++)
                {
                    w.WriteLine($"{Bar(28)} [DEBUG] gen[{j}] RESPONSE_BEGIN {Bar(28)}");
                    w.WriteLine(p.Completions[j].Text);
                    w.WriteLine($"{Bar(29)} [DEBUG] gen[{j}] RESPONSE_END {Bar(29)}");
                    w.WriteLine($"[DEBUG] gen[{j}] reward={Reward(p.Completions[j].Reward)}");
                }
            w.WriteLine(Bar(100));
        }
    }

    // Python's f"{x:.4f}" of the float32 reward (.item() widens it to a double).
    private static string Reward(float r) => ((double)r).ToString("F4", CultureInfo.InvariantCulture);
}
