#!/usr/bin/env python3
"""Builds models/langid.tsv: character n-gram log-probabilities of Romanian, Bulgarian,
Russian and English *as typed in Latin letters*, for tact's language detection of
Latin-script text (src/lang.rs). Bulgarians and Russians often type in Latin letters
(translit, "shlyokavitsa"), which detectors trained on Cyrillic cannot place.

Training text: the train split of the labelled corpora (../shared/datasets/train, read only,
never copied). Cyrillic Bulgarian and Russian are transliterated with the schemes people use
(sh/6 for ш, ch/4 for ч, ya/q/ja for я, zh/j for ж, ...), chosen at random per text with a
fixed seed; Romanian loses its diacritics in most texts, as on phones. Only n-gram counts go
into the table.

    python3 tools/langid_table.py ../shared/datasets/train models/langid.tsv
"""
import collections, glob, json, math, os, random, re, sys

ORDERS = (1, 2, 3, 4)
MIN_COUNT = 10
PER_LANG_TEXTS = 40000

RU = {"а": ["a"], "б": ["b"], "в": ["v"], "г": ["g"], "д": ["d"], "е": ["e"], "ё": ["yo", "e", "jo"],
      "ж": ["zh", "j", "zh"], "з": ["z"], "и": ["i"], "й": ["y", "j", "i"], "к": ["k"], "л": ["l"],
      "м": ["m"], "н": ["n"], "о": ["o"], "п": ["p"], "р": ["r"], "с": ["s"], "т": ["t"], "у": ["u"],
      "ф": ["f"], "х": ["kh", "h", "x", "h"], "ц": ["ts", "c", "tz"], "ч": ["ch", "ch", "4"],
      "ш": ["sh", "sh", "w"], "щ": ["shch", "sch", "sh", "shh"], "ъ": ["", "'"], "ы": ["y", "i", "y"],
      "ь": ["'", "", "'"], "э": ["e"], "ю": ["yu", "ju", "iu"], "я": ["ya", "ja", "ia", "ya"]}
BG = dict(RU)
BG.update({"ж": ["zh", "j", "j"], "х": ["h", "h", "x"], "ц": ["ts", "c", "c"], "ч": ["ch", "4", "ch"],
           "ш": ["sh", "6", "sh"], "щ": ["sht", "6t", "sht"], "ъ": ["a", "u", "y", "a"],
           "ь": ["y", "'"], "ю": ["yu", "iu", "ju"], "я": ["ya", "q", "ia", "ja", "q"],
           "й": ["y", "i", "j"], "ы": ["i"], "э": ["e"], "ё": ["yo"]})
RO_STRIP = str.maketrans("ăâîșşțţĂÂÎȘŞȚŢ", "aaissttAAISSTT")
NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|#\w+")


def fnv1a(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def translit(text, table, rng):
    # One scheme per text: people are consistent within a message, not across people.
    choice = {c: rng.choice(v) for c, v in table.items()}
    out = []
    for ch in text:
        low = ch.lower()
        if low in choice:
            t = choice[low]
            out.append(t.capitalize() if ch != low and t else t)
        else:
            out.append(ch)
    return "".join(out)


def normalise(text):
    """As src/lang.rs reads text: lowercase, runs of non-letters (except ' and digits) as one space."""
    text = NOISE.sub(" ", text.lower())
    text = re.sub(r"[^\w']+|_", " ", text)
    return " ".join(text.split())


def ngrams(text):
    padded = f" {text} "
    for n in ORDERS:
        for i in range(len(padded) - n + 1):
            yield padded[i:i + n]


def main(corpora, out):
    rng = random.Random(7)
    texts = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(corpora, "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            if fnv1a(r["id"]) % 10 < 3:  # test and calib splits stay out
                continue
            texts[r["lang"]].append(r["text"])
    counts = {}
    for lang, items in sorted(texts.items()):
        rng.shuffle(items)
        c = collections.Counter()
        for text in items[:PER_LANG_TEXTS]:
            if lang == "ru":
                text = translit(text, RU, rng)
            elif lang == "bg":
                text = translit(text, BG, rng)
            elif lang == "ro" and rng.random() < 0.7:
                text = text.translate(RO_STRIP)
            text = normalise(text)
            if re.search("[\u0400-\u04ff]", text):
                continue
            c.update(ngrams(text))
        counts[lang] = c
    with open(out, "w", encoding="utf-8") as f:
        f.write("# tact Latin-script language id: lang, n-gram, log P(n-gram | lang, order); built by tools/langid_table.py\n")
        for lang, c in counts.items():
            totals = collections.Counter()
            for g, k in c.items():
                totals[len(g)] += k
            for n in ORDERS:
                f.write(f"{lang}\t#unseen{n}\t{math.log(0.5 / totals[n]):.4f}\n")
            for g, k in sorted(c.items()):
                if k >= MIN_COUNT:
                    f.write(f"{lang}\t{g}\t{math.log(k / totals[len(g)]):.4f}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
