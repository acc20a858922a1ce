using System.Diagnostics;

namespace Minimind.Kernels.Ilgpu;

/// <summary>Problem sizes of the kernel check/bench suite.</summary>
public sealed record KernelSizes(string Name, int Batch, int SeqLen, int Dim, int Heads, int KvHeads, int Hidden, int Vocab, int Experts, int TopK)
{
    /// <summary>Head width.</summary>
    public int HeadDim => Dim / Heads;
    /// <summary>Token rows B·T.</summary>
    public int Rows => Batch * SeqLen;

    /// <summary>minimind-v1-like training step: dim 512, 16 heads, 8 kv heads, T 512, batch 16, FFN 1408, vocab 6400.</summary>
    public static KernelSizes V1 { get; } = new("v1", 16, 512, 512, 16, 8, 1408, 6400, 4, 2);
    /// <summary>minimind3-like training step: dim 768, 8 heads, 4 kv heads (head dim 96), T 1024, batch 16, FFN 2432, vocab 6400.</summary>
    public static KernelSizes M3 { get; } = new("m3", 16, 1024, 768, 8, 4, 2432, 6400, 4, 1);
    /// <summary>Tiny sizes for ILGPU's CPU simulator.</summary>
    public static KernelSizes Small { get; } = new("small", 2, 16, 64, 4, 2, 96, 128, 4, 2);

    /// <summary>Looks a size set up by name ("small", "v1" or "m3").</summary>
    public static KernelSizes Parse(string name) => name switch
    {
        "v1" => V1,
        "m3" => M3,
        "small" => Small,
        _ => throw new ArgumentException($"--sizes '{name}' is not one of: small, v1, m3"),
    };

    /// <summary>
    /// The distinct nn.Linear shapes of one transformer step at these sizes, as (name, N = out features, K = in
    /// features) with M = <see cref="Rows"/>: q/o projections, k/v projections, FFN gate/up, FFN down, LM head.
    /// Shapes that coincide (q and o when heads·head dim = dim) are listed once under a joined name.
    /// </summary>
    public IReadOnlyList<(string Name, int N, int K)> Linears()
    {
        var all = new (string Name, int N, int K)[]
        {
            ("q", Heads * HeadDim, Dim), ("k/v", KvHeads * HeadDim, Dim), ("o", Dim, Heads * HeadDim),
            ("gate/up", Hidden, Dim), ("down", Dim, Hidden), ("lm_head", Vocab, Dim),
        };
        return all.GroupBy(l => (l.N, l.K)).Select(g => (string.Join("/", g.Select(l => l.Name)), g.Key.N, g.Key.K)).ToList();
    }
}

/// <summary>One op of the suite, set up on one backend: run it, read its outputs, and how much work one run is.</summary>
public sealed class KernelCase
{
    /// <summary>Op name as in <see cref="IBackend"/>.</summary>
    public required string Name { get; init; }
    /// <summary>Launches the op once (asynchronously on devices).</summary>
    public required Action Run { get; init; }
    /// <summary>Downloads the outputs (after one <see cref="Run"/> they are comparable across backends).</summary>
    public required Func<IReadOnlyList<(string Name, float[] Values)>> Read { get; init; }
    /// <summary>Floating-point operations per run (0 when the op is memory-bound).</summary>
    public double Flops { get; init; }
    /// <summary>Bytes moved per run (the minimum: every input read and every output written once).</summary>
    public double Bytes { get; init; }
    /// <summary>Problem shape for the tables (GEMMs: "MxNxK"), or null.</summary>
    public string? Shape { get; init; }
    /// <summary>The op's operand precision: the suite's for matmul/attention/decode/KV append, float32 for the rest.</summary>
    public Precision Precision { get; init; }
}

