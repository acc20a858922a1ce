using System.Text.RegularExpressions;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Generation;
using Minimind.Model.Tests;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>`minimind chat` and `generate --chat` through the binary, against <see cref="ChatSession"/>.</summary>
public sealed class ChatCommandTests
{
    private static ModelConfig Small => ModelConfig.Preset("minimind2") with { Dim = 32, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 160 };
    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };

    [Fact]
    public void Chat_command_answers_each_stdin_line_and_reuses_the_cache()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            using var model = MiniMindModel.Create(Small, be, 1, Small.MaxSeqLen);
            model.InitRandom(3);
            var weights = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(weights, model.ExportStateDict());
            string[] arch = { "--arch", "minimind2", "--n-heads", "4", "--n-kv-heads", "2", "--max-seq-len", "160" };
            var (code, stdout, stderr) = CliProcess.Exec("hi\n\nwhat is 2 + 3?\n", new[] { "chat", "--weights", weights, "--tokenizer", "byte", "--greedy", "--max-new-tokens", "10", "--show-speed" }.Concat(arch).ToArray());
            Assert.True(code == 0, stderr);
            var lines = stdout.Split('\n');
            Assert.Equal(4, lines.Length); // one stdout line per input line (the empty one gets an empty reply), each ending in a newline
            Assert.Equal("", lines[1]);
            Assert.Contains("line 2: empty message", stderr);
            var speed = Regex.Matches(stderr, @"prompt: (\d+) tokens from the cache, (\d+) fed");
            Assert.Equal(2, speed.Count);
            Assert.Equal("0", speed[0].Groups[1].Value);
            Assert.True(int.Parse(speed[1].Groups[1].Value) >= int.Parse(speed[0].Groups[2].Value), stderr);

            // the reference: the session's replies for the same messages
            var session = new ChatSession(model, ChatFormat.Load("byte"), Greedy) { MaxNewTokens = 10 };
            var tok = ChatFormat.Load("byte").Tokenizer;
            Assert.Equal(tok.Decode(session.Reply("hi").ToArray(), skipSpecialTokens: true), lines[0]);
            Assert.Equal(tok.Decode(session.Reply("what is 2 + 3?").ToArray(), skipSpecialTokens: true), lines[2]);

            // generate --chat: the first turn alone
            var one = CliProcess.Exec("", new[] { "generate", "--weights", weights, "--tokenizer", "byte", "--greedy", "--max-new-tokens", "10", "--chat", "--prompt", "hi" }.Concat(arch).ToArray());
            Assert.True(one.code == 0, one.stderr);
            Assert.Equal(lines[0] + "\n", one.stdout);

            // a file that records its architecture and tokenizer (as the trainer writes) needs neither --tokenizer nor the shape flags
            var described = Path.Combine(dir, "described.pth");
            PthWriter.WriteStateDict(described, ArchitectureRecord.Attach(model.ExportStateDict(), model.Config, "byte"));
            var bare = CliProcess.Exec("hi\n\nwhat is 2 + 3?\n", "chat", "--weights", described, "--greedy", "--max-new-tokens", "10");
            Assert.True(bare.code == 0, bare.stderr);
            Assert.Equal(stdout, bare.stdout);
            var none = CliProcess.Exec("hi\n", new[] { "chat", "--weights", weights, "--greedy", "--max-new-tokens", "10" }.Concat(arch).ToArray());
            Assert.NotEqual(0, none.code);
            Assert.Contains("--tokenizer", none.stderr);
        }
        finally { Directory.Delete(dir, true); }
    }


    /// <summary>Piped input keeps one stdout line per input line: an empty line and a message over the context each get an
    /// empty reply and a note on stderr naming the line, and the session goes on to answer the next message as if they
    /// had not been sent (the reference is a fresh session's reply).</summary>
    [Fact]
    public void Chat_skips_empty_and_overlong_lines_with_a_note_and_keeps_the_session()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            using var model = MiniMindModel.Create(Small, be, 1, Small.MaxSeqLen);
            model.InitRandom(5);
            var weights = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(weights, ArchitectureRecord.Attach(model.ExportStateDict(), model.Config, "byte"));
            string longLine = new('a', 5000);
            var (code, stdout, stderr) = CliProcess.Exec($"{longLine}\n\nhi\n", "chat", "--weights", weights, "--greedy", "--max-new-tokens", "8");
            Assert.True(code == 0, stderr);
            Assert.Equal(4, stdout.Split('\n').Length); // three replies, each ending in a newline
            var lines = stdout.Split('\n');
            Assert.Equal("", lines[0]);
            Assert.Equal("", lines[1]);
            Assert.Contains("line 1: message not sent: the message needs", stderr);
            Assert.Contains("--max-seq-len", stderr);
            Assert.Contains("line 2: empty message, nothing sent", stderr);
            var session = new ChatSession(model, ChatFormat.Load("byte"), Greedy) { MaxNewTokens = 8 };
            Assert.Equal(ChatFormat.Load("byte").Tokenizer.Decode(session.Reply("hi").ToArray(), skipSpecialTokens: true), lines[2]);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>`chat &lt;&amp;-` (standard input closed) used to block forever on the runtime's own pipe; now it is a usage error
    /// that says what chat reads.</summary>
    [Fact]
    public async Task Chat_with_stdin_closed_is_refused_at_once()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            using var model = MiniMindModel.Create(Small, be, 1, Small.MaxSeqLen);
            var weights = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(weights, ArchitectureRecord.Attach(model.ExportStateDict(), model.Config, "byte"));
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec dotnet \"$0\" chat --weights \"$1\" --greedy <&-");
            psi.ArgumentList.Add(TestPaths.CliDll);
            psi.ArgumentList.Add(weights);
            using var p = System.Diagnostics.Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            Assert.True(p.WaitForExit(120_000), "chat with stdin closed did not exit");
            Assert.Equal(2, p.ExitCode);
            Assert.Contains("standard input is closed", await err);
        }
        finally { Directory.Delete(dir, true); }
    }
}
