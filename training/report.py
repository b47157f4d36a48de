#!/usr/bin/env python3
"""Renders the tables of RESULTS.md from a results.json written by train.py: python3 training/report.py FILE

With two files (python3 training/report.py MAMBA1.json MAMBA2.json) it prints the first file's tables, then the
side-by-side of the two families on the held-out text, k-shot and State Soup evaluations."""
import json
import sys

NAMED = ['antonym', 'uppercase', 'capital', 'plural', 'past']


def main(path: str) -> None:
    r = json.load(open(path))
    e = r['eval']
    t = r['train']
    print(f"Model: {r['parameters']:,} parameters; trained {t['steps']} steps, {t['tokens']:,} tokens "
          f"in {t['seconds']} s on {t['device']} (batch {t['batch']} x {t['seq']} tokens, peak lr {t['lr']}).\n")
    print('| held-out text | tokens | mean NLL (nats) | perplexity |\n|---|---:|---:|---:|')
    for src, p in e['perplexity'].items():
        print(f"| {src} | {p['tokens']:,} | {p['mean_nll']:.3f} | {p['perplexity']:.1f} |")
    names = list(e['icl'])
    print('\n| task | prompts | 0-shot | 1-shot | 2-shot | 8-shot |\n|---|---:|---:|---:|---:|---:|')
    for n in names:
        a = e['icl'][n]
        star = ' (named)' if n in NAMED else ''
        print(f"| {n}{star} | {e['n_prompts'][n]} | " + ' | '.join(f"{100 * a[k]:.0f} %" for k in ('0', '1', '2', '8')) + ' |')
    for key, label in (('icl_named5_mean', 'mean of the five named tasks'), ('icl_all_mean', f'mean of all {len(names)}')):
        print(f'| **{label}** | | ' + ' | '.join(f"**{100 * e[key][k]:.1f} %**" for k in ('0', '1', '2', '8')) + ' |')
    print('\n| task | mean of four 2-shot states | one 2-shot state (avg of the four) | 2-shot prompt | 8-shot prompt |')
    print('|---|---:|---:|---:|---:|')
    for n in names:
        s = e['soup'][n]
        print(f"| {n} | {100 * s['mean_of_four_2shot_states']:.0f} % | {100 * s['single_2shot_state_avg']:.1f} % | "
              f"{100 * s['prompt_2shot']:.0f} % | {100 * s['prompt_8shot']:.0f} % |")
    for key, label in (('soup_named5_mean', 'mean of the five named'), ('soup_all_mean', f'mean of all {len(names)}')):
        s = e[key]
        print(f"| **{label}** | **{100 * s['mean_of_four_2shot_states']:.1f} %** | **{100 * s['single_2shot_state_avg']:.1f} %** | "
              f"**{100 * s['prompt_2shot']:.1f} %** | **{100 * s['prompt_8shot']:.1f} %** |")
    cls = 'Mamba2ForCausalLM' if r.get('arch') == 'mamba2' else 'MambaForCausalLM'
    print(f'\nHF check (transformers {cls} vs the training implementation, same F16 weights): '
          f"max relative logit difference {r['hf_check']['hf_vs_train_max_rel_diff']:.2e}")


def side_by_side(path1: str, path2: str) -> None:
    r1, r2 = json.load(open(path1)), json.load(open(path2))
    e1, e2 = r1['eval'], r2['eval']
    n1, n2 = (r.get('arch', 'mamba1').replace('mamba', 'Mamba-') for r in (r1, r2))
    print(f'\n| | {n1} | {n2} |\n|---|---:|---:|')
    print(f"| parameters | {r1['parameters']:,} | {r2['parameters']:,} |")
    print(f"| training | {r1['train']['seconds']} s, {r1['train']['tokens']:,} tokens | "
          f"{r2['train']['seconds']} s, {r2['train']['tokens']:,} tokens |")
    for src in e1['perplexity']:
        print(f"| perplexity {src} | {e1['perplexity'][src]['perplexity']:.1f} | {e2['perplexity'][src]['perplexity']:.1f} |")
    for k in ('0', '1', '2', '8'):
        print(f"| {k}-shot, named five | {100 * e1['icl_named5_mean'][k]:.1f} % | {100 * e2['icl_named5_mean'][k]:.1f} % |")
    labels = {'mean_of_four_2shot_states': 'mean of four 2-shot states', 'single_2shot_state_avg': 'one 2-shot state (avg)',
              'prompt_2shot': '2-shot prompt', 'prompt_8shot': '8-shot prompt'}
    for key in ('soup_named5_mean', 'soup_all_mean'):
        scope = 'named five' if key == 'soup_named5_mean' else 'all 10'
        for m, label in labels.items():
            print(f"| State Soup, {scope}: {label} | {100 * e1[key][m]:.1f} % | {100 * e2[key][m]:.1f} % |")
    print('\n| task (mean of four 2-shot states) | ' + f'{n1} | {n2} |\n|---|---:|---:|')
    for n in e1['soup']:
        print(f"| {n} | {100 * e1['soup'][n]['mean_of_four_2shot_states']:.0f} % | "
              f"{100 * e2['soup'][n]['mean_of_four_2shot_states']:.0f} % |")


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'training/results/results.json')
    if len(sys.argv) > 2:
        side_by_side(sys.argv[1], sys.argv[2])