/// <summary>
/// Every <see cref="IBackend"/> op at one size set, with inputs drawn from a seed so that two backends given the
/// same seed compute the same problem (<c>minimind kernels check</c> compares them; <c>bench</c> times them).
/// Inputs that decide control flow (top-k indices, routing) are computed on the host, so both backends route alike.
/// The ops whose shapes carry a <see cref="Precision"/> (matmul, attention, decode, KV-cache append) run at
/// <c>precision</c>; every other op is float32 whatever the precision, as in the model.
/// </summary>
public static class KernelSuite
{
    /// <summary>
    /// The default --tol of `kernels check` (max relative error): both backends round the same operands bit-alike, so only
    /// float32 accumulation order differs (measured ≤ 3e-7 on the simulator) at any dtype; 1e-4, but 2e-5 at fp16, whose
    /// rounding moves outputs by only ~7e-5 to 5e-4, so that a device skipping the fp16 rounding still fails.
    /// </summary>
    public static double DefaultTolerance(Precision p) => p == Precision.Fp16 ? 2e-5 : 1e-4;

    /// <summary>Builds the cases on <paramref name="b"/> at <paramref name="precision"/> (allocates and uploads all inputs).</summary>
    public static List<KernelCase> Build(IBackend b, KernelSizes s, int seed = 1234, Precision precision = Precision.Fp32)
    {
        var rng = new Random(seed);
        float[] Rand(long n, float lo = -1, float hi = 1)
        {
            var a = new float[n];
            for (long i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)rng.NextDouble();
            return a;
        }
        Tensor Up(float[] a) { var t = b.Alloc(a.Length); b.Upload(t, a); return t; }
        IntTensor UpI(int[] a) { var t = b.AllocInt(a.Length); b.Upload(t, a); return t; }
        float[] Get(Tensor t) { var a = new float[t.Length]; b.Download(t, a); return a; }
        float[] GetI(IntTensor t) { var a = new int[t.Length]; b.Download(t, a); return Array.ConvertAll(a, x => (float)x); }

        int R = s.Rows, D = s.Dim, F = s.Hidden, V = s.Vocab, H = s.Heads, Hk = s.KvHeads, hd = s.HeadDim, T = s.SeqLen, B = s.Batch;
        int E = s.Experts, K = s.TopK;
        long qn = (long)R * H * hd, kn = (long)R * Hk * hd;
        var cases = new List<KernelCase>();
        void Add(string name, Action run, Func<IReadOnlyList<(string, float[])>> read, double flops = 0, double bytes = 0, string? shape = null,
            Precision prec = Precision.Fp32) =>
            cases.Add(new KernelCase { Name = name, Run = run, Read = read, Flops = flops, Bytes = bytes, Shape = shape, Precision = prec });

        // ---- elementwise ----
        Tensor ea = Up(Rand((long)R * D)), eb = Up(Rand((long)R * D)), ey = b.Alloc((long)R * D), ez = Up(Rand((long)R * D));
        Add("Add", () => b.Add(ey, ea, eb), () => new[] { ("y", Get(ey)) }, bytes: 12.0 * R * D);
        Add("AddInPlace", () => b.AddInPlace(ez, ea), () => new[] { ("y", Get(ez)) }, bytes: 12.0 * R * D);
        Tensor es = Up(Rand((long)R * D));
        Add("Scale", () => b.Scale(es, 0.999f), () => new[] { ("y", Get(es)) }, bytes: 8.0 * R * D);
        Tensor ec = b.Alloc((long)R * D);
        Add("Copy", () => b.Copy(ec, ea), () => new[] { ("dst", Get(ec)) }, bytes: 8.0 * R * D);
        Tensor ef = b.Alloc((long)R * D);
        Add("Fill", () => b.Fill(ef, 0.5f), () => new[] { ("t", Get(ef)) }, bytes: 4.0 * R * D);

        // ---- matmul: every distinct nn.Linear shape of the model in its three layouts (forward, dx, dW) ----
        foreach (var (lin, N, Kin) in s.Linears())
        {
            Tensor mx = Up(Rand((long)R * Kin)), mw = Up(Rand((long)N * Kin, -0.05f, 0.05f)), my = b.Alloc((long)R * N);
            Tensor mdy = Up(Rand((long)R * N)), mdx = Up(Rand((long)R * Kin)), mdw = Up(Rand((long)N * Kin));
            var g = new GemmShape(R, N, Kin, precision);
            double mmFlops = 2.0 * R * N * Kin;
            string shape = $"{R}x{N}x{Kin}";
            Add($"MatMul({lin})", () => b.MatMul(my, mx, mw, g), () => new[] { ("y", Get(my)) }, mmFlops, shape: shape, prec: precision);
            Add($"MatMulBackwardInput({lin})", () => b.MatMulBackwardInput(mdx, mdy, mw, g, WriteMode.Accumulate), () => new[] { ("dx", Get(mdx)) }, mmFlops, shape: shape, prec: precision);
            Add($"MatMulBackwardWeight({lin})", () => b.MatMulBackwardWeight(mdw, mdy, mx, g, WriteMode.Accumulate), () => new[] { ("dw", Get(mdw)) }, mmFlops, shape: shape, prec: precision);
        }

        // ---- embedding ----
        var idsHost = new int[R];
        for (int i = 0; i < R; i++) idsHost[i] = rng.Next(V);
        IntTensor ids = UpI(idsHost);
        Tensor table = Up(Rand((long)V * D)), emb = b.Alloc((long)R * D), dTable = Up(Rand((long)V * D)), edy = Up(Rand((long)R * D));
        Add("Embedding", () => b.Embedding(emb, ids, table, new(R, D)), () => new[] { ("y", Get(emb)) }, bytes: 8.0 * R * D);
        Add("EmbeddingBackward", () => b.EmbeddingBackward(dTable, edy, ids, new(R, D)), () => new[] { ("dTable", Get(dTable)) }, bytes: 12.0 * R * D);

        // ---- RMSNorm ----
        Tensor nx = Up(Rand((long)R * D, -2, 2)), nw = Up(Rand(D, 0.5f, 1.5f)), ny = b.Alloc((long)R * D), nr = b.Alloc(R);
        Tensor ndy = Up(Rand((long)R * D)), ndx = Up(Rand((long)R * D)), ndw = Up(Rand(D));
        Add("RmsNorm", () => b.RmsNorm(ny, nr, nx, nw, new(R, D), 1e-5f), () => new[] { ("y", Get(ny)), ("rstd", Get(nr)) }, bytes: 8.0 * R * D);
        b.RmsNorm(ny, nr, nx, nw, new(R, D), 1e-5f);
        Add("RmsNormBackward", () => b.RmsNormBackward(ndx, ndw, ndy, nx, nw, nr, new(R, D), WriteMode.Accumulate), () => new[] { ("dx", Get(ndx)), ("dWeight", Get(ndw)) },
            bytes: 16.0 * R * D);
        // The residual add fused with the norm that reads it (every block's forward).
        Tensor fb = Up(Rand((long)R * D)), fh = b.Alloc((long)R * D), fy = b.Alloc((long)R * D), fr = b.Alloc(R);
        Add("AddRmsNorm", () => b.AddRmsNorm(fh, fy, fr, nx, fb, nw, new(R, D), 1e-5f), () => new[] { ("h", Get(fh)), ("y", Get(fy)), ("rstd", Get(fr)) },
            bytes: 16.0 * R * D);

        // ---- RoPE ----
        int half = hd / 2;
        var cosH = new float[T * half]; var sinH = new float[T * half];
        for (int p = 0; p < T; p++)
            for (int i = 0; i < half; i++)
            {
                double ang = p * Math.Pow(1e6, -2.0 * i / hd);
                cosH[p * half + i] = (float)Math.Cos(ang); sinH[p * half + i] = (float)Math.Sin(ang);
            }
        Tensor cos = Up(cosH), sin = Up(sinH), rq = Up(Rand(qn)), rdq = Up(Rand(qn));
        Add("Rope", () => b.Rope(rq, cos, sin, new(B, T, H, hd, 0, RopeLayout.RotateHalf)), () => new[] { ("x", Get(rq)) }, bytes: 8.0 * qn);
        Add("RopeBackward", () => b.RopeBackward(rdq, cos, sin, new(B, T, H, hd, 0, RopeLayout.Interleaved)), () => new[] { ("dx", Get(rdq)) }, bytes: 8.0 * qn);
        // minimind3's per-head q/k norm fused with RoPE, and its backward (dy is rotated back in place).
        var qs = new RopeShape(B, T, H, hd, 0, RopeLayout.RotateHalf);
        Tensor qx = Up(Rand(qn, -2, 2)), qw = Up(Rand(hd, 0.5f, 1.5f)), qy = b.Alloc(qn), qr = b.Alloc((long)R * H);
        Add("RmsNormRope", () => b.RmsNormRope(qy, qr, qx, qw, cos, sin, qs, 1e-5f), () => new[] { ("y", Get(qy)), ("rstd", Get(qr)) }, bytes: 8.0 * qn);
        b.RmsNormRope(qy, qr, qx, qw, cos, sin, qs, 1e-5f);
        Tensor qdy = Up(Rand(qn)), qdx = Up(Rand(qn)), qdw = Up(Rand(hd));
        Add("RopeRmsNormBackward", () => b.RopeRmsNormBackward(new(qdx, qdw), qdy, new(qx, qw, qr), cos, sin, qs, WriteMode.Accumulate),
            () => new[] { ("dx", Get(qdx)), ("dWeight", Get(qdw)), ("dy", Get(qdy)) }, bytes: 16.0 * qn);

        // The same three with per-sequence start positions (decode batches; MiniMind's left-padded rows): half the rows,
        // the sequences' starts spread over [0, T − T/2].
        int th = Math.Max(1, T / 2);
        var startsH = new int[B];
        for (int i = 0; i < B; i++) startsH[i] = i * (T - th) / Math.Max(1, B - 1);
        IntTensor starts = UpI(startsH);
        long hn = (long)B * th * H * hd;
        var hs = new RopeShape(B, th, H, hd, 0, RopeLayout.Interleaved);
        Tensor sq = Up(Rand(hn));
        Add("Rope(rowStart)", () => b.Rope(sq, cos, sin, hs, starts), () => new[] { ("x", Get(sq)) }, bytes: 8.0 * hn);
        Tensor sx = Up(Rand(hn, -2, 2)), sy = b.Alloc(hn), sr = b.Alloc((long)B * th * H);
        var hsr = hs with { Layout = RopeLayout.RotateHalf };
        Add("RmsNormRope(rowStart)", () => b.RmsNormRope(sy, sr, sx, qw, cos, sin, hsr, 1e-5f, starts), () => new[] { ("y", Get(sy)), ("rstd", Get(sr)) }, bytes: 8.0 * hn);
        b.RmsNormRope(sy, sr, sx, qw, cos, sin, hsr, 1e-5f, starts);
        Tensor sdy = Up(Rand(hn)), sdx = Up(Rand(hn)), sdw = Up(Rand(hd));
        Add("RopeRmsNormBackward(rowStart)", () => b.RopeRmsNormBackward(new(sdx, sdw), sdy, new(sx, qw, sr), cos, sin, hsr, WriteMode.Accumulate, starts),
            () => new[] { ("dx", Get(sdx)), ("dWeight", Get(sdw)), ("dy", Get(sdy)) }, bytes: 16.0 * hn);

        // ---- attention ----
        Tensor aq = Up(Rand(qn, -2, 2)), ak = Up(Rand(kn, -2, 2)), av = Up(Rand(kn)), ao = b.Alloc(qn), alse = b.Alloc((long)B * H * T);
        double attnFlops = 4.0 * B * H * T * (T + 1) / 2.0 * hd;
        var at = new AttnShape(B, T, H, Hk, hd, precision);
        string attnShape = $"B{B} T{T} H{H}/{Hk} hd{hd}";
        Add("Attention", () => b.Attention(ao, alse, aq, ak, av, at), () => new[] { ("output", Get(ao)), ("lse", Get(alse)) }, attnFlops, shape: attnShape, prec: precision);
        b.Attention(ao, alse, aq, ak, av, at);
        Tensor adO = Up(Rand(qn)), adq = Up(Rand(qn)), adk = Up(Rand(kn)), adv = Up(Rand(kn));
        Add("AttentionBackward", () => b.AttentionBackward(new(adq, adk, adv), adO, new(aq, ak, av, ao, alse), at, WriteMode.Accumulate),
            () => new[] { ("dq", Get(adq)), ("dk", Get(adk)), ("dv", Get(adv)) }, 2.5 * attnFlops, shape: attnShape, prec: precision);
        // Decode: one new token per sequence after T-1 cached ones.
        int cap = T;
        Tensor kc = Up(Rand((long)B * cap * Hk * hd, -2, 2)), vc = Up(Rand((long)B * cap * Hk * hd)), dq1 = Up(Rand((long)B * H * hd, -2, 2));
        Tensor dout = b.Alloc((long)B * H * hd);
        Add("AttentionDecode", () => b.AttentionDecode(dout, dq1, kc, vc, new(B, 1, T - 1, cap, H, Hk, hd, precision)), () => new[] { ("output", Get(dout)) },
            bytes: 4.0 * 2 * B * cap * Hk * hd, prec: precision);
        Tensor nk = Up(Rand((long)B * Hk * hd)), nv = Up(Rand((long)B * Hk * hd));
        Add("KvCacheAppend", () => b.KvCacheAppend(kc, vc, nk, nv, new(B, 1, T - 1, cap, Hk, Hk, hd, precision)), () => new[] { ("kCache", Get(kc)), ("vCache", Get(vc)) },
            bytes: 16.0 * B * Hk * hd, prec: precision);

        // Paged decode (the rollout engine's cache): sequences of different lengths whose pages are scattered over a shared pool.
        int page = Math.Max(4, T / 4), perSeq = (T + page - 1) / page, poolPages = B * perSeq + 3;
        var lensH = new int[B];
        for (int i = 0; i < B; i++) lensH[i] = (T - 1) - i * (T - 1) / (2 * B);
        var shuffled = Enumerable.Range(0, poolPages).OrderBy(_ => rng.Next()).ToArray();
        var tableH = new int[B * perSeq];
        for (int i = 0; i < tableH.Length; i++) tableH[i] = shuffled[i];
        var kp = new KvPages(UpI(tableH), UpI(lensH), page, perSeq);
        long poolN = (long)poolPages * page * Hk * hd;
        Tensor pk = Up(Rand(poolN, -2, 2)), pv = Up(Rand(poolN)), pout = b.Alloc((long)B * H * hd);
        var ps = new DecodeShape(B, 1, 0, perSeq * page, H, Hk, hd, precision);
        Add("AttentionDecode(paged)", () => b.AttentionDecode(pout, dq1, pk, pv, ps, kp), () => new[] { ("output", Get(pout)) },
            bytes: 4.0 * 2 * B * T * Hk * hd, prec: precision);
        Add("KvCacheAppend(paged)", () => b.KvCacheAppend(pk, pv, nk, nv, ps with { Heads = Hk }, kp), () => new[] { ("kCache", Get(pk)), ("vCache", Get(pv)) },
            bytes: 16.0 * B * Hk * hd, prec: precision);

        // ---- SwiGLU ----
        long fn = (long)R * F;
        Tensor sg = Up(Rand(fn, -4, 4)), su = Up(Rand(fn)), sh = b.Alloc(fn), sdh = Up(Rand(fn)), sdg = Up(Rand(fn)), sdu = Up(Rand(fn));
        Add("SwiGlu", () => b.SwiGlu(sh, sg, su), () => new[] { ("h", Get(sh)) }, bytes: 12.0 * fn);
        Add("SwiGluBackward", () => b.SwiGluBackward(sdg, sdu, sdh, sg, su, WriteMode.Accumulate), () => new[] { ("dGate", Get(sdg)), ("dUp", Get(sdu)) }, bytes: 28.0 * fn);

        // ---- loss ----
        var tgtH = new int[R];
        for (int i = 0; i < R; i++) tgtH[i] = i % 7 == 3 ? -100 : rng.Next(V);
        IntTensor tg = UpI(tgtH);
        Tensor logits = Up(Rand((long)R * V, -4, 4)), losses = b.Alloc(R), rowScale = Up(Rand(R, 0, 1f / R)), dLogits = b.Alloc((long)R * V);
        Add("CrossEntropy", () => b.CrossEntropy(losses, logits, tg, new(R, V), -100), () => new[] { ("losses", Get(losses)) }, bytes: 4.0 * R * V);
        Add("CrossEntropyBackward", () => b.CrossEntropyBackward(dLogits, logits, tg, rowScale, new(R, V), -100), () => new[] { ("dLogits", Get(dLogits)) },
            bytes: 8.0 * R * V);
        // Both in one pass over the logits (the training loss).
        Tensor fLosses = b.Alloc(R), fdLogits = b.Alloc((long)R * V);
        Add("CrossEntropyForwardBackward", () => b.CrossEntropyForwardBackward(fLosses, fdLogits, logits, tg, rowScale, new(R, V), -100),
            () => new[] { ("losses", Get(fLosses)), ("dLogits", Get(fdLogits)) }, bytes: 8.0 * R * V);

        // ---- MoE routing (probs and top-k picks made on the host so both backends route identically) ----
        var gl = Rand((long)R * E, -3, 3);
        var probsH = new float[gl.Length];
        for (int r = 0; r < R; r++)
        {
            double mx2 = double.NegativeInfinity, se = 0;
            for (int e = 0; e < E; e++) mx2 = Math.Max(mx2, gl[r * E + e]);
            for (int e = 0; e < E; e++) se += Math.Exp(gl[r * E + e] - mx2);
            for (int e = 0; e < E; e++) probsH[r * E + e] = (float)(Math.Exp(gl[r * E + e] - mx2) / se);
        }
        var pickH = new int[R * K];
        for (int r = 0; r < R; r++)
        {
            var order = Enumerable.Range(0, E).OrderByDescending(e => probsH[r * E + e]).ThenBy(e => e).ToArray();
            for (int j = 0; j < K; j++) pickH[r * K + j] = order[j];
        }
        Tensor gLogits = Up(gl), probs = Up(probsH), smY = b.Alloc((long)R * E), smDy = Up(Rand((long)R * E)), smDx = Up(Rand((long)R * E));
        Add("Softmax", () => b.Softmax(smY, gLogits, new(R, E)), () => new[] { ("y", Get(smY)) }, bytes: 8.0 * R * E);
        Add("SoftmaxBackward", () => b.SoftmaxBackward(smDx, smDy, probs, new(R, E), WriteMode.Accumulate), () => new[] { ("dx", Get(smDx)) }, bytes: 16.0 * R * E);
        Tensor tkW = b.Alloc((long)R * K); IntTensor tkI = b.AllocInt((long)R * K);
        Add("TopK", () => b.TopK(tkW, tkI, probs, new(R, E, K), true), () => new[] { ("weights", Get(tkW)), ("indices", GetI(tkI)) }, bytes: 4.0 * R * (E + 2 * K));
        IntTensor picks = UpI(pickH);
        Tensor tkDw = Up(Rand((long)R * K)), tkDp = Up(Rand((long)R * E));
        Add("TopKBackward", () => b.TopKBackward(tkDp, tkDw, probs, picks, new(R, E, K), true, WriteMode.Accumulate), () => new[] { ("dProbs", Get(tkDp)) }, bytes: 4.0 * R * (2 * E + 2 * K));
        int n = R * K;
        IntTensor perm = b.AllocInt(n), inv = b.AllocInt(n);
        Add("MoeRoute", () => b.MoeRoute(perm, inv, picks, new(n, E)), () => new[] { ("perm", GetI(perm)), ("invPerm", GetI(inv)) }, bytes: 12.0 * n);
        b.MoeRoute(perm, inv, picks, new(n, E));
        Tensor gx = Up(Rand((long)R * D)), gxs = b.Alloc((long)n * D), gdxs = Up(Rand((long)n * D)), gdx = Up(Rand((long)R * D));
        Add("MoeGather", () => b.MoeGather(gxs, gx, perm, new(R, K, D)), () => new[] { ("xs", Get(gxs)) }, bytes: 8.0 * n * D);
        Add("MoeGatherBackward", () => b.MoeGatherBackward(gdx, gdxs, inv, new(R, K, D), WriteMode.Accumulate), () => new[] { ("dx", Get(gdx)) }, bytes: 4.0 * (n + 2.0 * R) * D);
        Tensor ceo = Up(Rand((long)n * D)), cw = Up(Rand(n, 0, 1)), cy = Up(Rand((long)R * D)), cdy = Up(Rand((long)R * D));
        Tensor cdeo = Up(Rand((long)n * D)), cdw = Up(Rand(n));
        Add("MoeCombine", () => b.MoeCombine(cy, ceo, cw, inv, new(R, K, D), WriteMode.Accumulate), () => new[] { ("y", Get(cy)) }, bytes: 4.0 * (n + 2.0 * R) * D);
        Add("MoeCombineBackward", () => b.MoeCombineBackward(cdeo, cdw, cdy, ceo, cw, inv, new(R, K, D), WriteMode.Accumulate), () => new[] { ("dExpertOut", Get(cdeo)), ("dWeights", Get(cdw)) },
            bytes: 4.0 * (3.0 * n + 2.0 * R) * D);
        Tensor auxD = Up(Rand((long)R * E));
        float auxLoss = 0;
        Add("MoeAuxLoss", () => auxLoss = b.MoeAuxLoss(auxD, probs, picks, new(B, T, E, K), 0.1f, AuxLossKind.SequenceLevel, 1f),
            () => new[] { ("loss", new[] { auxLoss }), ("dProbs", Get(auxD)) }, bytes: 8.0 * R * E);

        // ---- optimizer: a v1-sized parameter vector (~26M), small on the simulator sizes ----
        long pn = s.Name == "small" ? 10_007 : 25_830_000;
        Tensor op = Up(Rand(pn)), og = Up(Rand(pn)), om = Up(Rand(pn, -0.01f, 0.01f)), ov = Up(Rand(pn, 0, 1e-4f));
        double sumSq = 0;
        Add("SumOfSquares", () => sumSq = b.SumOfSquares(og), () => new[] { ("sum", new[] { (float)sumSq }) }, bytes: 4.0 * pn);
        Add("AdamW", () => b.AdamW(op, og, om, ov, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3, 0.5f), () => new[] { ("param", Get(op)), ("m", Get(om)), ("v", Get(ov)) },
            bytes: 28.0 * pn);
        return cases;
    }

