import type { ReactNode } from 'react';
import { useModal } from '../use-modal';

interface Props {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  danger?: boolean;
  onAnswer(confirmed: boolean): void;
}

/** A modal question. Native <dialog>: focus stays inside, Escape answers "cancel". */
export function ConfirmDialog({ title, children, confirmLabel, cancelLabel = 'Cancel', danger, onAnswer }: Props) {
  const { ref, answer } = useModal(onAnswer);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        answer(false);
      }}
    >
      <h2 id="confirm-title">{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="dialog-actions">
        <button type="button" autoFocus onClick={() => answer(false)}>
          {cancelLabel}
        </button>
        <button type="button" className={danger ? 'danger' : 'primary'} onClick={() => answer(true)}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
