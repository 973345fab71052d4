"""Deterministic tokenizer test corpus: real sentences from the shared data plus
generated Unicode edge cases.

build_cases(data_dir, seed) returns a list of case dicts with the input keys of
tests/fixtures/README.md (text, pair, max_length, truncation, pad_to,
add_special_tokens); the oracle adds the outputs. training_lines(data_dir)
returns the text the script trains bert_cased / roberta_bpe on.
"""

import glob
import gzip
import json
import os
import random
import unicodedata

MAX_CHARS = 1500  # cap on any one input, keeps corpus.jsonl small


def _cap(s):
    return s[:MAX_CHARS]


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def _gz_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


# ---------------------------------------------------------------- real data

def _sst2(d):
    out = []
    for name in ("stsa.binary.dev", "stsa.binary.test"):
        for l in _lines(os.path.join(d, "sst2", name)):
            if len(l) > 2:
                out.append(l[2:])  # "<label> <sentence>"
    return out


def _tweets(d):
    out = []
    for name in ("val_text.txt", "test_text.txt"):
        out += [l for l in _lines(os.path.join(d, "tweeteval_offensive", name)) if l]
    return out


def _german(d):
    return [l for l in _gz_lines(os.path.join(d, "multi30k", "val.de.gz")) if l]


def _cola(d):
    out = []
    for l in _lines(os.path.join(d, "cola", "in_domain_dev.tsv")):
        parts = l.split("\t")
        if len(parts) == 4:
            out.append(parts[3])
    return out


def _imdb(d, rng, n):
    files = sorted(glob.glob(os.path.join(d, "imdb", "aclImdb", "train", "pos", "*.txt")))
    pick = rng.sample(files, n)
    out = []
    for p in pick:
        with open(p, encoding="utf-8") as f:
            out.append(f.read())
    # make sure most picks show the <br /> tags
    out.sort(key=lambda s: "<br />" not in s)
    return out


def _mnli(d):
    out = []
    with open(os.path.join(d, "mnli", "dev.jsonl"), encoding="utf-8") as f:
        for l in f:
            j = json.loads(l)
            out.append((j["premise"], j["hypothesis"]))
    return out


def _snli(d):
    s1 = _lines(os.path.join(d, "snli", "s1.dev"))
    s2 = _lines(os.path.join(d, "snli", "s2.dev"))
    return list(zip(s1, s2))


def _xquad(d):
    with open(os.path.join(d, "squad_v1.1_dev_subset_xquad", "xquad.en.json"), encoding="utf-8") as f:
        j = json.load(f)
    out = []
    for art in j["data"]:
        for p in art["paragraphs"]:
            for qa in p["qas"][:1]:
                out.append((qa["question"], p["context"]))
    return out


# ---------------------------------------------------------------- edge cases

CJK_LINES = [
    "我们今天去北京大学学习自然语言处理。",
    "这是一个测试句子，包含标点符号！",
    "東京は日本の首都です。ひらがなとカタカナ、漢字を混ぜます。",
    "私はコーヒーが好きですが、お茶も飲みます。",
    "サッカーの試合は明日の午後三時に始まります。",
    "한국어 문장도 포함합니다. 안녕하세요, 반갑습니다!",
    "서울은 대한민국의 수도입니다.",
    "中文、日本語、한국어 mixed with English words.",
    "繁體中文與简体中文不同。",
    "𠀀𠀁 CJK Extension B: 𪜀 𫝀 𫠠 𬺰 and compatibility 豈 更 and 丽.",
    "㐀㐁 Extension A 䶿 and 一 and 鿿 boundary.",
]

ACCENTED_WORDS = [
    "café", "naïve", "résumé", "crème brûlée", "Ångström", "façade", "jalapeño",
    "Zürich", "São Paulo", "Dvořák", "Łódź", "Čeština", "coöperate", "Noël",
    "Øresund", "élève", "über", "Straße", "Mädchen", "Björk", "Ελλάδα",
]

