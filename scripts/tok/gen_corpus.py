#!/usr/bin/python3
"""Generate the tokenizer conformance corpus: tests/data/tok/corpus.jsonl.gz.

Deterministic (seeded random.Random, fixed gzip mtime), so re-running gives the
same bytes. Run with Debian's /usr/bin/python3 (standard library only):

    /usr/bin/python3 scripts/tok/gen_corpus.py [--out tests/data/tok/corpus.jsonl.gz]

Format (see TOK_GOLDEN_FORMAT.md): one JSON object per line, {"text": ...} or
{"text": ..., "pair": ...}; the 0-based line number identifies a case. The
goldens (scripts/tok/gen_goldens.js) hash the uncompressed bytes, so any change
here requires regenerating them.

Content: realistic search queries / passages in many scripts, plus adversarial
strings (odd whitespace, zero-width and control characters, combining marks,
emoji ZWJ sequences, special-token strings glued to words, very long words,
~10,000-character texts, empty and whitespace-only strings). No lone surrogates
(JSON/JS cannot carry them faithfully) and no U+0000 (C consumers read texts
as NUL-terminated strings).
"""
import argparse
import gzip
import io
import json
import random

SEED = 20261128

# ---- word and sentence pools ----

EN_WORDS = """the of and to in is was for on that with as by at from his her are an
this which be or have had not first one were their also new after been its who but
two has they more other all city time school world during state year national when
may three only over most used into later university team some where known being
between would family these such about under many south while north american season
based both since before film well number game both named four series group under
search engine ranking retrieval query passage document relevance score model neural
network transformer attention vector embedding index token sentence language
learning training dataset evaluation precision recall benchmark latency throughput
cache memory server request response python library function variable compiler
kernel operating system database transaction storage coffee weather recipe chicken
health symptoms treatment doctor hospital insurance price cheap best review compare
how what why when where which who does can should capital population history river
mountain ocean island country president election economy market stock bitcoin
travel flight hotel booking restaurant menu vegetarian gluten free hiking trail""".split()

EN_CAP = """Paris London Berlin Tokyo Einstein Newton Darwin Python Linux Windows
Google Microsoft Amazon Wikipedia Shakespeare Mozart Beethoven Napoleon Cleopatra
Everest Amazon Nile Sahara Antarctica Europe Asia Africa NASA UNESCO COVID-19 iPhone
McDonald's O'Reilly JavaScript TypeScript PostgreSQL SQLite BERT RoBERTa XLM-R""".split()

QUESTIONS = [
    "what is the capital of {c}", "how to cook {w} {w}", "who invented the {w}",
    "best {w} in {c} 2024", "{c} {w} {w} near me", "why is the {w} {w}",
    "how many {w} are in a {w}", "define {w}", "{w} vs {w} which is better",
    "symptoms of {w} {w}", "when did {c} become a {w}", "is {w} {w} safe",
    "HOW TO FIX {W} ERROR", "What's the {w} of {c}?", "they're {w}ing the {w}",
    "{c}'s {w} {w}", "can't {w} {w} after update", "price of {w} in $ and €",
]

SENT_TEMPLATES = [
    "The {w} {w} of {c} was {w} in {n}.",
    "{c} is a {w} {w} that {w} the {w} {w}.",
    "In {n}, {c} {w} the first {w} {w}, which {w} {w} {w} {w}.",
    "According to {c}, the {w} {w} is about {n} {w} ({n}%).",
    "\"{C} {w} {w},\" said {c}. \"It's {w} {w}!\"",
    "It's {w}; they're {w}, we've {w}, I'm {w}, she'll {w}, he'd {w}.",
    "See https://example.com/{w}/{w}?q={w}&page={n} for {w} details.",
    "Contact {w}.{w}@example.org or call +1 (555) {n}-{n}.",
    "{C} {C} {C}: {w} {w} {w} -- {w} {w}... {w}?!",
    "The {w} costs $ {n}.99 (approx. €{n},50 or ¥{n}).",
]

ZH = ["自然语言处理是人工智能的一个重要分支。", "北京是中华人民共和国的首都。",
      "今天天气很好，我们去公园散步吧！", "搜索引擎会根据相关性对文档进行排序。",
      "机器学习模型需要大量的训练数据。", "长城是世界上最长的建筑之一。",
      "请问附近有没有好吃的餐厅？", "深度学习（Deep Learning）在2012年取得了突破。",
      "繁體中文與簡體中文的差異在於字形。", "他说：“这个问题很复杂。”"]
