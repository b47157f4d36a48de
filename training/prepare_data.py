#!/usr/bin/env python3
"""Builds the default model's training data from the raw sources (plain Python 3.11, no third-party modules).

Reads training/data/raw (made by fetch_sources.sh) and writes:
  training/data/text_train.jsonl, text_val.jsonl   natural text documents ({"src", "text"} per line)
  training/data/tasks.json                        the task suite with its splits (also shipped with the model)
  training/data/eval_prompts.json                 the fixed evaluation prompts (examples + held-out query)

Design (see README.md):
- Every task is a function input -> output; a line is `input->output`, a query ends with `->`.
- Rule tasks (uppercase, lowercase, capitalize, first_letter, spell, plural, past) hold out a set of words that never
  appears as the input of ANY rule task in training (one shared set, so `light` held out for uppercase is not
  seen as `LIGHT->light` in lowercase training either).
- Knowledge tasks (antonym, capital, continent) need their facts in training; their evaluation prompts pair a
  query with 8 examples, and training never puts the query in the same block as any of those 8 examples
  (training/train.py enforces it with `forbidden` from eval_prompts.json).
"""
from __future__ import annotations

import collections
import csv
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RAW = ROOT / 'data' / 'raw'
OUT = ROOT / 'data'
SEED = 1234
N_EVAL = 100  # held-out queries per task (fewer where a task has fewer)
N_SHOTS = 8  # examples per evaluation prompt; k-shot prompts use the first k


# ---------------------------------------------------------------- natural text
def brown_documents() -> list[tuple[str, list[tuple[str, str]], str]]:
    """(file id, [(word, tag)], detokenized text) for each Brown file."""
    docs = []
    for path in sorted((RAW / 'brown').glob('c[a-r][0-9][0-9]')):
        tagged: list[tuple[str, str]] = []
        paragraphs = []
        for para in re.split(r'\n\s*\n', path.read_text(encoding='latin-1')):
            toks = para.split()
            if not toks:
                continue
            words = []
            for t in toks:
                w, _, tag = t.rpartition('/')
                if not w:
                    continue
                tagged.append((w, tag))
                words.append(w)
            paragraphs.append(detokenize(words))
        docs.append((path.name, tagged, '\n'.join(p for p in paragraphs if p)))
    return docs


def detokenize(words: list[str]) -> str:
    s = ' '.join(words)
    s = s.replace('``', '"').replace("''", '"')
    s = re.sub(r' ([,.;:!?)])', r'\1', s)
    s = re.sub(r'([(]) ', r'\1', s)
    s = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r'\1', s)
    # Quotes: attach an opening quote to the next word and a closing one to the previous word.
    out, open_q = [], True
    for part in s.split('"'):
        out.append(part)
    s = ''
    for i, part in enumerate(out):
        if i == 0:
            s = part
            continue
        if open_q:
            s = s + '"' + part.lstrip()
        else:
            s = s.rstrip() + '"' + part
        open_q = not open_q
    s = re.sub(r'\s+', ' ', s).strip()
    # The Brown corpus capitalizes sentence starts already; fix spacing around " -- ".
    return s


def kjv_documents() -> list[tuple[str, str]]:
    """One document per chapter: 'Genesis 1\\n' followed by its verses, one per line, without numbers."""
    docs, title, verses = [], None, []
    for line in (RAW / 'kjv.txt').read_text(encoding='latin-1').splitlines():
        if not line.strip():
            continue
        m = re.match(r'^\s+\d+ (.*)$', line)
        if m:
            verses.append(m.group(1).strip())
        else:
            if title and verses:
                docs.append((title, title + '\n' + '\n'.join(verses)))
            title, verses = line.strip(), []
    if title and verses:
        docs.append((title, title + '\n' + '\n'.join(verses)))
    return docs


# ---------------------------------------------------------------- word statistics from Brown tags
def base_tag(tag: str) -> str:
    tag = tag.lower().split('-')[0].rstrip('*$')
    return tag.split('+')[0]


def tag_counts(docs) -> dict[str, collections.Counter]:
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for _, tagged, _ in docs:
        for w, tag in tagged:
            counts[base_tag(tag)][w.lower()] += 1
    return counts


ALPHA = re.compile(r'^[a-z]+$')


def regular_plurals(s: str) -> list[str]:
    if re.search(r'(s|x|z|ch|sh)$', s):
        return [s + 'es']
    if re.search(r'[^aeiou]y$', s):
        return [s[:-1] + 'ies']
    return [s + 's', s + 'es']


