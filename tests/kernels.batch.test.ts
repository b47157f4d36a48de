/**
 * The batched kernels on a real adapter against a float64 CPU reference written here from the formulas in
 * their headers: conv1d_seg.wgsl and scan_seg.wgsl on a chunk cut into segments of 1, 6 and 3 tokens, each
 * continuing from its own state slot (slots out of order, one slot left untouched), and argmax_rows.wgsl on
 * rows with ties. Tolerance: 1e-5 relative (f32 against float64 over a few tokens).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { readBuffer, rng, storageBuffer, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
let pipes: PipelineCache;
beforeAll(async () => {
  dev = await openNodeDevice();
  pipes = PipelineCache.forDevice(dev.device);
});

function storage(data: ArrayBufferView): GPUBuffer {
  return storageBuffer(dev.device, data);
}

function read(b: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  return readBuffer(dev.device, b, bytes);
}

function run(pipeline: GPUComputePipeline, bind: GPUBindGroup, x: number, y: number): void {
  const enc = dev.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(x, y);
  pass.end();
  dev.device.queue.submit([enc.finish()]);
}

const rand = (n: number, next: () => number, scale = 1) =>
  Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
const silu = (v: number) => v / (1 + Math.exp(-v));

// Segments (start, length, slot) of a 10-token chunk; 4 slots, slot 1 unused.
const SEGS: [number, number, number][] = [
  [0, 1, 2],
  [1, 6, 0],
  [7, 3, 3],
];
const T = 10;
const SLOTS = 4;
function segTable(): Uint32Array {
  return Uint32Array.from([SEGS.length, ...SEGS.flatMap(([s, , slot]) => [s, slot]), T]);
}

describe('segmented conv (conv1d_seg.wgsl)', () => {
  it('continues each segment from its slot and leaves each slot its last inputs', async () => {
    await withScope(dev.device, async () => {
      const next = rng(21);
      const [DI, DC, CONV_OFF, STRIDE, CW_OFF, CB_OFF] = [70, 4, 3, 3 + 70 * 3 + 2, 5, 5 + 70 * 4];
      const xz = rand(T * 2 * DI, next);
      const params = rand(CB_OFF + DI, next, 0.5);
      const slots = rand(SLOTS * STRIDE, next);
      const k = pipes.kernel('conv1d_seg', { DI, DC, HAS_BIAS: true, CW_OFF, CB_OFF, CONV_OFF, STRIDE });
      const b = {
        segs: storage(segTable()),
        xz: storage(xz),
        params: storage(params),
        slots: storage(slots),
      };
      const xc = storage(new Float32Array(T * DI));
      run(k.pipeline, k.bind('conv1d_seg', { ...b, xc }), Math.ceil(DI / 64), T);
      const gotXc = new Float32Array(await read(xc, T * DI * 4));
      const gotSlots = new Float32Array(await read(b.slots, SLOTS * STRIDE * 4));

      const wantXc = new Float64Array(T * DI);
      const wantSlots = Float64Array.from(slots);
      for (const [s0, len, slot] of SEGS) {
        for (let c = 0; c < DI; c++) {
          const base = slot * STRIDE + CONV_OFF + c * (DC - 1);
          // The segment's inputs with the slot's DC-1 old inputs before them.
          const ins = [...Array.from({ length: DC - 1 }, (_, i) => slots[base + i]!)];
          for (let t = 0; t < len; t++) ins.push(xz[(s0 + t) * 2 * DI + c]!);
          for (let t = 0; t < len; t++) {
            let acc = params[CB_OFF + c]!;
            for (let j = 0; j < DC; j++) acc += params[CW_OFF + c * DC + j]! * ins[t + j]!;
            wantXc[(s0 + t) * DI + c] = silu(acc);
          }
          for (let i = 0; i < DC - 1; i++) wantSlots[base + i] = ins[ins.length - (DC - 1) + i]!;
        }
      }
      expect(relMaxDiff(gotXc, wantXc)).toBeLessThan(1e-5);
      expect(relMaxDiff(gotSlots, wantSlots)).toBeLessThan(1e-6);
      // Slot 1 belongs to no segment: untouched, bit for bit.
      expect(gotSlots.subarray(STRIDE, 2 * STRIDE)).toEqual(slots.subarray(STRIDE, 2 * STRIDE));
    });
  });
});

describe('segmented scan (scan_seg.wgsl)', () => {
  it('runs each segment from its slot’s state and Σ Δ, and writes them back', async () => {
    await withScope(dev.device, async () => {
      const next = rng(22);
      const [DI, DS, R] = [70, 16, 4];
      const STRIDE = DI * DS + DI + DI * 3;
      const NDBC = R + 2 * DS;
      const [DTW_OFF, DTB_OFF, A_OFF, D_OFF] = [0, DI * R, DI * R + DI, DI * R + DI + DI * DS];
      const params = rand(D_OFF + DI, next, 0.5);
      // A = −exp(A_log) < 0, as the engine stores it.
      for (let i = 0; i < DI * DS; i++) params[A_OFF + i] = -Math.exp(next() * 2);
      const dbc = rand(T * NDBC, next);
      const xz = rand(T * 2 * DI, next);
      const xc = rand(T * DI, next);
      const slots = rand(SLOTS * STRIDE, next);
      const k = pipes.kernel('scan_seg', { DI, DS, R, DTW_OFF, DTB_OFF, A_OFF, D_OFF, STRIDE });
      const b = {
        segs: storage(segTable()),
        dbc: storage(dbc),
        xz: storage(xz),
        xc: storage(xc),
        params: storage(params),
        slots: storage(slots),
        out: storage(new Float32Array(T * DI)),
      };
      run(k.pipeline, k.bind('scan_seg', b), Math.ceil(DI / 64), T);
      const gotOut = new Float32Array(await read(b.out, T * DI * 4));
      const gotSlots = new Float32Array(await read(b.slots, SLOTS * STRIDE * 4));

      const wantOut = new Float64Array(T * DI);
      const wantSlots = Float64Array.from(slots);
      for (const [s0, len, slot] of SEGS) {
        const base = slot * STRIDE;
        for (let c = 0; c < DI; c++) {
          const h = Array.from({ length: DS }, (_, n) => slots[base + c * DS + n]!);
          let dtSum = slots[base + DI * DS + c]!;
          for (let t = s0; t < s0 + len; t++) {
            let dtr = params[DTB_OFF + c]!;
            for (let r = 0; r < R; r++) dtr += params[DTW_OFF + c * R + r]! * dbc[t * NDBC + r]!;
            const dt = dtr > 20 ? dtr : Math.log1p(Math.exp(dtr));
            dtSum += dt;
            const x = xc[t * DI + c]!;
            let y = 0;
            for (let n = 0; n < DS; n++) {
              h[n] = Math.exp(dt * params[A_OFF + c * DS + n]!) * h[n]! + dt * dbc[t * NDBC + R + n]! * x;
              y += h[n]! * dbc[t * NDBC + R + DS + n]!;
            }
            wantOut[t * DI + c] = (y + params[D_OFF + c]! * x) * silu(xz[t * 2 * DI + DI + c]!);
          }
          h.forEach((v, n) => (wantSlots[base + c * DS + n] = v));
          wantSlots[base + DI * DS + c] = dtSum;
        }
      }
      expect(relMaxDiff(gotOut, wantOut)).toBeLessThan(1e-5);
      expect(relMaxDiff(gotSlots, wantSlots)).toBeLessThan(1e-5);
      expect(gotSlots.subarray(STRIDE, 2 * STRIDE)).toEqual(slots.subarray(STRIDE, 2 * STRIDE));
    });
  });
});

describe('argmax of rows (argmax_rows.wgsl)', () => {
  for (const wg of [4, 256]) {
    it(`picks each row's largest logit, the smallest id on ties (workgroup ${wg})`, async () => {
      await withScope(dev.device, async () => {
        const next = rng(23);
        const [rows, V] = [5, 300];
        const logits = rand(rows * V, next);
        // Row 1: a tie between ids 17 and 250 at the top; row 3: the last id wins.
        logits[V + 17] = 5;
        logits[V + 250] = 5;
        logits[3 * V + V - 1] = 7;
        const want = Array.from({ length: rows }, (_, r) => {
          let best = 0;
          for (let v = 1; v < V; v++) if (logits[r * V + v]! > logits[r * V + best]!) best = v;
          return best;
        });
        const k = pipes.kernel('argmax_rows', { V, WG: wg });
        const dims = dev.device.createBuffer({
          size: 16,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        });
        dev.device.queue.writeBuffer(dims, 0, new Uint32Array([rows, 0, 0, 0]));
        const tokens = storage(new Uint32Array(8));
        const out = storage(new Uint32Array(8));
        run(k.pipeline, k.bind('argmax_rows', { dims, logits: storage(logits), tokens, out }), rows, 1);
        expect([...new Uint32Array(await read(out, rows * 4))]).toEqual(want);
        expect([...new Uint32Array(await read(tokens, rows * 4))]).toEqual(want);
        expect(want[1]).toBe(17);
        expect(want[3]).toBe(V - 1);
      });
    });
  }
});