JA = ["東京は日本の首都です。", "自然言語処理は人工知能の一分野である。",
      "今日はいい天気ですね。", "カタカナとひらがなと漢字を混ぜて書きます。",
      "ｶﾀｶﾅの半角文字もあります。", "検索エンジンのランキングを改善したい。",
      "ラーメンが食べたい！", "「こんにちは」と彼は言った。"]
KO = ["서울은 대한민국의 수도입니다.", "자연어 처리는 인공지능의 한 분야입니다.",
      "오늘 날씨가 정말 좋네요!", "검색 엔진은 문서를 관련성에 따라 정렬합니다.",
      "한국어 형태소 분석은 어렵습니다.", "김치찌개 맛있는 집 추천해 주세요."]
AR = ["القاهرة هي عاصمة مصر.", "معالجة اللغات الطبيعية فرع من الذكاء الاصطناعي.",
      "مرحبا بكم في موقعنا!", "كَتَبَ الطَّالِبُ الدَّرْسَ.", "الرقم ١٢٣٤٥٦٧٨٩٠ بالأرقام العربية.",
      "محرك البحث يرتب الوثائق حسب الصلة."]
HI = ["नई दिल्ली भारत की राजधानी है।", "प्राकृतिक भाषा प्रसंस्करण कृत्रिम बुद्धिमत्ता की एक शाखा है।",
      "आज मौसम बहुत अच्छा है।", "क्षत्रिय ज्ञान श्रृंखला", "संख्या ०१२३४५६७८९ देवनागरी अंकों में।",
      "खोज इंजन दस्तावेज़ों को प्रासंगिकता के अनुसार क्रमबद्ध करता है।"]
TH = ["กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย", "การประมวลผลภาษาธรรมชาติ",
      "สวัสดีครับ ยินดีต้อนรับ", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "๑๒๓๔๕ ตัวเลขไทย"]
RU = ["Москва — столица России.", "Обработка естественного языка — раздел искусственного интеллекта.",
      "Сегодня хорошая погода!", "ПОИСКОВАЯ СИСТЕМА ранжирует документы по релевантности.",
      "Ёлка, ёжик и щётка.", "Київ — столиця України. Ґанок, їжак, єнот.",
      "Београд је главни град Србије."]
OTHER = ["Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.", "ירושלים היא עיר הבירה של ישראל.",
         "Hà Nội là thủ đô của Việt Nam. Tiếng Việt có nhiều dấu: ắ ằ ẳ ẵ ặ.",
         "Größenwahn: Straße, Fußgänger, Äpfel, Öl, Übermut.", "Ça va? L'été à Noël, où est le café?",
         "¿Dónde está la biblioteca? ¡Mañana será otro día!", "Zażółć gęślą jaźń. Čeština, Slovenčina.",
         "İstanbul, ığdır, şeker, çiçek, ğ.", "Ἐν ἀρχῇ ἦν ὁ λόγος.", "Ⅻ ½ ¼ ² ³ ㎏ ㎞ ﬁ ﬂ ℌ ℍ ℕ ①②③ Ａ Ｂ Ｃ １２３",
         "ⓐⓑⓒ 𝐀𝐁𝐂 𝒜 𝔄 𝕬 𝖆 𝗔 𝘼 𝙰", "ሰላም ልዑል", "Բարեւ ձեզ", "გამარჯობა", "ສະບາຍດີ", "ជំរាបសួរ",
         "မင်္ဂလာပါ", "வணக்கம் உலகம்", "నమస్కారం", "ನಮಸ್ಕಾರ", "നമസ്കാരം", "ਸਤਿ ਸ੍ਰੀ ਅਕਾਲ", "નમસ્તે",
         "নমস্কার পৃথিবী", "සුභ දවසක්", "ᚠᚢᚦᚨᚱᚲ", "ꦲꦏ꧀ꦱꦫꦗꦮ", "𐌰𐌱𐌲", "𓀀𓀁𓀂 hieroglyphs"]
