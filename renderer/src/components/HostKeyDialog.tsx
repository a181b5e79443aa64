import type { HostKeyPrompt } from '../api';
import { ConfirmDialog } from './ConfirmDialog';

interface Props {
  prompt: HostKeyPrompt;
  facilityName: string;
  onAnswer(accept: boolean): void;
}

/** An SSH gateway (or a jump host on the way to it) we have never seen: show its fingerprint and let the person decide. */
export function HostKeyDialog({ prompt, facilityName, onAnswer }: Props) {
  const what = prompt.jump ? 'jump host' : 'gateway';
  return (
    <ConfirmDialog title={`Unknown SSH ${what}`} confirmLabel="Trust and continue" onAnswer={onAnswer}>
      <p>
        Roamlab has not connected to {prompt.jump ? 'this jump host on the way to the gateway' : 'the gateway'} of{' '}
        <strong>{facilityName}</strong> before. Compare its fingerprint with the one your facility publishes before you continue.
      </p>
      {prompt.certAuthority && (
        <p className="ca-note">
          Your <code>{prompt.certAuthority.file}</code> (line {prompt.certAuthority.line}) trusts this {what} through a certificate
          authority. OpenSSH checks the {what}&apos;s certificate against it; Roamlab cannot yet, so it asks about the {what}&apos;s own
          key.
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>Host</dt>
          <dd>
            <code>
              {prompt.host}:{prompt.port}
            </code>
          </dd>
        </div>
        <div>
          <dt>Key type</dt>
          <dd>
            <code>{prompt.keyType}</code>
          </dd>
        </div>
        <div>
          <dt>Fingerprint</dt>
          <dd>
            <code className="fingerprint">{prompt.fingerprint}</code>
          </dd>
        </div>
      </dl>
    </ConfirmDialog>
  );
}
