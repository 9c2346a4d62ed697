#!/usr/bin/env python3
"""Puts `tact eval --json` reports side by side as a Markdown table (the README's and the
model card's before/after tables):

    python3 tools/eval_table.py before=eval-before.json after=eval-after.json
"""
import json, sys

LANGS = ["ro", "bg", "ru", "en"]


def cells(r):
    out = []
    def cls(name, key, metric):
        sec = r[key]
        out.append((name, sec[metric], {l: sec["by_lang"].get(l, {}).get(metric) for l in LANGS}, sec["n"]))
    cls("sentiment accuracy", "sentiment", "accuracy")
    cls("sentiment macro-F1", "sentiment", "macro_f1")
    cls("brand intent accuracy", "intent", "accuracy")
    cls("brand intent macro-F1", "intent", "macro_f1")
    for label in ["abusive", "complaint", "spam", "question", "request", "misinformation"]:
        sec = r["labels"].get(label)
        if sec:
            out.append((f"{label} F1", sec["f1"], {l: sec["by_lang"].get(l, {}).get("f1") for l in LANGS}, sec["n"]))
    a = r.get("action")
    if a:
        out.append(("brand action accuracy", a["accuracy"], {l: a["by_lang"].get(l, {}).get("accuracy") for l in LANGS}, a["n"]))
    out.append(("ECE (top intent + sentiment)", r["ece"], {}, None))
    return out


def fmt(v):
    return "—" if v is None else f"{v:.3f}"


def main():
    runs = [(a.split("=", 1)[0], json.load(open(a.split("=", 1)[1]))) for a in sys.argv[1:]]
    names = [n for n, _ in runs]
    rows = [cells(r) for _, r in runs]
    # Every run side by side over all languages; per language, the first run → the last.
    head = " | ".join(f"{n}: all" for n in names)
    arrow = f"{names[0]} → {names[-1]}"
    print(f"| metric (test split) | {head} | " + " | ".join(f"{l}: {arrow}" for l in LANGS) + " |")
    print("|---" * (1 + len(names) + len(LANGS)) + "|")
    for i, (metric, _, _, n) in enumerate(rows[-1]):
        line = f"| {metric}" + (f" (n={n})" if n else "")
        line += " | " + " | ".join(f"**{fmt(r[i][1])}**" if k == len(rows) - 1 else fmt(r[i][1]) for k, r in enumerate(rows))
        per = []
        for l in LANGS:
            a, b = rows[0][i][2].get(l), rows[-1][i][2].get(l)
            per.append("—" if a is None and b is None else f"{fmt(a)} → {fmt(b)}")
        print(line + " | " + " | ".join(per) + " |")


if __name__ == "__main__":
    main()