    /// <summary>max|a − r| / max|r| over the arrays (0 when both are all zero; +∞ on NaN or a length mismatch).</summary>
    public static double MaxRelativeError(float[] actual, float[] reference)
    {
        if (actual.Length != reference.Length) return double.PositiveInfinity;
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], r = reference[i];
            if (double.IsNaN(a) != double.IsNaN(r)) return double.PositiveInfinity;
            if (double.IsNaN(a)) continue;
            maxDiff = Math.Max(maxDiff, Math.Abs(a - r));
            maxRef = Math.Max(maxRef, Math.Abs(r));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    /// <summary>Runs a case for at least <paramref name="minSeconds"/> (at most <paramref name="maxIterations"/> runs) after <paramref name="warmup"/> runs; returns seconds per run.</summary>
    public static double Time(IBackend b, KernelCase c, int warmup, double minSeconds, int maxIterations)
    {
        for (int i = 0; i < warmup; i++) c.Run();
        b.Synchronize();
        var sw = Stopwatch.StartNew();
        int iters = 0;
        do { c.Run(); iters++; if (iters % 4 == 0 || iters >= maxIterations) b.Synchronize(); }
        while (sw.Elapsed.TotalSeconds < minSeconds && iters < maxIterations);
        b.Synchronize();
        return sw.Elapsed.TotalSeconds / iters;
    }
}
