#!/usr/bin/env python3
"""Renders the tables of RESULTS.md from a results.json written by train.py: python3 training/report.py FILE"""
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
    print('\nHF check (transformers MambaForCausalLM vs the training implementation, same F16 weights): '
          f"max relative logit difference {r['hf_check']['hf_vs_train_max_rel_diff']:.2e}")


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'training/results/results.json')
