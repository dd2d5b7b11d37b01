// Small shared pieces: error and loading states, a confirmation dialog, a side drawer, state
// badges.

import { useEffect, useRef, type ReactNode } from 'react';
import { errorText } from '../api/client';

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {title && <strong>{title}: </strong>}
      {errorText(error)}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

// A modal confirmation (native <dialog>: focus is trapped, Escape cancels).
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel = 'Confirm',
  danger = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-label={title} onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h3>{title}</h3>
      <div className="dialog-body">{children}</div>
      <div className="dialog-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className={danger ? 'danger' : 'primary'} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Drawer({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <aside className="drawer" role="dialog" aria-label={title}>
      <header>
        <h3>{title}</h3>
        <button type="button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </header>
      <div className="drawer-body">{children}</div>
    </aside>
  );
}

export const kStateColors: Record<string, string> = {
  success: '#2e7d32',
  failed: '#c62828',
  running: '#1565c0',
  queued: '#8d6e63',
  scheduled: '#b0bec5',
  up_for_retry: '#ef6c00',
  upstream_failed: '#e57373',
  skipped: '#f8bbd0',
  none: '#eceff1',
};

export function stateColor(state: string): string {
  return kStateColors[state] ?? '#cfd8dc';
}

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge state-${state}`} style={{ background: stateColor(state) }}>
      {state.replace(/_/g, ' ')}
    </span>
  );
}

export function Stat({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}