def regular_pasts(v: str) -> list[str]:
    if v.endswith('e'):
        return [v + 'd']
    if re.search(r'[^aeiou]y$', v):
        return [v[:-1] + 'ied']
    c = [v + 'ed']
    if re.search(r'[^aeiou][aeiou][bcdfgklmnprstvz]$', v):
        c.append(v + v[-1] + 'ed')
    return c


def read_exc(name: str) -> dict[str, list[str]]:
    """WordNet exception list: inflected form -> base forms; returned as base -> inflected forms."""
    by_base: dict[str, list[str]] = collections.defaultdict(list)
    for line in (RAW / 'wordnet' / name).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            for base in parts[1:]:
                by_base[base].append(parts[0])
    return by_base


def plural_pairs(tc) -> list[tuple[str, str]]:
    exc = read_exc('noun.exc')
    pairs = []
    for s, n in tc['nn'].most_common():
        if n < 4 or not ALPHA.match(s) or len(s) < 3:
            continue
        cands = [p for p in exc.get(s, []) + regular_plurals(s) if ALPHA.match(p)]
        scored = [(tc['nns'][p], p) for p in cands if tc['nns'][p] > 0]
        if not scored:
            continue
        pairs.append((s, max(scored)[1]))
    return pairs


def past_pairs(tc) -> list[tuple[str, str]]:
    exc = read_exc('verb.exc')
    pairs = []
    for v, n in tc['vb'].most_common():
        if n < 4 or not ALPHA.match(v) or len(v) < 2:
            continue
        cands = [p for p in exc.get(v, []) + regular_pasts(v) if ALPHA.match(p)]
        scored = [(tc['vbd'][p], p) for p in cands if tc['vbd'][p] > 1]
        if not scored:
            continue
        pairs.append((v, max(scored)[1]))
    return pairs


def wordnet_lemmas(pos: str) -> list[str]:
    """Single-word, lowercase, alphabetic lemmas of WordNet's index.<pos> (the licence header lines start with
    spaces and are skipped)."""
    out = []
    for line in (RAW / 'wordnet' / f'index.{pos}').read_text().splitlines():
        if line.startswith(' '):
            continue
        w = line.split(' ', 1)[0]
        if ALPHA.match(w):
            out.append(w)
    return out


def wider_pairs(lemmas, known: dict[str, str], exc: dict[str, list[str]], rule, seen: collections.Counter,
                min_freq: int) -> list[tuple[str, str]]:
    """More (base, inflected) pairs for the rule tasks' training sets, beyond the Brown-tagged ones: WordNet
    lemmas that occur in the text at least `min_freq` times, inflected by the exception list or the spelling
    rules, keeping only a form that itself occurs in the text (any tag, Brown or KJV) so that ambiguous rules
    (`visit`: visited, not visitted; `hero`: heroes, not heros) are settled by attestation. The Brown-tagged
    pairs (`known`) win where both exist."""
    pairs = dict(known)
    for w in lemmas:
        if w in pairs or len(w) < 3 or seen[w] < min_freq:
            continue
        cands = [f for f in exc.get(w, []) + rule(w) if ALPHA.match(f) and f != w]
        scored = [(seen[f], f) for f in cands if seen[f] > 0]
        if scored:
            pairs[w] = max(scored)[1]
    return sorted(pairs.items())


def spell(w: str) -> str:
    return ' '.join(w)


def antonym_pairs(freq: collections.Counter) -> list[tuple[str, str]]:
    """WordNet direct antonyms ('!' lexical pointers) of adjectives, verbs, nouns and adverbs; one answer per
    input (the most frequent antonym in Brown), both words common (Brown count >= 15)."""
    cands: dict[str, set[str]] = collections.defaultdict(set)
    for pos in ('adj', 'verb', 'noun', 'adv'):
        lines = (RAW / 'wordnet' / f'data.{pos}').read_text().splitlines()
        offsets: dict[str, list[str]] = {}
        parsed = []
        for line in lines:
            if line.startswith('  '):
                continue
            f = line.split(' | ')[0].split()
            off, wcnt = f[0], int(f[3], 16)
            words = [f[4 + 2 * i].lower() for i in range(wcnt)]
            words = [re.sub(r'\(.*\)$', '', w) for w in words]
            offsets[off] = words
            i = 4 + 2 * wcnt
            pcnt = int(f[i])
            ptrs = []
            for j in range(pcnt):
                sym, toff, _tpos, st = f[i + 1 + 4 * j: i + 5 + 4 * j]
                if sym == '!':
                    ptrs.append((toff, int(st[:2], 16), int(st[2:], 16)))
            parsed.append((words, ptrs))
        for words, ptrs in parsed:
            for toff, si, ti in ptrs:
                tw = offsets.get(toff)
                if not tw or si == 0 or ti == 0:
                    continue
                a, b = words[si - 1], tw[ti - 1]
                if ALPHA.match(a) and ALPHA.match(b) and freq[a] >= 15 and freq[b] >= 15 and a != b:
                    cands[a].add(b)
    pairs = []
    for a in sorted(cands):
        best = max(sorted(cands[a]), key=lambda b: freq[b])
        pairs.append((a, best))
    return pairs


