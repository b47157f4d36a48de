// Picks the next token on the GPU from one row of logits, so only the id (4 bytes) is read back per token.
// One workgroup of WG invocations.
//   temperature <= 0: argmax (ties: the smallest id).
//   otherwise: p_i ∝ exp((l_i - max) / temperature) restricted to the top-k ids (topK > 0), then to the
//   nucleus (0 < topP < 1: the fewest highest-probability ids whose mass reaches topP), and one id is drawn
//   by inverse CDF in id order with a uniform number from a PCG generator whose state lives in rng[0]
//   (seeded by the host, advanced here: the same seed gives the same tokens).
// Thresholds are exact: bisection over the order-preserving u32 key of the f32 logits (32 steps), so ties
// at the k-th value are all kept.
// reportTop = N > 0 also writes the chosen id's probability and the N most likely ids with theirs, under
// softmax(logits) at temperature 1 (the model's own distribution).
// Shapes: logits f32 [V]; rng u32 [1]; tokens u32 (tokens[0] = chosen, the next step's input);
// out u32 [3 + 2 * 16]: id, prob bits, n, then (id, prob bits) pairs.
// Reference: argmax / sampling over referenceForward(...).logits (tests/engine*.test.ts).
// Dispatch: (1).
struct Params { temperature: f32, topK: u32, topP: f32, reportTop: u32 }

override V: u32;
// Invocations: a power of two <= 256 (256 on GPUs; 4 on SwiftShader, where barriers are costly).
override WG: u32 = 256u;
const MAX_TOP = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> rng: array<u32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

var<workgroup> rv: array<f32, 256>;
var<workgroup> ri: array<u32, 256>;
var<workgroup> sharedU: u32;
var<workgroup> sharedF: f32;

fn orderKey(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  return v1 > v2 || (v1 == v2 && i1 < i2);
}

// The best (value desc, id asc) logit strictly after (pv, pi) in that order; `first` means no exclusion.
fn bestAfter(li: u32, pv: f32, pi: u32, first: bool) -> vec2u {
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var v = li; v < V; v += WG) {
    let l = logits[v];
    if ((first || l < pv || (l == pv && v > pi)) && better(l, v, bv, bi)) {
      bv = l;
      bi = v;
    }
  }
  rv[li] = bv;
  ri[li] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s && better(rv[li + s], ri[li + s], rv[li], ri[li])) {
      rv[li] = rv[li + s];
      ri[li] = ri[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    sharedU = ri[0];
    sharedF = rv[0];
  }
  let i = workgroupUniformLoad(&sharedU);
  let v = workgroupUniformLoad(&sharedF);
  return vec2u(bitcast<u32>(v), i);
}

fn sumF(li: u32, x: f32) -> f32 {
  rv[li] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      rv[li] += rv[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    sharedF = rv[0];
  }
  return workgroupUniformLoad(&sharedF);
}

fn countAtLeast(li: u32, k: u32) -> u32 {
  var c = 0u;
  for (var v = li; v < V; v += WG) {
    c += select(0u, 1u, orderKey(logits[v]) >= k);
  }
  ri[li] = c;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      ri[li] += ri[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    sharedU = ri[0];
  }
  return workgroupUniformLoad(&sharedU);
}

fn massAtLeast(li: u32, k: u32, mx: f32, invT: f32) -> f32 {
  var m = 0.0;
  for (var v = li; v < V; v += WG) {
    let l = logits[v];
    if (orderKey(l) >= k) {
      m += exp((l - mx) * invT);
    }
  }
  return sumF(li, m);
}

fn pcg(state: u32) -> u32 {
  let s = state * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) li: u32) {
  let top = bestAfter(li, 0.0, 0u, true);
  let mx = bitcast<f32>(top.x);
  let amax = top.y;
  var chosen = amax;
  let temperature = params.temperature;
  if (temperature > 0.0) {
    let invT = 1.0 / temperature;
    var lo = 0u;
    let hiStart = orderKey(mx) + 1u;
    let k = params.topK;
    if (k > 0u && k < V) {
      var hi = hiStart;
      for (var it = 0u; it < 33u; it++) {
        if (hi - lo <= 1u) {
          break;
        }
        let mid = lo + (hi - lo) / 2u;
        if (countAtLeast(li, mid) >= k) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
    }
    let p = params.topP;
    if (p > 0.0 && p < 1.0) {
      let goal = p * massAtLeast(li, lo, mx, invT);
      var hi = hiStart;
      for (var it = 0u; it < 33u; it++) {
        if (hi - lo <= 1u) {
          break;
        }
        let mid = lo + (hi - lo) / 2u;
        if (massAtLeast(li, mid, mx, invT) >= goal) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
    }
    // Inverse CDF in id order: each invocation sums one contiguous block of ids.
    let block = (V + WG - 1u) / WG;
    let start = min(V, li * block);
    let end = min(V, start + block);
    var s = 0.0;
    for (var v = start; v < end; v++) {
      let l = logits[v];
      if (orderKey(l) >= lo) {
        s += exp((l - mx) * invT);
      }
    }
    rv[li] = s;
    workgroupBarrier();
    if (li == 0u) {
      let word = pcg(rng[0]);
      rng[0] = word;
      let u = f32(word >> 8u) * (1.0 / 16777216.0);
      var total = 0.0;
      for (var j = 0u; j < WG; j++) {
        total += rv[j];
      }
      let goal = u * total;
      var cum = 0.0;
      var pick = amax;
      for (var j = 0u; j < WG; j++) {
        if (rv[j] > 0.0 && cum + rv[j] > goal) {
          let bs = min(V, j * block);
          let be = min(V, bs + block);
          var c2 = cum;
          for (var v = bs; v < be; v++) {
            let l = logits[v];
            if (orderKey(l) >= lo) {
              pick = v;
              c2 += exp((l - mx) * invT);
              if (c2 > goal) {
                break;
              }
            }
          }
          break;
        }
        cum += rv[j];
      }
      sharedU = pick;
    }
    chosen = workgroupUniformLoad(&sharedU);
  }
  if (li == 0u) {
    tokens[0] = chosen;
    out[0] = chosen;
  }
  let n = min(min(params.reportTop, MAX_TOP), V);
  if (n > 0u) {
    var z = 0.0;
    for (var v = li; v < V; v += WG) {
      z += exp(logits[v] - mx);
    }
    let total = sumF(li, z);
    if (li == 0u) {
      out[1] = bitcast<u32>(exp(logits[chosen] - mx) / total);
      out[2] = n;
    }
    var prev = top;
    for (var j = 0u; j < n; j++) {
      if (j > 0u) {
        prev = bestAfter(li, bitcast<f32>(prev.x), prev.y, false);
      }
      if (li == 0u) {
        out[3u + 2u * j] = prev.y;
        out[4u + 2u * j] = bitcast<u32>(exp(bitcast<f32>(prev.x) - mx) / total);
      }
    }
  }
}
