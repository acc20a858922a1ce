using System.Globalization;
using Minimind.Model.Chat.Jinja;
using Minimind.Model.Text;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Logging;

/// <summary>Which MiniMind script's <c>--debug_mode</c> print a stage reproduces.</summary>
public enum RolloutConsoleForm
{
    /// <summary>train_grpo.py: per prompt its context, then each generation's response and reward.</summary>
    Grpo,
    /// <summary>train_ppo.py: per prompt its context, prompt and response lengths, its one response and reward.</summary>
    Ppo,
    /// <summary>train_agent.py: per row its ground truth, then each rollout's final context, packed span and reward.</summary>
    Agent,
}

/// <summary>
/// MiniMind's human-readable rollout print (<c>--debug_mode --debug_interval N</c> of train_grpo.py, train_ppo.py and train_agent.py),
/// line for line: the same banners, indices per micro-batch and rewards to four decimals.
/// </summary>
public static class RolloutConsole
{
    private static string Bar(int n) => new('=', n);

    /// <summary>Prints <paramref name="batch"/> of optimizer step <paramref name="step"/> in <paramref name="form"/>.</summary>
    public static void Write(TextWriter w, long step, RolloutBatchRecord batch, RolloutConsoleForm form)
    {
        if (form == RolloutConsoleForm.Agent) { WriteAgent(w, step, batch); return; }
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

    // train_agent.py's block: the '=' * 100 closes every rollout, not every row.
    private static void WriteAgent(TextWriter w, long step, RolloutBatchRecord batch)
    {
        for (int i = 0; i < batch.Prompts.Count; i++)
        {
            var p = batch.Prompts[i];
            w.WriteLine($"[DEBUG] step={step}, gt[{i}]: {PyFormat.Repr(p.GroundTruth?.Select(Jinja).ToList() ?? new List<object?>())}");
            w.WriteLine(new string('-', 100));
            for (int j = 0; j < p.Completions.Count; j++)
            {
                var c = p.Completions[j];
                var v = c.AgentDebug ?? throw new InvalidOperationException("an agent rollout record without its debug view");
                w.WriteLine($"{Bar(30)} [DEBUG] gen[{i}][{j}] CONTEXT_BEGIN {Bar(30)}");
                w.WriteLine(v.Context);
                w.WriteLine($"{Bar(31)} [DEBUG] gen[{i}][{j}] CONTEXT_END {Bar(31)}");
                w.WriteLine($"[DEBUG] gen[{i}][{j}] prompt_len={v.PromptLen}, seq_len={v.SeqLen}");
                w.WriteLine($"{Bar(28)} [DEBUG] gen[{i}][{j}] COMPLETION_BEGIN [{v.PromptLen}:{v.SeqLen}] {Bar(28)}");
                w.WriteLine(v.Completion);
                w.WriteLine($"{Bar(29)} [DEBUG] gen[{i}][{j}] COMPLETION_END {Bar(29)}");
                w.WriteLine($"[DEBUG] gen[{i}][{j}] reward={Reward(c.Reward)}");
                w.WriteLine(Bar(100));
            }
        }
    }

    // A parsed gt item as the template engine's values, whose repr() is Python's.
    private static object? Jinja(PyValue v) => v switch
    {
        PyNone => null,
        PyBool b => b.Value,
        PyInt n => n.Value >= long.MinValue && n.Value <= long.MaxValue ? (long)n.Value : (double)n.Value,
        PyFloat f => f.Value,
        PyStr s => s.Value,
        PyList l => l.Items.Select(Jinja).ToList(),
        PyDict d => new OrderedDictionary<string, object?>(d.Items.Select(kv => new KeyValuePair<string, object?>(kv.Key, Jinja(kv.Value)))),
        _ => throw new ArgumentException($"a gt item of type {v.GetType().Name}"),
    };

    // Python's f"{x:.4f}" of the float32 reward (.item() widens it to a double).
    private static string Reward(float r) => ((double)r).ToString("F4", CultureInfo.InvariantCulture);
}