def country_pairs() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    capitals, continents = [], []
    ok = re.compile(r"^[A-Za-z][A-Za-z .'-]*$")
    with open(RAW / 'countries' / 'countries.csv', newline='', encoding='utf-8') as fh:
        for row in csv.DictReader(fh):
            name, cap, cont = row['Name'].strip(), row['Capital'].strip(), row['Continent'].strip()
            if not ok.match(name) or len(name) > 24:
                continue
            if cap and ok.match(cap) and cap != name:
                capitals.append((name, cap))
            if cont and ok.match(cont):
                continents.append((name, cont))
    return capitals, continents


# ---------------------------------------------------------------- the suite
def main() -> None:
    rng = random.Random(SEED)
    brown = brown_documents()
    kjv = kjv_documents()
    tc = tag_counts(brown)
    freq: collections.Counter = collections.Counter()
    for _, tagged, _ in brown:
        for w, _t in tagged:
            freq[w.lower()] += 1

    # Word counts over all the natural text (Brown and KJV, lower-cased): attestation for the wider pairs.
    seen: collections.Counter = collections.Counter(freq)
    for _title, text in kjv:
        seen.update(w.lower() for w in re.findall(r'[A-Za-z]+', text))

    plurals = plural_pairs(tc)
    pasts = past_pairs(tc)
    # Training-only additions (the held-out nouns and verbs below still come from the Brown-tagged pairs).
    plurals_wide = wider_pairs(wordnet_lemmas('noun'), dict(plurals), read_exc('noun.exc'), regular_plurals, seen, 2)
    pasts_wide = wider_pairs(wordnet_lemmas('verb'), dict(pasts), read_exc('verb.exc'), regular_pasts, seen, 2)
    antonyms = antonym_pairs(freq)
    capitals, continents = country_pairs()

    # The word pool of the letter/case tasks: common lowercase words, plus every noun and verb input, so that
    # query words are shared between tasks (light -> LIGHT, Light, l, lights, dark).
    common = [w for w, n in freq.most_common() if n >= 8 and ALPHA.match(w) and 3 <= len(w) <= 11]
    pool = sorted(set(common[:4000]) | {s for s, _ in plurals} | {v for v, _ in pasts} | {a for a, _ in antonyms})

    # One held-out set for all rule tasks: 150 nouns from the plural pairs, 150 verbs from the past pairs,
    # 150 other pool words. None of them is a rule-task input in training.
    noun_ho = set(rng.sample(sorted(s for s, _ in plurals), 150))
    verb_ho = set(rng.sample(sorted(v for v, _ in pasts if v not in noun_ho), 150))
    rest = sorted(set(pool) - noun_ho - verb_ho)
    word_ho = set(rng.sample(rest, 150))
    held = noun_ho | verb_ho | word_ho
    # The letter/case tasks train on a wider pool than the one the held-out words were drawn from: every word of
    # the text seen at least 3 times (3-12 letters) and every input of the wider plural/past pairs. More distinct
    # words per rule means a rule learnt on the pieces words are made of, not on a few thousand memorised words.
    # The answers of held-out plural/past queries are kept out of it too (`absorbed` as an uppercase or spell
    # input would show the model the very form it is asked for).
    answers_ho = {f for w, f in plurals_wide + pasts_wide if w in held}
    wide = sorted((set(pool) | {w for w, n in seen.items() if n >= 3 and ALPHA.match(w) and 3 <= len(w) <= 12}
                   | {s for s, _ in plurals_wide} | {v for v, _ in pasts_wide}) - answers_ho)

    def split_rule(pairs, key_held):
        train = [p for p in pairs if p[0].lower() not in held and p[0].lower() not in answers_ho]
        test = [p for p in pairs if p[0].lower() in key_held]
        return train, test

    pool_pairs = lambda f: [(w, f(w)) for w in wide]  # noqa: E731
    case_ho = held  # any held-out word can be a case/letter query
    tasks = []

    def add(name, kind, description, pairs, test=None):
        if kind == 'rule':
            train, heldout = split_rule(pairs, case_ho if test is None else test)
        else:
            train, heldout = list(pairs), None
        tasks.append({'name': name, 'kind': kind, 'description': description, 'train': train, 'heldout': heldout})

    add('antonym', 'knowledge', 'word -> its opposite (WordNet direct antonyms)', antonyms)
    add('uppercase', 'rule', 'word -> the word in capitals', pool_pairs(str.upper))
    add('capital', 'knowledge', 'country -> its capital city', capitals)
    add('plural', 'rule', 'singular noun -> plural (forms attested in the Brown corpus or the KJV)', plurals_wide,
        noun_ho)
    add('past', 'rule', 'verb -> simple past tense (forms attested in the Brown corpus or the KJV)', pasts_wide,
        verb_ho)
    add('lowercase', 'rule', 'WORD IN CAPITALS -> the word in lower case',
        [(w.upper(), w) for w in wide])
    add('capitalize', 'rule', 'word -> the word with a capital first letter', pool_pairs(str.capitalize))
    add('first_letter', 'rule', 'word -> its first letter', pool_pairs(lambda w: w[0]))
    add('continent', 'knowledge', 'country -> its continent', continents)
    add('spell', 'rule', 'word -> its letters, separated by spaces', pool_pairs(spell))

    # Held-out queries and their fixed 8 examples (first k used for k-shot; pairs of two make the 2-shot
    # states that the State Soup evaluation averages).
    prompts = []
    for t in tasks:
        if t['kind'] == 'rule':
            queries = rng.sample(t['heldout'], min(N_EVAL, len(t['heldout'])))
            t['heldout'] = sorted(t['heldout'])
        else:
            queries = rng.sample(t['train'], min(N_EVAL, len(t['train']) // 2))
            t['heldout'] = sorted(queries)
        for q in queries:
            others = [p for p in t['train'] if p[0] != q[0]]
            prompts.append({'task': t['name'], 'query': list(q), 'examples': [list(e) for e in rng.sample(others, N_SHOTS)]})
        t['train'] = sorted(t['train'])

    # Sanity: rule-task training inputs never contain a held-out word or the answer of a held-out query.
    for t in tasks:
        if t['kind'] == 'rule':
            assert not any(i.lower() in held or i.lower() in answers_ho for i, _ in t['train']), t['name']

    # Natural text: Brown files whose number ends in 0 and every 25th KJV chapter are held out.
    text_train, text_val = [], []
    for fid, _tagged, text in brown:
        (text_val if fid.endswith('0') else text_train).append({'src': f'brown/{fid}', 'text': text})
    for i, (title, text) in enumerate(kjv):
        (text_val if i % 25 == 12 else text_train).append({'src': f'kjv/{title}', 'text': text})

    OUT.mkdir(parents=True, exist_ok=True)
    for name, docs in (('text_train.jsonl', text_train), ('text_val.jsonl', text_val)):
        with open(OUT / name, 'w') as fh:
            for d in docs:
                fh.write(json.dumps(d) + '\n')
    suite = {
        'format': 'one example per line: input->output; a query ends with ->',
        'separator': '->',
        'heldoutMeaning': {
            'rule': 'words never used as the input of any rule task (uppercase, lowercase, capitalize, '
            'first_letter, spell, plural, past) in training; neither are the plural and past forms of the '
            'held-out nouns and verbs',
            'knowledge': 'evaluation queries: the facts are in training, but never in one training block '
            'together with the examples of their evaluation prompt',
        },
        'tasks': [
            {
                'name': t['name'],
                'kind': t['kind'],
                'description': t['description'],
                'train': [list(p) for p in t['train']],
                'heldout': [list(p) for p in t['heldout']],
            }
            for t in tasks
        ],
    }
    (OUT / 'tasks.json').write_text(json.dumps(suite, indent=0) + '\n')
    (OUT / 'eval_prompts.json').write_text(json.dumps({'shots': N_SHOTS, 'prompts': prompts}) + '\n')
    chars = lambda docs: sum(len(d['text']) for d in docs)  # noqa: E731
    print(f'text: train {len(text_train)} docs {chars(text_train)/1e6:.2f} M chars, val {len(text_val)} docs '
          f'{chars(text_val)/1e6:.2f} M chars', file=sys.stderr)
    for t in tasks:
        n_eval = sum(1 for p in prompts if p['task'] == t['name'])
        print(f"task {t['name']:12s} {t['kind']:9s} train {len(t['train']):5d} heldout {len(t['heldout']):4d} "
              f'eval {n_eval}', file=sys.stderr)


if __name__ == '__main__':
    main()
