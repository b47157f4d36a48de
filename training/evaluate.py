"""Evaluation of a Mamba (mamba_torch.Mamba holding the shipped F16 weights, run in float32).

- Held-out text perplexity: the validation documents of each source, tokenized and joined with <|endoftext|>,
  cut into windows of 1024 tokens, each read from the zero state; perplexity = exp(mean NLL).
- In-context learning: for each evaluation prompt (task, held-out query, 8 fixed examples), the prompt is the
  first k example lines `in->out\\n` then `query->`, read from the zero state; greedy decoding until a newline;
  exact match of the generated line with the answer. k = 0, 1, 2, 8.
- State Soup: the 8 examples form four 2-shot prompts; each is read from the zero state; the four states
  (per layer: SSM state and conv state) are averaged; `query->` is read from the mean and decoded greedily.
  Compared with the single 2-shot state (= the 2-shot prompt), the average over the four single 2-shot states,
  and the 8-shot prompt.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

NAMED = ['antonym', 'uppercase', 'capital', 'plural', 'past']
SHOTS = [0, 1, 2, 8]


class Runner:
    def __init__(self, model, tok, device, bsz: int = 256):
        self.model, self.tok, self.device, self.bsz = model, tok, device, bsz
        self.cache: dict[str, list[int]] = {}
        self.newline_ids = {i for i in range(tok.vocab_size) if '\n' in tok.decode([i])}

    def enc(self, s: str) -> list[int]:
        if s not in self.cache:
            self.cache[s] = self.tok.encode(s)
        return self.cache[s]

    @torch.no_grad()
    def read(self, seqs: list[list[int]], states=None):
        """Reads each row (right-padded) from `states` (or zero); returns last-position logits and states."""
        lens = torch.tensor([len(s) for s in seqs], device=self.device)
        width = int(lens.max())
        ids = torch.full((len(seqs), width), self.tok.eot, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        logits, st = self.model(ids.to(self.device), states=states, lengths=lens)
        last = logits[torch.arange(len(seqs), device=self.device), lens - 1]
        return last, [(c, h) for c, h, _ in st]

    @torch.no_grad()
    def greedy(self, seqs: list[list[int]], states=None, max_new: int = 30) -> list[str]:
        # 30 new tokens hold the longest answer (spell: 12 letters and 11 spaces, then the newline).
        out: list[str] = []
        for i in range(0, len(seqs), self.bsz):
            chunk = seqs[i:i + self.bsz]
            st = None if states is None else [(c[i:i + self.bsz], h[i:i + self.bsz]) for c, h in states]
            last, st = self.read(chunk, st)
            gen = [[] for _ in chunk]
            done = [False] * len(chunk)
            for _ in range(max_new):
                nxt = last.argmax(-1).tolist()
                for j, t in enumerate(nxt):
                    if not done[j]:
                        gen[j].append(t)
                        done[j] = t in self.newline_ids
                if all(done):
                    break
                last, st = self.read([[t] for t in nxt], st)
            out.extend(self.tok.decode(g).split('\n')[0] for g in gen)
        return out

    @torch.no_grad()
    def perplexity(self, docs: list[str], window: int = 1024) -> dict:
        ids: list[int] = []
        for d in docs:
            ids.extend(self.tok.encode(d) + [self.tok.eot])
        n_win = len(ids) // (window + 1)
        total, count = 0.0, 0
        for i in range(0, n_win, 16):
            rows = [ids[j * (window + 1):(j + 1) * (window + 1)] for j in range(i, min(n_win, i + 16))]
            x = torch.tensor(rows, device=self.device)
            logits, _ = self.model(x[:, :-1])
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction='sum')
            total += nll.item()
            count += x[:, 1:].numel()
        mean = total / max(1, count)
        return {'tokens': count, 'mean_nll': mean, 'perplexity': math.exp(mean), 'window': window}


def lines(r: Runner, exs) -> list[int]:
    out: list[int] = []
    for e in exs:
        out.extend(r.enc(f'{e[0]}->{e[1]}\n'))
    return out


def evaluate(model, tok, val_docs, suite, prompts, device, log, per_task: int = 0) -> dict:
    t0 = time.time()
    r = Runner(model, tok, device)
    res: dict = {'perplexity': {}}
    for src in ('brown', 'kjv'):
        docs = [d['text'] for d in val_docs if d['src'].startswith(src)]
        res['perplexity'][src] = r.perplexity(docs)
        log(f"perplexity {src}: {res['perplexity'][src]}")

    names = [t['name'] for t in suite['tasks']]
    by_task = {n: [p for p in prompts if p['task'] == n] for n in names}
    if per_task:
        by_task = {n: v[:per_task] for n, v in by_task.items()}
    flat = [p for n in names for p in by_task[n]]

    def score(preds, ps):
        acc: dict[str, list[int]] = {}
        for pr, p in zip(preds, ps):
            acc.setdefault(p['task'], []).append(int(pr == p['query'][1]))
        return {n: sum(v) / len(v) for n, v in acc.items()}

    icl: dict = {n: {} for n in names}
    samples = []
    for k in SHOTS:
        seqs = [lines(r, p['examples'][:k]) + r.enc(f"{p['query'][0]}->") for p in flat]
        preds = r.greedy(seqs)
        for n, v in score(preds, flat).items():
            icl[n][k] = v
        for p, pr in list(zip(flat, preds))[::max(1, len(flat) // 12)]:
            samples.append({'k': k, 'task': p['task'], 'query': p['query'][0], 'answer': p['query'][1], 'output': pr})
        log(f'k={k}: ' + ', '.join(f'{n} {icl[n][k]:.2f}' for n in names))
    res['icl'] = icl
    res['icl_named5_mean'] = {k: sum(icl[n][k] for n in NAMED) / len(NAMED) for k in SHOTS}
    res['icl_all_mean'] = {k: sum(icl[n][k] for n in names) / len(names) for k in SHOTS}
    res['samples'] = samples

    # State Soup: the mean of four 2-shot states.
    two = [lines(r, p['examples'][2 * i:2 * i + 2]) for p in flat for i in range(4)]
    conv_all, ssm_all = [], []
    for i in range(0, len(two), r.bsz):
        _, st = r.read(two[i:i + r.bsz])
        conv_all.append([c for c, _ in st])
        ssm_all.append([h for _, h in st])
    n_layer = len(conv_all[0])
    conv = [torch.cat([c[l] for c in conv_all]) for l in range(n_layer)]
    ssm = [torch.cat([s[l] for s in ssm_all]) for l in range(n_layer)]
    queries = [r.enc(f"{p['query'][0]}->") for p in flat]
    mean_states = [(c.view(len(flat), 4, *c.shape[1:]).mean(1), h.view(len(flat), 4, *h.shape[1:]).mean(1))
                   for c, h in zip(conv, ssm)]
    soup = score(r.greedy(queries, mean_states), flat)
    single = {n: 0.0 for n in names}
    for i in range(4):
        st_i = [(c.view(len(flat), 4, *c.shape[1:])[:, i], h.view(len(flat), 4, *h.shape[1:])[:, i])
                for c, h in zip(conv, ssm)]
        for n, v in score(r.greedy(queries, st_i), flat).items():
            single[n] += v / 4
    res['soup'] = {n: {'mean_of_four_2shot_states': soup[n], 'single_2shot_state_avg': single[n],
                       'prompt_2shot': icl[n][2], 'prompt_8shot': icl[n][8]} for n in names}
    for key, d in (('named5', NAMED), ('all', names)):
        res[f'soup_{key}_mean'] = {m: sum(res['soup'][n][m] for n in d) / len(d) for m in res['soup'][names[0]]}
    log('soup (mean of four 2-shot states / single 2-shot avg / 2-shot prompt / 8-shot prompt): ' + ', '.join(
        f"{n} {soup[n]:.2f}/{single[n]:.2f}/{icl[n][2]:.2f}/{icl[n][8]:.2f}" for n in names))
    log(f"named-5 means: icl {res['icl_named5_mean']} soup {res['soup_named5_mean']}")
    res['n_prompts'] = {n: len(by_task[n]) for n in names}
    res['seconds'] = round(time.time() - t0, 1)
    return res
