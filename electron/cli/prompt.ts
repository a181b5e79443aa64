import fs from 'node:fs';
import tty from 'node:tty';

/** Read everything from stdin (for --password-stdin); a trailing newline is dropped. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function openTty(): { input: tty.ReadStream; output: tty.WriteStream } | null {
  try {
    const fdIn = fs.openSync('/dev/tty', 'r');
    const fdOut = fs.openSync('/dev/tty', 'w');
    return { input: new tty.ReadStream(fdIn), output: new tty.WriteStream(fdOut) };
  } catch {
    return null;
  }
}

/** Whether there is a terminal to ask on (the process's controlling terminal, /dev/tty). */
export function hasTerminal(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

/** Ask on the terminal. With `hidden`, nothing typed is echoed. Null when there is no terminal. */
export async function ask(question: string, hidden = false): Promise<string | null> {
  const t = openTty();
  if (!t) return null;
  const { input, output } = t;
  // Echo off before the question shows: an answer typed (or pasted) the moment it appears must
  // not show on the screen.
  if (hidden) input.setRawMode(true);
  output.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      let answer = '';
      input.on('data', (buf: Buffer) => {
        for (const ch of buf.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            output.write('\n');
            resolve(answer);
            return;
          }
          if (ch === '\u0003') {
            output.write('\n');
            reject(new Error('interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
          else answer += ch;
        }
      });
    });
  } finally {
    if (hidden) input.setRawMode(false);
    input.destroy();
    output.destroy();
  }
}
