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

let asking = 0;

/** Whether a question is open: keys typed now are its answer, not commands (start's Enter). */
export function isAsking(): boolean {
  return asking > 0;
}

/**
 * Ask on the terminal. With `hidden`, nothing typed is echoed. Null when there is no terminal.
 * When stdin is the terminal the answer is read there: a second reader of the same terminal
 * (`start` keeps stdin open for its Enter) would race it for every key.
 */
export async function ask(question: string, hidden = false, withdrawn?: AbortSignal): Promise<string | null> {
  const t = openTty();
  if (!t) return null;
  const own = process.stdin.isTTY !== true;
  const input: tty.ReadStream = own ? t.input : (process.stdin as tty.ReadStream);
  if (!own) t.input.destroy();
  const { output } = t;
  const wasFlowing = input.readableFlowing === true;
  const wasRaw = input.isRaw;
  asking++;
  // Echo off before the question shows: an answer typed (or pasted) the moment it appears must
  // not show on the screen.
  if (hidden) input.setRawMode(true);
  output.write(question);
  let onData: ((buf: Buffer) => void) | undefined;
  let onWithdrawn: (() => void) | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      // Nobody waits for the answer any more (the connection that asked is gone).
      onWithdrawn = () => {
        output.write(' (no longer needed)\n');
        reject(new Error('withdrawn'));
      };
      if (withdrawn?.aborted) return onWithdrawn();
      withdrawn?.addEventListener('abort', onWithdrawn, { once: true });
      let answer = '';
      onData = (buf: Buffer) => {
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
      };
      input.on('data', onData);
      // A 'data' listener does not restart a stream paused by an earlier question.
      input.resume();
    });
  } finally {
    asking--;
    if (onWithdrawn) withdrawn?.removeEventListener('abort', onWithdrawn);
    if (onData) input.off('data', onData);
    if (hidden) input.setRawMode(wasRaw);
    if (own) input.destroy();
    else if (!wasFlowing) input.pause();
    output.destroy();
  }
}
