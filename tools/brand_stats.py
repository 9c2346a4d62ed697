#!/usr/bin/env python3
"""Checks and summarises the brand-comment set (datasets/brand/*.jsonl): format errors,
counts per intent/action, share with a thread, text length, multi-sentence share, emoji,
digits, Romanian diacritics, Latin-script bg/ru, kinds of business.

    python3 tools/brand_stats.py datasets/brand/ro.jsonl [--new-from N]
"""
import json, re, statistics, sys, collections

INTENTS = ["question", "request", "complaint", "praise", "misinformation", "troll", "abuse", "spam", "other"]
ACTIONS = ["answer", "thank", "resolve", "acknowledge", "correct", "wait", "ignore", "hide", "delete_and_ban", "escalate"]
SENTIMENTS = ["negative", "neutral", "positive"]
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
SENT_END = re.compile(r"[.!?…]+[\s\"')\]]+\S")
RO_DIACRITICS = re.compile("[ăâîșşțţĂÂÎȘŞȚŢ]")
CYR = re.compile("[\u0400-\u04FF]")


def check(path, new_from=0):
    errors, recs, ids = [], [], set()
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            r = json.loads(line)
        except Exception as e:
            errors.append(f"{path}:{n}: invalid JSON: {e}")
            continue
        for k in ("id", "text", "lang", "source", "intent", "sentiment", "action", "labels"):
            if k not in r:
                errors.append(f"{path}:{n}: missing {k}")
        if r.get("intent") not in INTENTS: errors.append(f"{path}:{n}: bad intent {r.get('intent')}")
        if r.get("action") not in ACTIONS: errors.append(f"{path}:{n}: bad action {r.get('action')}")
        if r.get("sentiment") not in SENTIMENTS: errors.append(f"{path}:{n}: bad sentiment")
        if r.get("id") in ids: errors.append(f"{path}:{n}: duplicate id {r.get('id')}")
        ids.add(r.get("id"))
        ab = r.get("labels", {}).get("abusive")
        if ab not in (0, 1): errors.append(f"{path}:{n}: labels.abusive must be 0 or 1")
        if (ab == 1) != (r.get("intent") == "abuse"): errors.append(f"{path}:{n}: abusive=1 exactly when intent is abuse")
        for m in r.get("thread", []):
            if set(m) != {"text", "from_brand"}: errors.append(f"{path}:{n}: thread message needs text, from_brand")
        if r.get("thread") and not r.get("author_id"): errors.append(f"{path}:{n}: a record with a thread needs author_id")
        if r.get("action") == "wait" and not any(m.get("from_brand") for m in r.get("thread", [])):
            errors.append(f"{path}:{n}: wait needs a brand reply in the thread")
        recs.append(r)
    new = [r for r in recs if int(r["id"].rsplit("-", 1)[1]) > new_from]
    for name, rs in (("all", recs), (f"new (id > {new_from})", new)):
        if not rs: continue
        texts = [r["text"] for r in rs]
        lang = rs[0]["lang"]
        print(f"== {path} {name}: {len(rs)} records")
        print("  intents ", dict(collections.Counter(r["intent"] for r in rs).most_common()))
        print("  actions ", dict(collections.Counter(r["action"] for r in rs).most_common()))
        print(f"  median chars {statistics.median(len(t) for t in texts):.0f}; multi-sentence {sum(bool(SENT_END.search(t)) for t in texts)/len(rs):.0%};"
              f" thread {sum(bool(r.get('thread')) for r in rs)/len(rs):.0%}; emoji {sum(bool(EMOJI.search(t)) for t in texts)/len(rs):.0%};"
              f" digits {sum(any(c.isdigit() for c in t) for t in texts)/len(rs):.0%}; complaint {sum(r['intent']=='complaint' for r in rs)/len(rs):.0%}")
        if lang == "ro":
            print(f"  diacritics {sum(bool(RO_DIACRITICS.search(t)) for t in texts)/len(rs):.0%}")
        if lang in ("bg", "ru"):
            print(f"  latin-script {sum(not CYR.search(t) and bool(re.search('[A-Za-z]', t)) for t in texts)/len(rs):.0%}")
        biz = collections.Counter(r.get("business") for r in rs if r.get("business"))
        print(f"  kinds of business {len(biz)}: {dict(biz.most_common())}")
    for e in errors[:50]:
        print(e)
    return not errors


if __name__ == "__main__":
    new_from = int(sys.argv[sys.argv.index("--new-from") + 1]) if "--new-from" in sys.argv else 0
    ok = all([check(p, new_from) for p in sys.argv[1:] if p.endswith(".jsonl")])
    sys.exit(0 if ok else 1)
