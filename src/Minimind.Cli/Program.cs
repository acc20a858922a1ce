namespace Minimind.Cli;

/// <summary>Entry point of the <c>minimind</c> command: dispatches to one <see cref="ICommand"/>.</summary>
public static class Program
{
    /// <summary>Every command, in the order --help lists them. Add new commands here.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } = new ICommand[]
    {
        // Commands live in Commands/<Name>Command.cs, one per file.
        new Commands.InspectCommand(),
        new Commands.ConvertCommand(),
        new Commands.TokenizeCommand(),
        new Commands.TrainTokenizerCommand(),
        new Commands.KernelsCommand(),
        new Commands.TrainCommand(),
        new Commands.BenchCommand(),
        new Commands.PlotCommand(),
        new Commands.GenerateCommand(),
        new Commands.ChatCommand(),
        new Commands.ServeCommand(),
        new Commands.EvalCommand(),
    };

    /// <summary>Runs <c>minimind</c> with the given arguments; returns the exit code.</summary>
    public static int Main(string[] args)
    {
        // Under mpirun a rank's output is a pseudo-terminal that mpirun forwards into its own output (a file, a pipe): .NET's
        // console streams would set that "terminal" up on their first write (keypad-mode escapes); file streams on the same
        // descriptors write the text alone.
        if (Training.Distributed.GradientTransport.UnderMpirun())
        {
            Console.SetOut(PlainWriter(1));
            Console.SetError(PlainWriter(2));
        }
        // "minimind help train" is "minimind train --help"
        if (args.Length > 1 && args[0] == "help") args = args.Skip(1).Append("--help").ToArray();
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            PrintOverview(args.Length == 0 ? Console.Error : Console.Out);
            return args.Length == 0 ? 2 : 0;
        }
        var cmd = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (cmd is null)
        {
            Console.Error.WriteLine($"minimind: unknown command '{args[0]}'{Suggest.Nearest(args[0], Commands.Select(c => c.Name), " (did you mean '{0}'?)")}. Run 'minimind --help' for the list.");
            return 2;
        }
        try
        {
            // A sub-command (kernels check, bench train) has its own table.
            var table = cmd.Options;
            if (args.Length > 1 && table?.Sub(args[1]) is { } sub) table = sub;
            if (args.Skip(1).Any(a => a is "--help" or "-h")) { Console.Out.WriteLine((ReferenceEquals(table, cmd.Options) ? cmd.HelpFor(args.Skip(1).ToArray()) : null) ?? table?.RenderHelp() ?? cmd.Help); return 0; }
            var parser = new ArgParser(args.Skip(1), table);
            return cmd.Run(parser);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"minimind {cmd.Name}: {e.Message}");
            Console.Error.WriteLine($"Run 'minimind {cmd.Name} --help' for usage.");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or KeyNotFoundException or NotSupportedException
            or DllNotFoundException or Minimind.Kernels.Distributed.MpiException)
        {
            Console.Error.WriteLine($"minimind {cmd.Name}: error: {e.Message}");
            return 1;
        }
        // A bad environment setting read in a static initialiser (MINIMIND_CPU_ISA, MINIMIND_CPU_EMULATE_AVX512) arrives wrapped.
        catch (TypeInitializationException e) when (e.InnerException is ArgumentException inner)
        {
            Console.Error.WriteLine($"minimind {cmd.Name}: error: {inner.Message}");
            return 1;
        }
    }

    private static TextWriter PlainWriter(int fd) =>
        new StreamWriter(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, 1)) { AutoFlush = true };

    private static void PrintOverview(TextWriter w)
    {
        w.WriteLine("minimind - train and run MiniMind language models in C# (no Python, no libtorch)");
        w.WriteLine();
        w.WriteLine("Usage: minimind <command> [options]     (minimind <command> --help for details)");
        w.WriteLine();
        foreach (var c in Commands) w.WriteLine($"  {c.Name,-10} {c.Summary}");
    }
}
