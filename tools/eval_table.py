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
    print("| metric (test split) | " + " | ".join(f"{n}: all" for n in names) + " | " + " | ".join(f"{n}: {l}" for l in LANGS for n in names) + " |")
    print("|---" * (1 + len(names) * (1 + len(LANGS))) + "|")
    for i, (metric, _, _, n) in enumerate(rows[0]):
        line = f"| {metric}" + (f" (n={n})" if n else "")
        line += " | " + " | ".join(f"**{fmt(r[i][1])}**" if k == len(rows) - 1 else fmt(r[i][1]) for k, r in enumerate(rows))
        line += " | " + " | ".join(fmt(r[i][2].get(l)) for l in LANGS for r in rows)
        print(line + " |")


if __name__ == "__main__":
    main()