EMOJI = ["😀", "😂", "🤣", "❤️", "👍", "👍🏽", "🎉", "🔥", "🚀", "🇫🇷", "🇯🇵", "🏳️‍🌈",
         "👨‍👩‍👧‍👦", "👩🏾‍💻", "🧑‍🤝‍🧑", "❤️‍🔥", "🐈‍⬛", "1️⃣", "#️⃣", "©️", "™", "☺", "✌🏻", "🫠", "🦄"]

CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "const re = /^[a-z0-9_-]{3,16}$/i; console.log(re.test('abc'));",
    "<div class=\"main\"><a href=\"/x?a=1&b=2\">link</a></div>",
    "{\"key\": [1, 2.5e-3, true, null], \"nested\": {\"a\": \"b\"}}",
    "git commit -m 'fix: handle \\r\\n line endings' && make -j2 check",
    "x_1 = np.linalg.norm(v, ord=2) / (1e-12 + eps)",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case-id",
]
URLS = ["https://www.example.com/path/to/page.html?query=abc&lang=en#section-2",
        "http://localhost:8080/api/v1/rerank", "ftp://ftp.gnu.org/gnu/", "www.google.com",
        "https://zh.wikipedia.org/wiki/北京", "mailto:someone@example.com",
        "https://user:pass@host.example:443/a/b/c;p?q#f", "file:///etc/passwd"]

SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "<s>", "</s>", "<pad>", "<unk>", "<mask>",
            "<extra_id_0>", "<extra_id_99>", "<|endoftext|>", "<|im_start|>", "<|im_end|>",
            "[cls]", "<S>", "<extra_id_100>", "<mask >", "<doc>", "[Q]", "[EOP]", "<cls>", "<sep>",
            "<|begin_of_text|>", "rerank", "BM25", "Hello World", "ＡＢＣ", "<0x41>"]

# Every character with the Unicode White_Space property, plus other odd spaces.
WHITESPACE = ["\t", "\n", "\x0b", "\x0c", "\r", " ", "\x85", "\xa0", "\u1680", "\u2000", "\u2001",
              "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a",
              "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u180e", "\r\n"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\u034f", "\u061c",
              "\u200e", "\u200f", "\u202a", "\u202e", "\ufe0f", "\ufe0e"]
CONTROLS = ["\x01", "\x02", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x80", "\x9f", "\ufffd",
            "\ufff9", "\U000e0001", "\U000e0041"]
COMBINING = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u0327", "\u0328",
             "\u0331", "\u0345", "\u20dd", "\u1ab0", "\u0489", "\u3099", "\u309a"]
PRECOMPOSED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÉÎÕÜÑŁłŒœßẞĀāĒēǅǈǋǲḀḁẞỳỸ"
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["¡", "¿", "«", "»", "—", "–", "…", "·",
        "、", "。", "，", "！", "？", "：", "；", "「", "」", "『", "』", "【", "】", "〜", "‘", "’",
        "“", "”", "‹", "›", "†", "‡", "§", "¶", "©", "®", "°", "±", "×", "÷", "µ", "¢", "£", "¥",
        "€", "₹", "₽", "¤", "¦", "¨", "¬", "¯", "´", "¸", "ˆ", "˜", "‰", "′", "″", "⁄", "₿"]
DIGITS = ["0", "7", "42", "2024", "3.14159", "1,000,000", "10^6", "-273.15", "007", "1e-9",
          "٣", "۴", "५", "৬", "๗", "٠١٢", "１２３", "½", "²", "Ⅳ", "0x1F", "192.168.0.1",
          "12:30", "2024-11-28", "+49 30 1234567", "99.9%", "#1", "3rd", "v1.2.3"]

ALL_NATIVE = ZH + JA + KO + AR + HI + TH + RU + OTHER

# Pseudo-words per script, for vocabulary diversity (unseen words, rare characters).
ONSETS = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "z", "st", "tr", "ch", "sh", "th", "pl", "gr", "br", "qu", "sp", "str"]
VOWELS = ["a", "e", "i", "o", "u", "y", "ai", "ou", "ea", "ie", "oo", "ee"]
CODAS = ["", "", "n", "r", "s", "t", "l", "m", "ng", "ck", "x", "rd", "nt"]
SUFFIXES = ["", "", "", "ing", "ed", "tion", "ly", "s", "er", "ness", "able", "'s"]


def cp_range(a, b):
    return [chr(c) for c in range(a, b + 1)]


