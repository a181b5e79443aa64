import { useEffect, useRef, type RefObject } from 'react';

/**
 * A native <dialog> shown modal while the component is mounted (focus stays inside, Escape
 * fires its cancel event), and an `answer` that passes on the first answer only: a double click
 * or Enter after Escape does not answer twice.
 */
export function useModal<A>(onAnswer: (answer: A) => void): { ref: RefObject<HTMLDialogElement | null>; answer: (a: A) => void } {
  const ref = useRef<HTMLDialogElement>(null);
  const answered = useRef(false);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  const answer = (a: A) => {
    if (answered.current) return;
    answered.current = true;
    onAnswer(a);
  };
  return { ref, answer };
}