EMOJI = [
    "😀", "👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸", "🇩🇪", "🇯🇵", "❤️", "✌🏿",
    "🤷‍♀️", "🧑🏻‍🤝‍🧑🏾", "1️⃣", "#️⃣", "🦁", "😂😂😂", "🙏🏻",
]

CONTROLS = [chr(c) for c in list(range(0x00, 0x20)) + [0x7F] + list(range(0x80, 0xA0))]
FORMATS = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2066", "\u2069",
           "\u200e", "\u200f", "\u202e", "\u2060", "\u061c"]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0323", "\u20dd", "\u0338", "\u036f"]
SPACES = ["\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028", "\u2029", "\u2003",
          "\u2009", "\u202f", "\u1680", "\u0085", "\u000b", "\u000c", "  ", "   \t "]
UNI_PUNCT = ["«", "»", "—", "–", "…", "¿", "¡", "“", "”", "‘", "’", "„", "‹", "›",
             "·", "•", "†", "‡", "§", "¶", "‰", "′", "″", "〈", "〉", "【", "】",
             "「", "」", "。", "、", "！", "？", "؟", "،", "჻", "¨", "´", "¯", "˜", "^", "`"]
MATH = ["∀x∈ℝ: x²≥0", "∑ᵢ aᵢ = ∫₀¹ f(x) dx", "α + β ≠ γ", "√2 ≈ 1.414", "a ≤ b ≥ c",
        "∞ − ∞", "A ⊂ B ∪ C ∩ D", "f′(x) = 3x² ± 2", "½ + ¼ = ¾", "10⁻³ m",
        "∂u/∂t = ∇²u", "x ↦ x→y ⇒ z", "𝔸𝔹ℂ 𝐀𝐁𝐂 𝑥𝑦𝑧"]
PRIVATE_UNASSIGNED = ["\ue000", "\uf8ff", "\U000f0000", "\U0010fffd", "\u0378", "\u0379",
                      "\U000e0080", "\U0002fffe", "\uffff", "\U0010ffff", "\ufdd0", "\U0001fffe"]
WORDS = ("the quick brown fox jumps over lazy dog model token encoder layer frozen "
         "language plug fine tune sentence pair test unicode data").split()


def _nfd(s):
    return unicodedata.normalize("NFD", s)