SCRIPT_CHARS = {
    "cjk": cp_range(0x4E00, 0x50FF),
    "hangul": cp_range(0xAC00, 0xAEFF),
    "kana": cp_range(0x3041, 0x3096) + cp_range(0x30A1, 0x30FA),
    "cyrillic": cp_range(0x0430, 0x044F) + ["\u0451", "\u0456", "\u0457", "\u0454", "\u0491"],
    "greek": cp_range(0x03B1, 0x03C9) + ["\u03ac", "\u03ad", "\u03ae", "\u03af", "\u03cc", "\u03cd", "\u03ce"],
    "arabic": cp_range(0x0621, 0x063A) + cp_range(0x0641, 0x064A),
    "hebrew": cp_range(0x05D0, 0x05EA),
    "devanagari": cp_range(0x0915, 0x0939),
    "thai": cp_range(0x0E01, 0x0E2E),
}
DEVA_SIGNS = cp_range(0x093E, 0x094C) + ["\u094d", "\u0902", ""]
THAI_SIGNS = ["\u0e30", "\u0e31", "\u0e32", "\u0e34", "\u0e35", "\u0e36", "\u0e37", "\u0e38",
              "\u0e39", "\u0e48", "\u0e49", "\u0e40", "", ""]


def build_pool():
    """Characters for random soups: a mix of every class above plus scripts."""
    pool = []
    for s in ALL_NATIVE:
        pool.extend(s)
    pool.extend("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 3)
    pool.extend(WHITESPACE * 2)
    pool.extend(ZERO_WIDTH)
    pool.extend(CONTROLS)
    pool.extend(COMBINING * 2)
    pool.extend(PRECOMPOSED)
    pool.extend(PUNCT)
    pool.extend(EMOJI)
    # CJK compatibility and extension B, Hangul jamo, half-width forms
    pool.extend(["\uf900", "\uf9ff", "\U00020000", "\U0002a6d6", "\u1100", "\u1161", "\u11a8",
                 "\uff71", "\uff9e", "\u3131", "\u318e", "\u2e80", "\u2f00", "\u3400"])
    return pool


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.pool = build_pool()

    def w(self):
        return self.r.choice(EN_WORDS)

    def fill(self, tmpl):
        r = self.r
        out = []
        i = 0
        while i < len(tmpl):
            if tmpl.startswith("{w}", i):
                out.append(self.w()); i += 3
            elif tmpl.startswith("{W}", i):
                out.append(self.w().upper()); i += 3
            elif tmpl.startswith("{c}", i):
                out.append(r.choice(EN_CAP)); i += 3
            elif tmpl.startswith("{C}", i):
                out.append(self.w().capitalize()); i += 3
            elif tmpl.startswith("{n}", i):
                out.append(str(r.choice([1, 2, 7, 12, 42, 99, 100, 365, 1984, 2024, 31337]))); i += 3
            else:
                out.append(tmpl[i]); i += 1
        return "".join(out)

    def query(self):
        q = self.fill(self.r.choice(QUESTIONS))
        x = self.r.random()
        if x < 0.15:
            q = q.upper()
        elif x < 0.3:
            q = q.capitalize() + "?"
        return q

    def en_sentence(self):
        return self.fill(self.r.choice(SENT_TEMPLATES))

    def native(self):
        return self.r.choice(ALL_NATIVE)

    def passage(self, n_sent=None, multilingual=0.3):
        r = self.r
        n = n_sent or r.randint(2, 8)
        parts = []
        for _ in range(n):
            x = r.random()
            if x < multilingual:
                parts.append(self.native())
            elif x < multilingual + 0.05:
                parts.append(r.choice(CODE))
            elif x < multilingual + 0.1:
                parts.append(r.choice(URLS))
            else:
                parts.append(self.en_sentence())
        sep = r.choice([" ", " ", " ", "\n", "  ", "\n\n"])
        return sep.join(parts)

    def soup(self, n):
        return "".join(self.r.choice(self.pool) for _ in range(n))

    def sprinkle(self, base, items, k):
        """Insert k items from `items` at random positions of `base`."""
        r = self.r
        s = list(base)
        for _ in range(k):
            pos = r.randint(0, len(s))
            s.insert(pos, r.choice(items))
        return "".join(s)

    def special_text(self):
        r = self.r
        sp = r.choice(SPECIALS)
        w1, w2 = self.w(), self.w()
        forms = [f"{w1} {sp} {w2}", f"{w1}{sp}{w2}", f"{sp}{w1}", f"{w1}{sp}", f" {sp} ",
                 f"{sp}", f"{sp}{sp}", f"{w1}  {sp}  {w2}", f"{w1}\t{sp}\n{w2}", f"{sp} {r.choice(SPECIALS)} {w1}",
                 f"{w1.upper()} {sp}{w2.upper()}", f"{self.native()}{sp}{self.native()}",
                 f"{sp}.", f"({sp})", f"{w1}\u3000{sp}\u00a0{w2}"]
        return r.choice(forms)

    def whitespace_text(self):
        r = self.r
        kind = r.randint(0, 4)
        if kind == 0:   # whitespace only
            return "".join(r.choice(WHITESPACE) for _ in range(r.randint(1, 8)))
        if kind == 1:   # words separated by odd spaces
            return "".join(self.w() + r.choice(WHITESPACE) for _ in range(r.randint(1, 10)))
        if kind == 2:   # leading/trailing
            ws = r.choice(WHITESPACE)
            return ws * r.randint(1, 3) + self.query() + ws * r.randint(1, 3)
        if kind == 3:   # zero-width chars inside words
            return self.sprinkle(self.en_sentence(), ZERO_WIDTH, r.randint(1, 6))
        return self.sprinkle(self.passage(2), WHITESPACE + ZERO_WIDTH + CONTROLS, r.randint(2, 10))

    def accent_text(self):
        r = self.r
        kind = r.randint(0, 3)
        if kind == 0:
            return "".join(r.choice(PRECOMPOSED) for _ in range(r.randint(1, 12)))
        if kind == 1:   # decomposed: base + combining marks
            return "".join(r.choice("aeiouncAEIOUNC") + "".join(r.choice(COMBINING) for _ in range(r.randint(1, 3)))
                           for _ in range(r.randint(1, 10)))
        if kind == 2:
            return r.choice(["café", "cafe\u0301", "naïve", "nai\u0308ve", "Ångström", "A\u030angstro\u0308m",
                             "résumé", "re\u0301sume\u0301", "Zoë", "Zoe\u0308", "piñata", "pin\u0303ata",
                             "Ǆemal", "ﬁnancial ﬂow"]) + " " + self.query()
        return self.sprinkle(self.en_sentence(), COMBINING, r.randint(1, 5))

    def emoji_text(self):
        r = self.r
        base = r.choice([self.query(), self.en_sentence(), self.native()])
        return self.sprinkle(base, EMOJI, r.randint(1, 5)) if r.random() < 0.7 else \
            "".join(r.choice(EMOJI) for _ in range(r.randint(1, 10)))

    def long_word(self):
        r = self.r
        kind = r.randint(0, 4)
        n = r.randint(101, 400)
        if kind == 0:
            w = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
        elif kind == 1:
            w = "pneumonoultramicroscopicsilicovolcanoconiosis" * (n // 45 + 1)
        elif kind == 2:
            w = "".join(r.choice(ZH + JA) for _ in range(3)).replace(" ", "") * 5
        elif kind == 3:
            w = "".join(r.choice("0123456789") for _ in range(n))
        else:
            w = "a" * 99 + r.choice(["", "b", "bc", "é", "\u0301"])  # around max_input_chars_per_word
        return r.choice(["", self.w() + " "]) + w + r.choice(["", " " + self.w(), "."])

    def misc_text(self):
        r = self.r
        kind = r.randint(0, 6)
        if kind == 0:
            return " ".join(r.choice(DIGITS) for _ in range(r.randint(1, 8)))
        if kind == 1:
            return "".join(r.choice(PUNCT) for _ in range(r.randint(1, 20)))
        if kind == 2:
            return r.choice(URLS) + r.choice(["", " " + self.query()])
        if kind == 3:
            return r.choice(CODE)
        if kind == 4:   # mixed scripts inside one token
            return "".join(r.choice([self.w(), r.choice(ZH), r.choice(RU).split()[0], r.choice(DIGITS),
                                     r.choice(EMOJI)]) for _ in range(r.randint(2, 6)))
        if kind == 5:
            return self.fill(r.choice(["I'M {W}", "IT'S {W}'S", "THEY'RE {W}", "WE'LL {W} YOU'VE", "don'T 'S 'Re 'LL"]))
        return r.choice(["'s", "'re", "'ve", "'m", "'ll", "'d", "'t", "''", "'", "s'", "rock'n'roll", "O'Neil's"])

    def pseudo_word(self, script=None):
        r = self.r
        script = script or r.choice(["latin"] * 4 + list(SCRIPT_CHARS))
        if script == "latin":
            w = "".join(r.choice(ONSETS) + r.choice(VOWELS) + r.choice(CODAS) for _ in range(r.randint(1, 4)))
            w += r.choice(SUFFIXES)
            x = r.random()
            return w.capitalize() if x < 0.2 else (w.upper() if x < 0.25 else w)
        chars = SCRIPT_CHARS[script]
        n = r.randint(1, 4) if script in ("cjk", "hangul") else r.randint(2, 9)
        if script == "devanagari":
            return "".join(r.choice(chars) + r.choice(DEVA_SIGNS) for _ in range(n))
        if script == "thai":
            return "".join(r.choice(chars) + r.choice(THAI_SIGNS) for _ in range(n))
        return "".join(r.choice(chars) for _ in range(n))

    def pseudo_sentence(self):
        r = self.r
        script = r.choice(["latin"] * 4 + list(SCRIPT_CHARS))
        sep = "" if script in ("cjk", "kana", "thai") and r.random() < 0.7 else " "
        words = [self.pseudo_word(script if r.random() < 0.85 else None) for _ in range(r.randint(1, 12))]
        return sep.join(words) + r.choice(["", ".", "?", "!", "\u3002", ","])

    def text(self):
        r = self.r
        if r.random() < 0.08:
            return self.pseudo_sentence()
        x = r.random()
        if x < 0.22:
            return self.query()
        if x < 0.40:
            return self.passage()
        if x < 0.48:
            return self.native()
        if x < 0.56:
            return self.special_text()
        if x < 0.66:
            return self.whitespace_text()
        if x < 0.72:
            return self.accent_text()
        if x < 0.78:
            return self.emoji_text()
        if x < 0.81:
            return self.long_word()
        if x < 0.90:
            return self.misc_text()
        return self.soup(r.randint(1, 60))

    def long_text(self, n_chars):
        parts = []
        total = 0
        while total < n_chars:
            p = self.passage(6)
            parts.append(p)
            total += len(p) + 1
        return " ".join(parts)[:n_chars]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/tok/corpus.jsonl.gz")
    ap.add_argument("--singles", type=int, default=5200)
    ap.add_argument("--pairs", type=int, default=1200)
    ap.add_argument("--long", type=int, default=12, help="number of ~10,000-character texts")
    ap.add_argument("--train-text", metavar="PATH",
                    help="instead write plain training text (one passage a line, another seed) "
                         "for the tokenizers trained by scripts/tok/make_trained.js / make_xlmr.py")
    ap.add_argument("--train-lines", type=int, default=20000)
    ap.add_argument("--rich", action="store_true",
                    help="with --train-text: add as many lines of pseudo-words in many scripts")
    args = ap.parse_args()

    if args.train_text:
        t = Gen(SEED + 1)
        with open(args.train_text, "w", encoding="utf-8") as f:
            for _ in range(args.train_lines):
                f.write(t.passage(multilingual=0.4).replace("\n", " ") + "\n")
                if args.rich:
                    f.write(t.pseudo_sentence() + "\n")
        return

    g = Gen(SEED)
    rows = []
    # Fixed edge cases first, so their line numbers are stable and easy to cite.
    fixed = ["", " ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "\u200b", "\ufeff", "a", "A", "é",
             "e\u0301", "\u0301", "中", "😀", "👨‍👩‍👧‍👦", "Hello world!", "hello  world", " hello",
             "hello ", "HELLO WORLD", "Hello, my dog is cute", "[CLS]", "[SEP]", "<s>", "</s>",
             "<mask>", "<unk>", "<extra_id_0>", "[MASK]", "hello<extra_id_0>world", "a[MASK]b",
             " <mask> ", "<s></s>", "[CLS] hello [SEP] world [SEP]", "<pad><pad>", "▁", "▁▁hello",
             "hello▁world", "Ġhello", "##ing", "##", "...", "'s", "I'm", "don't", "IT'S",
             "<0x41>", "<0xF0>", "<0x41><0x42>", "rerank", "RERANK-ing reranking", "Hello World", "hello world",
             "Hello Worlds", "ＡＢＣ abc ABC", "<doc>x<doc>", " <doc> ", "a <doc> b", "[Q]what", "BM25 bm25 xBM25",
             "the", "thethe the", "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>", "<|begin_of_text|>",
             "ıİ", "ǅ", "ß", "ﬁ", "Σ ς σ ΣΑΣ", "12345678901234567890", "a1b2c3", "1,234.56",
             "abcdefghijkl", "abcdefghijklm", "hello<s>world</s>", "<s> <s>", "▁", "▁▁ ▁"]
    # Targeted edge cases: max_input_chars_per_word boundaries (in characters, not bytes),
    # lstrip/rstrip around <mask>, NFKC expansions, case mappings that change length,
    # soft hyphen / U+FFFD (BertNormalizer clean_text), CR/LF runs, curly apostrophes, digit
    # groups, and long words without spaces (linear-time BPE / Unigram / WordPiece).
    fixed += ["a" * 100, "a" * 101, "\u00e9" * 100, "\u00e9" * 101, "e\u0301" * 50, "\u4e2d" * 101,
              "[CLS][SEP]", "a   <mask>   b", "a\t<mask>\nb", "<mask><mask>", "x<mask>",
              "\ufdfa \ufdfb \u337f \u3231 \u2474 \u00bd \u2153", "\u0130stanbul \u0130I\u0131i", "\u1e9e \u00df SS",
              "\u00ad", "a\u00adb", "\ufffd\ufffd", "\x7f", "\r", "\r\r\n\n", " \n ", "a\r\nb\n\nc",
              "DON'T WON'T 'S 'RE 'VE 'M 'LL 'D", "it\u2019s they\u2019re", "1234567 12345678 123456789",
              "x" * 3000, "ab" * 1500, "\u4e2d\u6587" * 1000, "\U0001F600" * 500,
              "\u0928\u092e\u0938\u094d\u0924\u0947" * 300]
    fixed += [ws for ws in WHITESPACE] + ["x" + ws + "y" for ws in WHITESPACE] + \
             ["x" + z + "y" for z in ZERO_WIDTH] + ["x" + c + "y" for c in CONTROLS]
    for t in fixed:
        rows.append({"text": t})
    for _ in range(args.long):
        rows.append({"text": g.long_text(10000)})
    while len(rows) < args.singles:
        rows.append({"text": g.text()})

    # (query, passage) pairs, mostly realistic, some adversarial.
    pair_fixed = [("", ""), ("", "hello"), ("hello", ""), (" ", " "), ("[SEP]", "[CLS]"),
                  ("<s>", "</s>"), ("what is bm25", "BM25 is a ranking function used by search engines.")]
    for q, p in pair_fixed:
        rows.append({"text": q, "pair": p})
    n_pairs = len(pair_fixed)
    while n_pairs < args.pairs:
        x = g.r.random()
        if x < 0.6:
            q, p = g.query(), g.passage(g.r.randint(1, 12))
        elif x < 0.7:
            q, p = g.native(), g.passage(g.r.randint(1, 6), multilingual=0.9)
        elif x < 0.8:   # long passages so truncation at 64 / 512 bites
            q, p = g.query(), g.long_text(g.r.choice([400, 1200, 3000]))
        elif x < 0.88:  # long query, short passage (only_second may fail)
            q, p = g.long_text(g.r.choice([300, 800])), g.r.choice([g.query(), g.passage(2)])
        else:
            q, p = g.text(), g.text()
        rows.append({"text": q, "pair": p})
        n_pairs += 1

    buf = io.BytesIO()
    for row in rows:
        line = json.dumps(row, ensure_ascii=False)
        buf.write(line.encode("utf-8") + b"\n")
    data = buf.getvalue()
    for s in rows:  # sanity: no lone surrogates, no NUL
        for v in s.values():
            assert "\x00" not in v
            assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in v)
    with open(args.out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(data)
    singles = sum(1 for r in rows if "pair" not in r)
    print(f"{args.out}: {len(rows)} lines ({singles} singles, {len(rows) - singles} pairs), "
          f"{len(data)} bytes uncompressed")


if __name__ == "__main__":
    main()
