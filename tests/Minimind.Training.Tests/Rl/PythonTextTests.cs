using Minimind.Model.Text;
using System.Text;
using Minimind.Training.Rl;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// <see cref="PythonText"/> against Python's own answers for every code point Python 3.11 assigns (Unicode 14):
/// re's \w and \s, str.lower(), and the final-sigma rule's case-ignorable and cased properties, probed through
/// str.lower() by tools/rl/make_fixtures.py (tests/fixtures/rl/unicode.json).
/// </summary>
public class PythonTextTests
{
    private static readonly System.Text.Json.JsonDocument Doc = RlFixtures.Load("unicode.json");

    // Code points whose Unicode data changed after Python 3.11's Unicode 14 (.NET follows a later version):
    // U+1171E AHOM CONSONANT SIGN MEDIAL RA, Mn in Unicode 14, Mc since Unicode 15.
    private static readonly HashSet<int> ChangedSinceUnicode14 = new() { 0x1171E };

    private static IEnumerable<int> Assigned()
    {
        var assigned = RlFixtures.Ranges(Doc.RootElement.GetProperty("assigned"));
        for (int cp = 0; cp < 0x110000; cp++) if (assigned(cp) && !ChangedSinceUnicode14.Contains(cp)) yield return cp;
    }

    private static void AllEqual(string what, Func<int, bool> python, Func<int, bool> ours)
    {
        var bad = Assigned().Where(cp => python(cp) != ours(cp)).ToList();
        Assert.True(bad.Count == 0, $"{what} differs from Python on {bad.Count} code points: " +
            string.Join(", ", bad.Take(20).Select(cp => $"U+{cp:X4} (python {python(cp)})")));
    }

    [Fact]
    public void WordCharactersAreRes() => AllEqual("\\w", RlFixtures.Ranges(Doc.RootElement.GetProperty("word")), PythonText.IsWord);

    [Fact]
    public void SpacesAreRes() => AllEqual("\\s", RlFixtures.Ranges(Doc.RootElement.GetProperty("space")), PythonText.IsSpace);

    [Fact]
    public void CaseIgnorableMatchesFinalSigmaProbe() =>
        AllEqual("case-ignorable", RlFixtures.Ranges(Doc.RootElement.GetProperty("case_ignorable")), cp => cp != 0x3A3 && PythonText.IsCaseIgnorable(cp));

    [Fact]
    public void CasedMatchesFinalSigmaProbe() =>
        AllEqual("cased", RlFixtures.Ranges(Doc.RootElement.GetProperty("cased")), cp => cp != 0x3A3 && !PythonText.IsCaseIgnorable(cp) && PythonText.IsCased(cp));

    [Fact]
    public void LowerOfEveryCodePointIsPythons()
    {
        var map = Doc.RootElement.GetProperty("lower").EnumerateObject()
            .ToDictionary(p => int.Parse(p.Name), p => string.Concat(p.Value.EnumerateArray().Select(c => char.ConvertFromUtf32(c.GetInt32()))));
        var bad = new List<string>();
        foreach (int cp in Assigned())
        {
            if (cp == 0x3A3 || cp is >= 0xD800 and <= 0xDFFF) continue;
            string s = char.ConvertFromUtf32(cp);
            string expected = map.TryGetValue(cp, out var l) ? l : s;
            string got = PythonText.Lower(s);
            if (got != expected) bad.Add($"U+{cp:X4} -> {Hex(got)}, python {Hex(expected)}");
        }
        Assert.True(bad.Count == 0, $"{bad.Count} differences: " + string.Join("; ", bad.Take(20)));
    }

    [Theory]
    [InlineData("ΟΔΟΣ", "οδος")]
    [InlineData("ΣΟΦΙΑ ΣΟΦΙΑ.", "σοφια σοφια.")]
    [InlineData("AΣ", "aς")]
    [InlineData("Σ", "σ")]
    [InlineData("AΣ.", "aς.")]
    [InlineData("AΣ.B", "aσ.b")]
    [InlineData("A\u0301Σ", "a\u0301ς")]
    [InlineData("İx", "i\u0307x")]
    public void LowerHandlesContext(string s, string expected) => Assert.Equal(expected, PythonText.Lower(s));

    [Fact]
    public void FindallSplitsWordsAndSymbols()
    {
        // hand-derived from Python's rules: \w+ runs (letters, digits incl. ², ½, _), each other non-space alone
        Assert.Equal(new[] { "x²", "½cup", "<", "/", "think", ">", "😀", "e", "\u0301", "clair", "中文", "，" },
            PythonText.WordsAndSymbols("x² ½cup</think>😀 e\u0301clair\u001f中文，"));
        Assert.Equal(2, PythonText.Length("😀a"));
        Assert.Equal("a b", PythonText.Strip("\u001c\u3000a b\u0085 "));
        Assert.Equal(1, PythonText.Length("\ud800"));
        Assert.Equal(new[] { "\ud800" }, PythonText.WordsAndSymbols("\ud800"));
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => $"U+{r.Value:X4}"));
}