def _edge_singles(rng):
    c = []
    add = c.append
    # empty / whitespace only / leading-trailing spaces
    for s in ["", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", " \t\n\r ", "\u2028",
              "\u200b", "\ufeff", "\u00ad", "\x00", "\x7f", "\u0085"]:
        add(s)
    for s in [" hello", "hello ", "  hello world  ", "\thello\n", "\u00a0hello\u00a0",
              " leading and trailing ", "\u3000全角スペース\u3000"]:
        add(s)
    # accents NFC and NFD
    for w in ACCENTED_WORDS:
        add(w)
        if _nfd(w) != w:
            add(_nfd(w))
    add("Le café est très bon, n'est-ce pas? " + _nfd("Le café est très bon"))
    add(_nfd("RÉSUMÉ ÉCOLE Ça Ñandú"))
    # scripts
    for s in [
        "Tiếng Việt có nhiều dấu: ắ ằ ẳ ẵ ặ ế ề ể ễ ệ ố ồ ổ ỗ ộ.",
        _nfd("Tiếng Việt rất đẹp"),
        "Το ελληνικό αλφάβητο: ΑΒΓΔ αβγδ άέήίόύώ ΐΰ ς σ Σ.",
        "Русский язык: Привет, мир! Ёлка и ЁЖ.",
        "Українська: Ґґ Єє Її",
        "Türkçe: İstanbul ıspanak IĞDIR iğne İ ı",
        "DİYARBAKIR ve ılık",
        "Straße STRASSE groß ẞ",
        "ﬁnancial ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ",
        "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！？（）",
        "ｶﾀｶﾅ half-width katakana",
        "العربية: مرحبا بالعالم! هذا اختبار.",
        "עברית: שלום עולם, זה מבחן.",
        "mixed English עברית and العربية 123.",
        "हिन्दी भाषा में वाक्य।",
        "ภาษาไทย ไม่มีช่องว่าง",
        "ქართული ენა",
        "Հայերեն լեզու",
        "ᚠᚢᚦᚨᚱᚲ runes",
    ]:
        add(s)
    for s in CJK_LINES:
        add(s)
    # emoji
    for e in EMOJI:
        add(e)
        add("I love this " + e + " so much" + e + "!")
    add("".join(EMOJI))
    add("@user @user Great game tonight 🏀🔥 #NBA #Playoffs2024 http://t.co/AbC123 https://example.com/path?q=1&x=2")
    add("Check out www.example.org/a_b-c.html or mail me at john.doe+tag@example.co.uk")
    add("#hashtag #CamelCaseTag #with_underscore #123 @handle_99 @User")
    # control and format characters
    for ch in CONTROLS:
        add("a" + ch + "b c" + ch)
    for ch in FORMATS:
        add("zero" + ch + "width " + ch + "test" + ch)
    add("".join(CONTROLS))
    add("".join(FORMATS))
    # combining marks alone and stacked
    for m in COMBINING:
        add(m)
        add(" " + m + " x" + m + m)
    add("Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇")
    # whitespace runs
    for sp in SPACES:
        add("one" + sp + "two" + sp * 3 + "three")
    add("a \t\t \n\n\r\n b\u00a0\u00a0c\u3000\u3000d\u2028e\u2029f")
    # punctuation
    ascii_punct = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())
    add(ascii_punct)
    add(" ".join(ascii_punct))
    for p in ascii_punct:
        add("word" + p + "word " + p + p + " end" + p)
    add("".join(UNI_PUNCT))
    add(" ".join(UNI_PUNCT))
    add("«Bonjour», dit-il — puis… ¿Qué? ¡Sí! “quoted” ‘single’ „German“")
    # long words around the 100-char WordPiece limit
    for n in (99, 100, 101, 150, 300):
        add("x" * n)
        add("short " + "ab" * (n // 2) + "c" * (n % 2) + " words")
    add("é" * 100)
    add(_nfd("é" * 50))  # 100 code points after NFD
    add("😀" * 101)
    add("supercalifragilisticexpialidocious " * 3)
    add("Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism")
    # numbers
    for s in ["1234567890", "3.14159", "1,000,000", "1.000.000,50", "1 000 000", "$1,234.56",
              "€99,99", "£5", "¥1000", "50%", "-42", "+1 (555) 123-4567", "2024-01-31",
              "12:30:45", "1e-10", "0x1F", "v2.3.4", "٣٤٥ Arabic-Indic digits",
              "१२३ Devanagari digits", "①②③ circled", "Ⅻ roman", "¹²³ superscript", "½ ¾"]:
        add(s)
    # contractions
    for s in ["It's", "don't", "they're", "we've", "I'm", "you'll", "he'd",
              "IT'S", "DON'T", "THEY'RE", "WE'VE", "I'M", "YOU'LL", "HE'D",
              "It’s curly", "rock 'n' roll", "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D",
              "She's said they'd've done it, y'all", "o'clock O'Neil", "''quoted''", "' leading"]:
        add(s)
    # math, private use, unassigned, noncharacters
    for s in MATH:
        add(s)
    for ch in PRIVATE_UNASSIGNED:
        add("pua" + ch + " test " + ch)
    add("".join(PRIVATE_UNASSIGNED))
    add("replacement \ufffd char and \ufffd\ufffd")
    # literal special-token strings inside text
    for s in ["[CLS] hello [SEP]", "a [MASK] b", "[UNK] [PAD]", "<s> hi </s>", "x <mask> y",
              "<pad><unk>", "[mask] lower", "[ CLS ]"]:
        add(s)
    # casing
    add("ALL CAPS SENTENCE WITH SOME Mixed Case and lowercase")
    add("iPhone eBay McDonald's O'Reilly HTTPServer XMLHttpRequest")
    # random mixtures of pieces
    pieces = (ACCENTED_WORDS + EMOJI + CONTROLS[1:9] + FORMATS + COMBINING + SPACES +
              UNI_PUNCT + WORDS * 3 + [l[:6] for l in CJK_LINES] + PRIVATE_UNASSIGNED[:4] +
              list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["123", "4.5", "'s", "'T"])
    for _ in range(260):
        n = rng.randint(1, 14)
        parts = [rng.choice(pieces) for _ in range(n)]
        sep = rng.choice(["", " ", " ", " ", "\t"])
        add(sep.join(parts))
    return c


def _edge_pairs(rng, singles):
    pairs = [
        # an empty pair ("") is not here: transformers treats it as no pair at all
        ("", "second only"), (" ", " "), ("first only", " "),
        ("Is this a question?", "Yes, it is."), ("Wie geht's?", "Mir geht's gut, danke!"),
        ("Qui est là ?", _nfd("C'est moi, Émile.")), ("你好吗？", "我很好，谢谢。"),
        ("😀 emoji first", "👨‍👩‍👧‍👦 family second"), ("[SEP] inside", "<s> inside </s>"),
    ]
    while len(pairs) < 100:
        a = rng.choice(singles)
        b = rng.choice(singles)
        if b:
            pairs.append((a, b))
    return pairs


# ---------------------------------------------------------------- assembly

def build_cases(data_dir, seed=1234):
    rng = random.Random(seed)
    singles = []
    singles += rng.sample(_sst2(data_dir), 300)
    singles += rng.sample(_tweets(data_dir), 300)
    singles += rng.sample(_german(data_dir), 200)
    singles += rng.sample(_cola(data_dir), 150)
    singles += _imdb(data_dir, rng, 30)
    edge = _edge_singles(rng)
    singles += edge

    pairs = []
    pairs += rng.sample(_mnli(data_dir), 220)
    pairs += rng.sample(_snli(data_dir), 120)
    pairs += rng.sample(_xquad(data_dir), 20)
    pairs += _edge_pairs(rng, edge)
    pairs = [(a, b) for a, b in pairs if b]  # transformers reads pair="" as no pair

    cases = [{"text": _cap(s)} for s in singles] + \
            [{"text": _cap(a), "pair": _cap(b)} for a, b in pairs]
    rng.shuffle(cases)

    # options: truncation, padding, no special tokens
    strategies = ["longest_first"] * 4 + ["only_second"] * 3 + ["only_first"]
    for c in cases:
        r = rng.random()
        has_pair = "pair" in c
        if r < (0.30 if has_pair else 0.11):
            st = rng.choice(strategies) if has_pair else "longest_first"
            if st == "only_second":
                c["max_length"] = rng.randint(30, 40)  # first part must fit
            else:
                c["max_length"] = rng.randint(8, 40)
            c["truncation"] = st
            if rng.random() < 0.25:
                c["pad_to"] = c["max_length"]
        elif r < 0.19:
            c["pad_to"] = rng.choice([16, 32, 48, 64, 128])
        elif r < 0.23:
            c["add_special_tokens"] = False
            if rng.random() < 0.3:
                c["max_length"] = rng.randint(8, 24)
                c["truncation"] = "longest_first"
    return cases


def training_lines(data_dir, seed=99):
    """Text for training bert_cased / roberta_bpe: English, German, tweets, CJK, accents."""
    rng = random.Random(seed)
    lines = []
    lines += _gz_lines(os.path.join(data_dir, "multi30k", "train.de.gz"))[:12000]
    lines += _gz_lines(os.path.join(data_dir, "multi30k", "train.en.gz"))[:8000]
    lines += [l[2:] for l in _lines(os.path.join(data_dir, "sst2", "stsa.binary.train"))][:5000]
    lines += _lines(os.path.join(data_dir, "tweeteval_offensive", "train_text.txt"))[:5000]
    lines += [c for c, _ in [(p[1], 0) for p in _xquad(data_dir)]]
    extra = CJK_LINES + ACCENTED_WORDS + EMOJI + UNI_PUNCT + MATH
    for _ in range(30):  # repeat so the trainer keeps these characters and some merges
        lines += extra
    rng.shuffle(lines)
    return lines


# ------------------------------------------- Llama-3 / Qwen2 Split regexes

def split_regex_cases(seed=21):
    """Strings that exercise every alternative of the Llama-3 / Qwen2 Split
    regex: digit runs (the {1,3} groups), whitespace runs with \\r\\n mixes,
    contractions in any case (and U+017F, which Oniguruma folds to 's'), the
    optional non-letter prefix of a word, punctuation runs followed by line
    breaks, and code with indentation. Deterministic."""
    rng = random.Random(seed)
    c = []
    for n in range(1, 13):
        d = "".join(str((k * 7 + n) % 10) for k in range(n))
        c += [d, "x" + d + "y", " " + d + " ", "v" + d + ".", "a " + d + "b", d + "\n" + d]
    c += ["3.14159265358979", "1,234,567.89", "٣٤٥٦٧ Arabic-Indic", "१२३४५", "①②③④⑤", "ⅫⅫⅫⅫ",
          "12٣٤5", "x²³⁴⁵", "0x1F2E3D", "2024-12-07T16:55:00Z"]
    for s in ["\r\n", "\n", "\r", "\n\n\n", "\r\n\r\n", " \n ", "\n ", " \n", "\t\n\t", "a\r\nb",
              "a\r\n\r\n  b", "  \n\t  x", "x \r \n y", "!!\r\n\r\nx", " !!\n\n ", "line1\n\nline2\r\n",
              "\u2028x", "\u00a0\n word", "a\u3000\r\nb", "x   ", "x \n", "x\n  ", "  x", "\t\tx",
              "a  \t  b", "end.\r\n", "end. \r\n", "(a)\n\n(b)", "}\n\n\n", "word\r", "\r\rword",
              " \r\n \r\n ", "\u0085x\u0085", "x\u000b\u000cy"]:
        c.append(s)
    for s in ["I'M", "YOU'LL", "'S", "'Re", "'rE", "'lL", "'Ll", "'VE", "'vE", "'D", "'T", "'M",
              "'ſ", "'ſt", "x'ſ", "DON'T", "x'D'd", "'", "''", "'1", "' s", "’S", "'é", "'sa", "'reb",
              "HE'S HERE", "WE'RE 'RE're", "it'S", "'Sſ", "O'NEIL'S", " 'll", "\t'd", "a'\nb"]:
        c.append(s)
    for s in ["(word", " (word", "\tword", "\u00a0word", "!word", "!!word", "\r\nword", "\nword",
              "#tag", "@user", "e\u0301", "\u0301word", " \u0301word", "-x", "--x", " -x", " --x",
              "$100", " $100", "...", " ...", "...\n", " ...\r\n\r\n", "a.b.c", "a..b", "😀word",
              " 😀 word", "中文字符", " 中文", "한국어 텍스트", "word🎉!!\n"]:
        c.append(s)
    c += ["def f(x):\n    return x**2\r\n", "    if (a) {\n\t\tb();\n    }\n",
          "for i in range(10):\n\tprint(i, 'it''s')\n\n", "int main(void) { return 0; }\r\n",
          "SELECT * FROM t WHERE id = 12345;\n", "// COMMENT: DON'T\n/* x */\n",
          "x = [1, 22, 333, 4444, 55555]\n", "<div class=\"a\">\n  <p>Hi</p>\n</div>\n"]
    pieces = ["\r\n", "\n", "\r", " ", "  ", "\t", "\u00a0", "\u3000", "'S", "'ll", "'RE", "'t", "'",
              "1", "12", "123", "4567", "89012", "word", "Word", "WORD", "é", "e\u0301", "中文", "😀",
              "!", "...", "(", ")", "-", "$", "#", "ſ", "٣", "\u2028"]
    for _ in range(300):
        c.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 16))))
    return c
