using System.Text;

namespace Minimind.Model.Evaluation;

/// <summary>
/// A comma-separated file with a header row, read as the benchmarks' csv files are written (RFC 4180: fields in
/// double quotes may hold commas, line breaks and doubled quotes; a UTF-8 byte-order mark is skipped). Every cell
/// stays a string. Errors name the file and line.
/// </summary>
public sealed class CsvTable
{
    /// <summary>The file it came from.</summary>
    public string Path { get; }
    /// <summary>Column names, in file order.</summary>
    public IReadOnlyList<string> Header { get; }
    /// <summary>Data rows (as many cells as the header).</summary>
    public IReadOnlyList<string[]> Rows { get; }
    /// <summary>The line each data row starts on (1-based), for error messages.</summary>
    public IReadOnlyList<int> RowLines { get; }

    private CsvTable(string path, string[] header, List<string[]> rows, List<int> lines) { Path = path; Header = header; Rows = rows; RowLines = lines; }

    /// <summary>Reads <paramref name="path"/>; throws naming the file and line for an unterminated quote or a row of the wrong width.</summary>
    public static CsvTable Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"csv file not found: {path}", path);
        string text = File.ReadAllText(path, new UTF8Encoding(false, true));
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var records = new List<(int Line, string[] Cells)>();
        var cells = new List<string>();
        var cell = new StringBuilder();
        int line = 1, recordLine = 1, i = 0;
        bool inQuotes = false, any = false;
        while (i < text.Length)
        {
            char c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i += 2; continue; }
                    inQuotes = false; i++; continue;
                }
                if (c == '\n') line++;
                cell.Append(c); i++; continue;
            }
            switch (c)
            {
                case '"' when cell.Length == 0:
                    inQuotes = true; any = true; i++; break;
                case ',':
                    cells.Add(cell.ToString()); cell.Clear(); any = true; i++; break;
                case '\r' or '\n':
                    if (any || cell.Length > 0) { cells.Add(cell.ToString()); records.Add((recordLine, cells.ToArray())); }
                    cells.Clear(); cell.Clear(); any = false;
                    i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                    line++; recordLine = line;
                    break;
                default:
                    cell.Append(c); any = true; i++; break;
            }
        }
        if (inQuotes) throw new InvalidDataException($"{path}:{recordLine}: a quoted field is not closed before the end of the file");
        if (any || cell.Length > 0) { cells.Add(cell.ToString()); records.Add((recordLine, cells.ToArray())); }
        if (records.Count == 0) throw new InvalidDataException($"{path}: empty csv file (no header row)");
        var header = records[0].Cells;
        var rows = new List<string[]>();
        var lines = new List<int>();
        foreach (var (ln, r) in records.Skip(1))
        {
            if (r.Length != header.Length)
                throw new InvalidDataException($"{path}:{ln}: {r.Length} fields, the header has {header.Length} ({string.Join(",", header)})");
            rows.Add(r); lines.Add(ln);
        }
        return new CsvTable(path, header, rows, lines);
    }

    /// <summary>The index of column <paramref name="name"/>; throws naming the file and the columns it has.</summary>
    public int Column(string name)
    {
        for (int i = 0; i < Header.Count; i++) if (Header[i] == name) return i;
        throw new InvalidDataException($"{Path}: no column '{name}' (the header has: {string.Join(", ", Header.Select(h => h.Length == 0 ? "(unnamed)" : h))})");
    }
}
