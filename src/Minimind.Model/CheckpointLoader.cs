using Minimind.Checkpoint;

namespace Minimind.Model;

/// <summary>
/// Loads an opened checkpoint (<see cref="CheckpointSource"/>) into a model: the strict load (every parameter
/// filled, every file key used, shapes equal) or, asked for explicitly, a partial one; and the note about a tied
/// head whose two stored copies differ, said once per load.
/// </summary>
public static class CheckpointLoader
{
    /// <summary>Loads <paramref name="source"/> into <paramref name="model"/>; throws a <see cref="StateDictLoadException"/>
    /// naming the keys when <paramref name="strict"/> and they do not match. Notes go to <paramref name="notes"/>.</summary>
    public static LoadReport Load(MiniMindModel model, CheckpointSource source, TextWriter notes, bool strict = true)
    {
        var report = model.LoadStateDict(source.Weights, strict);
        Note(model.Config, source, notes);
        return report;
    }

    /// <summary>Writes the tied-copies note (<see cref="CheckpointShapes.TiedCopiesNote"/>) when there is one, once per source.</summary>
    public static void Note(ModelConfig config, CheckpointSource source, TextWriter notes)
    {
        if (CheckpointShapes.TiedCopiesNote(config, source.Weights) is { } note && source.NotesSaid.Add(note)) notes.WriteLine("note: " + note);
    }
}
