/**
 * Serves a checkpoint folder by hand under the hub's URL layout, with the hub's CDN redirect, ranges and
 * optional faults, so the app's "load from the hub" path can be tried without the internet:
 *
 *   npx tsx scripts/hub-server.ts DIR [--repo owner/name] [--delay-ms N] [--drop-at BYTES]
 *
 * then load repo `owner/name` with the hub URL it prints. Listens on 127.0.0.1 only; Ctrl-C stops it.
 */
import { resolve } from 'node:path';
import { startHubServer, repoFromFolder, type Fault } from '../tests/helpers/hub-server.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dir = process.argv[2];
if (!dir || dir.startsWith('--')) {
  console.error(
    'usage: npx tsx scripts/hub-server.ts DIR [--repo owner/name] [--delay-ms N] [--drop-at BYTES]',
  );
  process.exit(2);
}
const repo = arg('--repo') ?? 'local/model';
const dropAt = arg('--drop-at');
const faults: Fault[] = dropAt
  ? [{ file: 'model.safetensors', kind: 'drop', at: Number(dropAt), times: 1 }]
  : [];
const server = await startHubServer({
  repos: { [repo]: repoFromFolder(resolve(dir)) },
  chunkDelayMs: Number(arg('--delay-ms') ?? 0),
  faults,
  lfsThreshold: 1 << 20,
});
console.log(`hub URL ${server.url}  (CDN ${server.cdnUrl})`);
console.log(`repo ${repo}: ${server.url}/${repo}/resolve/main/config.json`);
process.on('SIGINT', () => {
  void server.close().then(() => process.exit(0));
});
