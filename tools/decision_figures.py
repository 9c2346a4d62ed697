#!/usr/bin/env python3
"""The decision figures of a `tact score` output against the gold actions of labelled records:
action accuracy per language, wait recall, calm follow-ups sent to wait, delete_and_ban
precision, language detection of Latin-script Bulgarian and Russian, the decision
confidence's ECE, and the automation curve (share decided without review and its accuracy;
coverage at 95% and 97% accuracy). Used for the before/after table of the README, so that
both columns are computed the same way from any two tact versions.

    tact score records.jsonl -o decisions.jsonl
    python3 tools/decision_figures.py records.jsonl decisions.jsonl [--json]
"""
import json, re, sys

CYRILLIC = re.compile("[\u0400-\u04ff]")


def brand_answered(thread):
    spoke, answers = False, 0
    for m in thread or []:
        if not m.get("from_brand"):
            spoke = True
        elif spoke:
            answers += 1
    return answers > 0


def ece(items, bins=10):
    total = len(items)
    acc = [[0.0, 0.0, 0] for _ in range(bins)]
    for c, ok in items:
        b = min(int(c * bins), bins - 1)
        acc[b][0] += c
        acc[b][1] += ok
        acc[b][2] += 1
    return sum(k / total * abs(c / k - a / k) for c, a, k in acc if k) if total else 0.0


def coverage(rows, target):
    rows = sorted(rows, key=lambda r: -r[0])
    right = best = 0
    for k, (c, ok, _) in enumerate(rows):
        right += ok
        group_ends = k + 1 == len(rows) or rows[k + 1][0] != c
        if group_ends and right >= target * (k + 1):
            best = k + 1
    return best / len(rows) if rows else 0.0


def figures(records, decisions):
    gold = {r["id"]: r for r in records if r.get("action")}
    rows, by_lang = [], {}
    for d in decisions:
        r = gold.get(d.get("id"))
        if r is None or "action" not in d:
            continue
        ok = d["action"] == r["action"]
        rows.append((r, d, ok))
        by_lang.setdefault(r["lang"], []).append((d["confidence"], ok, d["needs_review"]))
    out = {"n": len(rows), "accuracy": sum(ok for *_, ok in rows) / len(rows)}
    out["by_lang"] = {l: sum(ok for _, ok, _ in v) / len(v) for l, v in sorted(by_lang.items())}
    waits = [ok for r, d, ok in rows if r["action"] == "wait"]
    out["wait_recall"] = sum(waits) / len(waits) if waits else None
    calm = [d["action"] == "wait" for r, d, _ in rows if brand_answered(r.get("thread")) and r["action"] != "wait"]
    out["calm_follow_ups_to_wait"] = sum(calm) / len(calm) if calm else None
    bans = [ok for r, d, ok in rows if d["action"] == "delete_and_ban"]
    out["ban_precision"] = sum(bans) / len(bans) if bans else None
    latin = [(r, d) for r, d, _ in rows if r["lang"] in ("bg", "ru") and not CYRILLIC.search(r["text"]) and re.search("[A-Za-z]", r["text"])]
    out["translit_detected"] = sum(d["lang"] == r["lang"] for r, d in latin) / len(latin) if latin else None
    out["translit_n"] = len(latin)
    out["confidence_ece"] = ece([(d["confidence"], ok) for r, d, ok in rows])
    autos = {}
    for key, items in [("all", [x for v in by_lang.values() for x in v])] + sorted(by_lang.items()):
        automated = [(c, ok) for c, ok, review in items if not review]
        autos[key] = {
            "automated": len(automated) / len(items),
            "automated_accuracy": sum(ok for _, ok in automated) / len(automated) if automated else None,
            "coverage_at_95": coverage(items, 0.95),
            "coverage_at_97": coverage(items, 0.97),
        }
    out["automation"] = autos
    return out


def main():
    records = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    decisions = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    f = figures(records, decisions)
    if "--json" in sys.argv:
        print(json.dumps(f, indent=1))
        return
    print(f"records with an action: {f['n']}; action accuracy {f['accuracy']:.3f} (" + ", ".join(f"{l} {a:.3f}" for l, a in f["by_lang"].items()) + ")")
    for k in ("wait_recall", "calm_follow_ups_to_wait", "ban_precision", "translit_detected", "confidence_ece"):
        v = f[k]
        print(f"{k}: {'-' if v is None else f'{v:.3f}'}" + (f" (n {f['translit_n']})" if k == "translit_detected" else ""))
    for key, a in f["automation"].items():
        acc = a["automated_accuracy"]
        print(f"automation {key}: automated {a['automated']:.3f} at accuracy {'-' if acc is None else f'{acc:.3f}'}; coverage at 95% {a['coverage_at_95']:.3f}, at 97% {a['coverage_at_97']:.3f}")


if __name__ == "__main__":
    main()
