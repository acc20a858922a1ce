"""Seeded texts that exercise MiniMind's rule reward and rep_penalty where an implementation can go wrong:
CJK and Latin words, astral emoji and ZWJ sequences, combining marks, Python's own \\w and \\s edges (superscripts,
fractions, Roman numerals, U+001C..U+001F, U+0085, U+3000), case mappings that are not 1:1 (U+0130, final sigma),
think blocks (none, one, several `</think>`, an unclosed one), repeated phrases, and lengths at the 5/20/300/800
boundaries of the length terms (counted in code points after strip()).
"""
import random

CJK = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域读"
LATIN = ["the", "cat", "sat", "on", "mat", "Hello", "WORLD", "naïve", "café", "straße", "İstanbul", "ıi", "ΣΟΦΙΑ", "ΟΔΟΣ",
         "Σίσυφος", "λόγος", "ΛΌΓΟΣ", "Ωμέγα", "ǅemal", "ﬁne", "ẞig", "Ǆ", "Привет", "МИР", "ДОБРЫЙ", "x_y", "__init__",
         "e\u0301clair", "A\u0308B", "ab\u00adcd", "x²", "½cup", "Ⅻ", "ⅻ", "①", "٣٤", "१२", "𝟘𝟙", "ＡＢＣ", "ｗｏｒｄ", "ΑΣ.Σ",
         "Σ", "AΣ", "Σ'Σ", "A\u0301Σ", "AΣ\u0301", "ꭰꮳ", "Ꭰ", "ⓐⓑ", "ⒶⒷ", "🄰🄱", "ʰʲ", "ǈ", "ᾈ", "Ϊ"]
EMOJI = ["😀", "🎉", "👍🏽", "👨\u200d👩\u200d👧", "🇨🇳", "❤️", "🙂", "🚀", "✅", "🧠", "𝕏", "🀄", "©", "™"]
PUNCT = list(".,!?;:'\"()[]{}<>-_/\\@#$%^&*+=~`|") + list("。，！？；：「」『』（）【】、《》…—·") + ["...", "!!", "?!", "--"]
SPACES = [" ", " ", " ", " ", "  ", "\t", "\n", "\n\n", "\u3000", "\u00a0", "\u2009", "\u001f", "\u001c", "\u0085",
          "\u2028", "\u000b", "\u200b"]
PHRASES = ["我 喜欢 编程", "the cat sat on the mat", "好 好 学习 天天 向上", "ha ha ha", "one two three", "！！！", "重复 重复 重复"]


def word(rng):
    k = rng.random()
    if k < 0.45:
        return "".join(rng.choice(CJK) for _ in range(rng.randint(1, 4)))
    if k < 0.75:
        return rng.choice(LATIN)
    if k < 0.85:
        return str(rng.randint(0, 99999)) if rng.random() < 0.7 else f"{rng.randint(0, 99)}.{rng.randint(0, 99)}"
    if k < 0.95:
        return rng.choice(EMOJI)
    return rng.choice(PUNCT)


def plain(rng, target):
    """Words, punctuation and spaces until about `target` code points; repeats a phrase now and then."""
    out = []
    n = 0
    reps = rng.random() < 0.3
    while n < target:
        if reps and rng.random() < 0.25:
            piece = rng.choice(PHRASES)
        elif rng.random() < 0.2:
            piece = rng.choice(PUNCT)
        else:
            piece = word(rng)
        sep = rng.choice(SPACES) if rng.random() < 0.8 else ""
        out.append(piece + sep)
        n += len(piece) + len(sep)
    return "".join(out)


def fit(rng, text, length):
    """`text` cut or padded (with CJK) to exactly `length` code points after strip(), edge whitespace kept."""
    core = text.strip()
    while len(core) < length:
        core += rng.choice(CJK)
    core = core[:length]
    if core != core.strip():  # a cut that ends on whitespace: replace it
        core = core.rstrip() + rng.choice(CJK) * (length - len(core.rstrip()))
    lead = rng.choice(["", "", " ", "\n", "\t ", "\u3000"])
    tail = rng.choice(["", "", " ", "\n", "\n\n", "\u00a0"])
    return lead + core + tail


def edge(rng, limits):
    """A length at or next to one of `limits` (the reward's boundaries), or anywhere."""
    if rng.random() < 0.6:
        near = rng.choice(limits)
        if near >= 800 and rng.random() < 0.7:  # long texts are costly in the fixture: fewer of them
            near = rng.choice([x for x in limits if x < 800] or [near])
        return max(0, near + rng.choice([-1, 0, 0, 1]))
    return rng.randint(0, min(max(limits), 320) + 40)


def response(rng):
    """One completion as a policy might write it."""
    kind = rng.random()
    if kind < 0.25:
        return fit(rng, plain(rng, 40), edge(rng, [5, 20, 800]))
    if kind < 0.35:
        return plain(rng, rng.randint(0, 60))
    think = fit(rng, plain(rng, 40), edge(rng, [20, 300]))
    answer = fit(rng, plain(rng, 40), edge(rng, [5, 20, 800]))
    if kind < 0.75:
        return (rng.choice(["", "<think>\n", "<think>"]) + think + rng.choice(["</think>", "\n</think>\n\n", "</think>\n"])
                + answer)
    if kind < 0.85:  # several closings
        extra = "".join(plain(rng, rng.randint(0, 30)) + "</think>" for _ in range(rng.randint(1, 3)))
        return "<think>\n" + think + "</think>" + extra + answer
    if kind < 0.92:  # unclosed think block
        return "<think>\n" + think + answer
    return think + "</think>"  # nothing after the think block


def texts(seed, count):
    rng = random.Random(seed)
    return [response(rng) for _ in range(count)]
