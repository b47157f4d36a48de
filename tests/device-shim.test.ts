// The shim that runs the GPU test files on the GPU machine (tests/device/vitest-shim.ts) must fail what
// Vitest fails: a wrong value, a rejected promise, a hook that throws, a test that hangs; and skip what it skips.
import { describe, expect, it } from 'vitest';
import * as shim from './device/vitest-shim.ts';

async function outcomes(body: () => void, timeout = 200) {
  const suite = await shim.collect('file', async () => body());
  const seen: shim.Outcome[] = [];
  await shim.run(suite, timeout, (o) => seen.push(o));
  return seen.map((o) => [o.name, o.ok] as const);
}

describe('the device test shim', () => {
  it('passes what holds and fails a wrong value, a rejection and a timeout', async () => {
    const seen = await outcomes(() => {
      shim.describe('maths', () => {
        shim.it('holds', () => shim.expect(new Float32Array([1, 2])).toEqual(new Float32Array([1, 2])));
        shim.it('wrong', () => shim.expect(0.1 + 0.2).toBe(0.3));
        shim.it('rejects', async () => {
          await shim.expect(Promise.resolve(1)).rejects.toThrow();
        });
        shim.it('hangs', () => new Promise(() => {}));
        shim.it.each([[2, 4]])('doubles %s to %s', (a, b) => shim.expect((a as number) * 2).toBe(b));
      });
    });
    expect(seen).toEqual([
      ['file > maths > holds', true],
      ['file > maths > wrong', false],
      ['file > maths > rejects', false],
      ['file > maths > hangs', false],
      ['file > maths > doubles 2 to 4', true],
    ]);
  });

  it('reports a test that calls ctx.skip() as skipped, and still fails one that fails before skipping', async () => {
    const seen = await outcomes(() => {
      shim.it('skips', (ctx) => {
        ctx.skip();
        shim.expect(1).toBe(2);
      });
      shim.it('fails first', (ctx) => {
        shim.expect(1).toBe(2);
        ctx.skip();
      });
    });
    expect(seen).toEqual([
      ['file > skips', 'skipped'],
      ['file > fails first', false],
    ]);
  });

  it('takes options before the function, as Vitest does: it(name, { timeout }, fn)', async () => {
    const ran: string[] = [];
    const seen = await outcomes(() => {
      shim.it('runs', { timeout: 1000 }, () => void ran.push('runs'));
      shim.it('fails', { timeout: 1000 }, () => shim.expect(1).toBe(2));
      shim.it('times out by its own limit', { timeout: 20 }, () => new Promise((r) => setTimeout(r, 100)));
    }, 1000);
    expect(ran).toEqual(['runs']);
    expect(seen).toEqual([
      ['file > runs', true],
      ['file > fails', false],
      ['file > times out by its own limit', false],
    ]);
  });

  it('runs hooks in Vitest order and fails the suite whose beforeAll throws', async () => {
    const order: string[] = [];
    const seen = await outcomes(() => {
      shim.beforeAll(() => void order.push('beforeAll'));
      shim.beforeEach(() => void order.push('beforeEach'));
      shim.afterEach(() => void order.push('afterEach'));
      shim.afterAll(() => void order.push('afterAll'));
      shim.it('a', () => void order.push('a'));
      shim.describe('broken', () => {
        shim.beforeAll(() => {
          throw new Error('no device');
        });
        shim.it('never runs', () => void order.push('never'));
      });
    });
    expect(order).toEqual(['beforeAll', 'beforeEach', 'a', 'afterEach', 'afterAll']);
    expect(seen).toEqual([
      ['file > a', true],
      ['file > broken > (beforeAll)', false],
    ]);
  });
});
