namespace Minimind.Cli.Stages;

/// <summary>A <c>train</c> option whose default depends on the <c>--stage</c> (and on the built-in run), untyped for --help.</summary>
public interface IStageDefault
{
    /// <summary>The option.</summary>
    CliOption Option { get; }
    /// <summary>The default as --help shows it for <paramref name="stage"/> ("2; built-in run: 3").</summary>
    string Shown(StageRecipe stage);
}

/// <summary>
/// The one place that says which recipe field an option's default comes from: binding (<see cref="Pick"/>) and the
/// per-stage --help (<see cref="Shown"/>) both read it.
/// </summary>
public sealed class StageDefault<T> : IStageDefault
{
    private readonly Func<StageRecipe, T> _stage;
    private readonly Func<StageRecipe, T> _demo;

    /// <summary><paramref name="stage"/> gives the stage's default, <paramref name="demo"/> the built-in run's (else the option's
    /// built-in-run default, whatever the stage).</summary>
    public StageDefault(CliOption<T> option, Func<StageRecipe, T> stage, Func<StageRecipe, T>? demo = null)
    {
        Option = option; _stage = stage;
        _demo = demo ?? (_ => option.DefaultIn(new[] { TrainStages.BuiltinRun }));
    }

    /// <inheritdoc cref="IStageDefault.Option"/>
    public CliOption<T> Option { get; }
    CliOption IStageDefault.Option => Option;

    /// <summary>The value given, else the built-in run's or the stage's default.</summary>
    public T Pick(ArgParser args, StageRecipe stage, bool builtin) => args.Has(Option) ? args.Get(Option) : builtin ? _demo(stage) : _stage(stage);

    /// <inheritdoc/>
    public string Shown(StageRecipe stage)
    {
        string s = CliOption.Format(_stage(stage)), d = CliOption.Format(_demo(stage));
        return s == d ? s : $"{s}; {TrainStages.BuiltinRun}: {d}";
    }
}
