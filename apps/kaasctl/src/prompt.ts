// Reading from the user: stdin for secrets passed with --password-stdin, a terminal prompt
// without echo, and yes/no confirmation for anything destructive.
import { createInterface } from 'node:readline';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Prompts on the terminal without echo; undefined when there is no terminal to ask on. */
export async function promptHidden(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, terminal: true });
  // mute the echo: readline writes typed characters through _writeToOutput
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  try {
    return await new Promise<string>((done) => rl.question('', done));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** true for y/yes on stdin; anything else, or end of input, is no. */
export async function confirm(question: string): Promise<boolean> {
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((done) => {
      rl.once('line', done);
      rl.once('close', () => done(undefined));
    });
    return /^(y|yes)$/i.test((answer ?? '').trim());
  } finally {
    rl.close();
  }
}
