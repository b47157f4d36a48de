/**
 * How the command line reports: results on stdout, one line per problem on stderr, never a stack trace for
 * errors a user can fix. Programming errors (anything not known to be the user's) keep their stack.
 */
import { UsageError } from './args.ts';

const USER_ERRORS = new Set([
  'UsageError',
  'ModelFormatError',
  'TokenizerError',
  'DownloadError',
  'ModelTooLargeError',
  'GpuUnavailableError',
  'GpuDeviceLostError',
  'GpuOutOfMemoryError',
  'StateMismatchError',
  'StateFileError',
  'RequestError',
  'StudyInputError',
]);

export class RequestError extends Error {
  override name = 'RequestError';
}

export function isUserError(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  if (USER_ERRORS.has(e.name) || e instanceof UsageError) return true;
  // Missing files and unreadable paths are the user's to fix.
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR';
}

export function describeFsError(e: NodeJS.ErrnoException): string {
  const path = e.path ?? 'the file';
  switch (e.code) {
    case 'ENOENT':
      return `${path} does not exist.`;
    case 'EACCES':
      return `${path} cannot be read (permission denied).`;
    case 'EISDIR':
      return `${path} is a folder, not a file.`;
    case 'ENOTDIR':
      return `${path} is not a folder.`;
    default:
      return e.message;
  }
}
