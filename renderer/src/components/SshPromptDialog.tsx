import { useState } from 'react';
import { useModal } from '../use-modal';
import type { SshPrompt } from '../api';

interface Props {
  prompt: SshPrompt;
  facilityName: string;
  /** The answers, one per prompt; null when the person cancels. */
  onAnswer(answers: string[] | null): void;
}

/**
 * An SSH gateway (or jump host) that wants more than the key: a one-time code, a password. Its
 * own prompts, hidden where it says so; nothing typed here is kept.
 */
export function SshPromptDialog({ prompt, facilityName, onAnswer }: Props) {
  const { ref, answer } = useModal(onAnswer);
  const [values, setValues] = useState<string[]>(() => prompt.prompts.map(() => ''));
  const what = prompt.jump ? 'SSH jump host' : 'SSH gateway';
  return (
    <dialog
      ref={ref}
      className="dialog ssh-prompt"
      aria-labelledby="ssh-prompt-title"
      onCancel={(e) => {
        e.preventDefault();
        answer(null);
      }}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          answer(values);
        }}
      >
        <h2 id="ssh-prompt-title">{prompt.name.trim() || `Sign in to the ${what}`}</h2>
        <div className="dialog-body">
          {prompt.attempt > 1 ? (
            <p className="error-text" role="alert">
              The {what} did not accept that. Try again{/code/i.test(prompt.prompts.map((p) => p.prompt).join(' ')) ? ' with the next code' : ''}.
            </p>
          ) : (
            <p>
              The {what} of <strong>{facilityName}</strong> asks for more than your key. Roamlab passes what you type to it and keeps
              none of it.
            </p>
          )}
          {prompt.instructions.trim() && <p className="instructions">{prompt.instructions.trim()}</p>}
          <dl className="facts">
            <div>
              <dt>Host</dt>
              <dd>
                <code>
                  {prompt.user}@{prompt.host}:{prompt.port}
                </code>
              </dd>
            </div>
          </dl>
          {prompt.prompts.map((p, i) => (
            <label key={i} className="field">
              <span>{p.prompt.trim().replace(/:$/, '')}</span>
              <input
                type={p.echo ? 'text' : 'password'}
                autoFocus={i === 0}
                autoComplete={/code|otp|one-time|token|verification/i.test(p.prompt) ? 'one-time-code' : 'off'}
                spellCheck={false}
                value={values[i] ?? ''}
                onChange={(e) => setValues((v) => v.map((x, j) => (j === i ? e.target.value : x)))}
              />
            </label>
          ))}
        </div>
        <div className="dialog-actions">
          <button type="button" onClick={() => answer(null)}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Sign in
          </button>
        </div>
      </form>
    </dialog>
  );
}
